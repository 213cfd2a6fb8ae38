import { gql } from "../api";
import { h } from "../dom";
import type { PageContext } from "../main";
import { datasetHref, lineageHref, parseHash, replaceParams, type Route } from "../router";
import {
  buildModel, buildView, groupLabel, groupOf, keyOf, matches, paths, splitKey,
  type GroupMode, type LNode, type View,
} from "../lineage/graph";
import type { LayoutRequest, LayoutResult } from "../lineage/layout.worker";
import { GraphCanvas, SIZE } from "../lineage/render";
import { errorList, layerBadge, section } from "./common";

/** Above this many datasets the view starts folded (by namespace unless the URL says otherwise). */
const AUTO_FOLD = 120;
const LIST_MAX = 200;

interface LineageData {
  lineage: null | {
    truncated: boolean; nodesTotal: number; nodesReturned: number;
    nodes: { depth: number; dataset: { namespace: string; name: string; layer: string } }[];
    edges: { upstream: { namespace: string; name: string }; downstream: { namespace: string; name: string }; job: string | null }[];
  };
}
interface ImpactData {
  impact: null | { truncated: boolean; nodesTotal: number;
    entries: { distance: number; jobNames: string[]; dataset: { namespace: string; name: string }; owners: { name: string }[] }[] };
}
interface ColumnData {
  columnLineage: null | { truncated: boolean; nodesTotal: number;
    nodes: { field: string; depth: number; dataset: { namespace: string; name: string } }[];
    edges: { upstream: { namespace: string; name: string }; upstreamField: string;
             downstream: { namespace: string; name: string }; downstreamField: string;
             transformationType: string; transformationSubtype: string }[] };
}

interface State {
  ns: string; name: string; depth: number; dir: string; group: GroupMode | "auto";
  focus: string | null; q: string; open: Set<string>; col: string;
}

function readState(route: Route): State {
  const p = route.params;
  const depth = Math.min(20, Math.max(1, Number(p.get("depth") ?? 3) || 3));
  const dir = ["UPSTREAM", "DOWNSTREAM", "BOTH"].includes(p.get("dir") ?? "") ? p.get("dir")! : "BOTH";
  const g = p.get("group");
  const group = g === "namespace" || g === "job" || g === "none" ? g : "auto";
  const open = new Set((p.get("open") ?? "").split("\n").filter(Boolean));
  return { ns: route.parts[0] ?? "", name: route.parts[1] ?? "", depth, dir, group,
           focus: p.get("focus") || null, q: p.get("q") ?? "", open, col: p.get("col") ?? "" };
}

export async function renderLineage(ctx: PageContext): Promise<void> {
  performance.clearMarks();
  performance.clearMeasures();
  performance.mark("peso:lineage:start");
  const state = readState(ctx.route);
  if (!state.ns || !state.name) throw new Error("a lineage URL is #/lineage/NAMESPACE/NAME");
  document.title = `Lineage of ${state.ns}/${state.name} · Peso`;
  const start = keyOf(state.ns, state.name);

  // --- skeleton -------------------------------------------------------------------------
  const status = h("p", { id: "lineage-status", className: "small muted", role: "status", "aria-live": "polite" }, "Loading lineage…");
  const depthSel = h("select", { id: "l-depth", name: "depth" },
    Array.from({ length: 10 }, (_, i) => i + 1).map((d) => h("option", { value: String(d), selected: d === state.depth }, String(d))));
  const dirSel = h("select", { id: "l-dir", name: "dir" },
    [["BOTH", "both ways"], ["UPSTREAM", "upstream"], ["DOWNSTREAM", "downstream"]].map(([v, t]) =>
      h("option", { value: v, selected: v === state.dir }, t)));
  const groupSel = h("select", { id: "l-group", name: "group" },
    [["auto", "automatic"], ["namespace", "namespace"], ["job", "job"], ["none", "nothing (every dataset)"]].map(([v, t]) =>
      h("option", { value: v, selected: v === state.group }, t)));
  const find = h("input", { type: "search", id: "l-find", name: "q", value: state.q, placeholder: "name or namespace",
                            autocomplete: "off" });
  const canvas = new GraphCanvas({ select: (id) => onSelect(id), activate: (id) => onActivate(id) },
    `Lineage around ${state.ns}/${state.name}. Arrow keys pan, plus and minus zoom, 0 fits; Tab moves between boxes.`);
  const focusPanel = h("div", { id: "focus-panel" });
  const matchPanel = h("div", { id: "match-panel" });
  const groupPanel = h("div", { id: "group-panel" });
  const impactPanel = h("div", { id: "impact-panel" }, h("p", { className: "muted" }, "Loading impact…"));
  const graphBox = h("div", { className: "graph-box" }, canvas.svg);

  ctx.main.append(
    h("nav", { "aria-label": "Breadcrumb", className: "crumbs" },
      h("a", { href: "#/" }, "Catalog"), " / ", h("a", { href: datasetHref(state.ns, state.name) }, `${state.ns}/${state.name}`), " / lineage"),
    h("h1", null, "Lineage of ", h("span", { className: "ns" }, `${state.ns}/`), state.name),
    h("form", { className: "lineage-controls", "aria-label": "Lineage view controls", onsubmit: (ev: Event) => ev.preventDefault() },
      h("div", { className: "facet" }, h("label", { for: "l-depth" }, "Depth"), depthSel),
      h("div", { className: "facet" }, h("label", { for: "l-dir" }, "Direction"), dirSel),
      h("div", { className: "facet" }, h("label", { for: "l-group" }, "Fold by"), groupSel),
      h("div", { className: "facet grow" }, h("label", { for: "l-find" }, "Find in graph"), find),
      h("div", { className: "buttons" },
        h("button", { type: "button", className: "secondary", onclick: () => canvas.fit() }, "Fit"),
        h("button", { type: "button", className: "secondary", "aria-label": "Zoom in", onclick: () => canvas.zoom(1.3) }, "+"),
        h("button", { type: "button", className: "secondary", "aria-label": "Zoom out", onclick: () => canvas.zoom(0.77) }, "−"),
        h("button", { type: "button", className: "secondary", id: "expand-all", onclick: () => setOpen(new Set(allGroups())) }, "Expand all"),
        h("button", { type: "button", className: "secondary", id: "collapse-all", onclick: () => setOpen(new Set()) }, "Collapse all"))),
    status,
    h("div", { className: "lineage-layout" }, graphBox,
      h("aside", { className: "lineage-side", "aria-label": "Lineage details" },
        section("Focus", "focus-title", focusPanel),
        section("Found in graph", "match-title", matchPanel),
        section("Folded groups", "group-title", groupPanel),
        section("Impact (downstream)", "impact-title", impactPanel))));

  // --- data ---------------------------------------------------------------------------
  const vars = { ns: state.ns, name: state.name, dir: state.dir, depth: state.depth };
  const impact = gql<ImpactData>(`query($ns: String!, $name: String!, $depth: Int) { impact(namespace: $ns, name: $name,
      depth: $depth) { truncated nodesTotal entries { distance jobNames dataset { namespace name } owners { name } } } }`,
    { ns: state.ns, name: state.name, depth: state.depth }, ctx.signal).catch((e: Error) => ({ data: null, errors: [{ message: e.message }] }));
  const { data, errors } = await gql<LineageData>(`query($ns: String!, $name: String!, $dir: LineageDirection!, $depth: Int!) {
    lineage(namespace: $ns, name: $name, direction: $dir, depth: $depth) { truncated nodesTotal nodesReturned
      nodes { depth dataset { namespace name layer } } edges { upstream { namespace name } downstream { namespace name } job } } }`,
    vars, ctx.signal);
  performance.mark("peso:lineage:fetched");
  const lin = data?.lineage;
  if (!lin) {
    status.textContent = "";
    graphBox.replaceChildren(errorList(errors) ?? h("p", null, "No such dataset. ", h("a", { href: "#/" }, "Search the catalog")));
    return;
  }
  if (errors.length) graphBox.before(errorList(errors)!);
  const model = buildModel(lin.nodes, lin.edges);
  const byKey = new Map<string, LNode>(model.nodes.map((n) => [n.key, n]));
  const mode = (): GroupMode => state.group === "auto" ? (model.nodes.length > AUTO_FOLD ? "namespace" : "none") : state.group;
  const allGroups = () => [...new Set(model.nodes.map((n) => groupOf(n, mode())).filter((g): g is string => g !== null))];

  // --- layout worker --------------------------------------------------------------------
  const worker = new Worker(new URL("../lineage/layout.worker.ts", import.meta.url), { type: "module" });
  ctx.signal.addEventListener("abort", () => {
    worker.terminate();
    if (window.__pesoLineageUpdate === update) window.__pesoLineageUpdate = undefined;
  });
  let seq = 0;
  let view: View = buildView(model, mode(), state.open, start);
  let first = true;
  let columnBoxes = new Set<string>();
  let pendingCenter: string | null = null;

  function layout(): void {
    view = buildView(model, mode(), state.open, start);
    const req: LayoutRequest = {
      seq: ++seq,
      nodes: view.nodes.map((n) => ({ id: n.id, ...SIZE[n.kind] })),
      edges: view.edges.map((e) => ({ id: e.id, from: e.from, to: e.to })),
    };
    status.textContent = `Laying out ${view.nodes.length} boxes…`;
    worker.postMessage(req);
  }
  worker.onmessage = (ev: MessageEvent<LayoutResult>) => {
    if (ev.data.seq !== seq) return; // a newer layout was asked for
    canvas.draw(view, ev.data);
    refresh();
    const target = pendingCenter ?? (first ? null : focusBox());
    if (target && canvas.boxOf(target)) canvas.center(target);
    else canvas.fitOrCenter(`d:${start}`);
    pendingCenter = null;
    const folded = view.nodes.filter((n) => n.kind === "group").length;
    status.textContent = `${lin.nodesReturned.toLocaleString()} datasets and ${model.edges.length.toLocaleString()} edges` +
      (lin.truncated ? ` (the walk stopped at ${lin.nodesReturned.toLocaleString()}; ${lin.nodesTotal.toLocaleString()} reached)` : "") +
      `, drawn as ${view.nodes.length.toLocaleString()} boxes${folded ? ` (${folded} folded groups)` : ""}; layout ${ev.data.ms.toFixed(0)} ms.`;
    requestAnimationFrame(() => {
      performance.mark(first ? "peso:lineage:drawn" : "peso:lineage:redrawn");
      if (first) performance.measure("peso:lineage:draw", "peso:lineage:start", "peso:lineage:drawn");
      first = false;
      ctx.main.dataset.lineage = "drawn";
      ctx.main.dataset.boxes = String(view.nodes.length);
    });
  };
  worker.onerror = (ev) => { status.textContent = `The layout failed: ${ev.message}`; };

  // --- state changes ---------------------------------------------------------------------
  function focusBox(): string | null {
    if (!state.focus) return null;
    if (state.focus.startsWith("g:")) return state.focus;
    return view.owner.get(state.focus) ?? null;
  }
  function saveUrl(): void {
    replaceParams({ focus: state.focus, q: state.q || null, open: [...state.open].join("\n") || null,
                    group: state.group === "auto" ? null : state.group, col: state.col || null });
  }
  function setOpen(open: Set<string>): void {
    state.open = open;
    saveUrl();
    layout();
  }
  function focusDataset(key: string): void {
    state.focus = key;
    state.col = "";
    columnBoxes = new Set();
    const g = byKey.has(key) ? groupOf(byKey.get(key)!, mode()) : null;
    saveUrl();
    if (g && view.owner.get(key) !== `d:${key}`) {
      state.open.add(g);
      pendingCenter = `d:${key}`;
      saveUrl();
      layout();
    } else {
      refresh();
      canvas.center(`d:${key}`);
    }
  }
  function onSelect(id: string): void {
    if (id.startsWith("g:")) {
      state.open.add(id.slice(2));
      const first = view.nodes.find((n) => n.id === id)?.members[0];
      pendingCenter = first ? `d:${first}` : null; // the group's first dataset, once drawn
      setOpen(state.open);
    } else {
      focusDataset(id.slice(2));
    }
  }
  function onActivate(id: string): void {
    if (id.startsWith("g:")) onSelect(id);
    else {
      const [ns, name] = splitKey(id.slice(2));
      location.hash = datasetHref(ns, name);
    }
  }
  const update = (route: Route): boolean => {
    const next = readState(route);
    if (next.ns !== state.ns || next.name !== state.name || next.depth !== state.depth || next.dir !== state.dir) return false;
    const relayout = next.group !== state.group || [...next.open].join("\n") !== [...state.open].join("\n");
    Object.assign(state, next);
    if (relayout) layout();
    else refresh();
    return true;
  };
  window.__pesoLineageUpdate = update;

  depthSel.addEventListener("change", () => { location.hash = lineageHref(state.ns, state.name, { ...urlParams(), depth: depthSel.value }); });
  dirSel.addEventListener("change", () => { location.hash = lineageHref(state.ns, state.name, { ...urlParams(), dir: dirSel.value }); });
  groupSel.addEventListener("change", () => {
    state.group = groupSel.value as State["group"];
    state.open = new Set();
    saveUrl();
    layout();
  });
  let typing = 0;
  find.addEventListener("input", () => {
    clearTimeout(typing);
    typing = window.setTimeout(() => { state.q = find.value.trim(); saveUrl(); refresh(); }, 120);
  });
  find.addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter") return;
    ev.preventDefault();
    state.q = find.value.trim();
    const hit = matches(model, state.q)[0];
    if (hit) focusDataset(hit.key);
    else refresh();
  });
  function urlParams(): Record<string, string | null> {
    return Object.fromEntries(parseHash().params.entries());
  }

  // --- panels and highlight ------------------------------------------------------------------
  function refresh(): void {
    const fb = focusBox();
    const { up, down } = fb ? paths(view, fb) : { up: new Set<string>(), down: new Set<string>() };
    const hits = matches(model, state.q);
    const hitBoxes = new Set(hits.map((n) => view.owner.get(n.key)!).filter(Boolean));
    canvas.highlight(fb, up, down, hitBoxes, columnBoxes);
    renderFocus(fb, up, down);
    renderMatches(hits);
    renderGroups();
  }

  function datasetButton(key: string, text?: string): HTMLElement {
    const [ns, name] = splitKey(key);
    return h("button", { type: "button", className: "link", onclick: () => focusDataset(key),
                         "aria-label": `Focus ${ns}/${name} in the graph` }, text ?? `${ns}/${name}`);
  }

  function renderFocus(fb: string | null, up: Set<string>, down: Set<string>): void {
    if (!state.focus || !fb) {
      focusPanel.replaceChildren(h("p", { className: "muted" },
        "Click a dataset to highlight what it comes from and what it feeds; click a folded group to open it."));
      return;
    }
    const key = state.focus;
    const node = byKey.get(key);
    if (!node) {
      focusPanel.replaceChildren(h("p", { className: "muted" }, "The focused dataset is not in this view."));
      return;
    }
    const count = (set: Set<string>) => [...set].reduce((n, id) => n + (view.nodes.find((v) => v.id === id)?.members.length ?? 0), 0);
    const g = groupOf(node, mode());
    const field = h("input", { id: "col-field", name: "col", value: state.col, placeholder: "column name", list: "col-fields",
                               autocomplete: "off" });
    const fields = h("datalist", { id: "col-fields" });
    const colOut = h("div", { id: "column-lineage", "aria-live": "polite" });
    const colForm = h("form", { className: "col-form", "aria-label": "Column lineage" },
      h("label", { for: "col-field" }, "Column lineage of"), field, fields,
      h("button", { type: "submit", className: "secondary" }, "Show"));
    colForm.addEventListener("submit", (ev) => { ev.preventDefault(); void columnLineage(node, field.value.trim(), colOut); });
    focusPanel.replaceChildren(
      h("p", null, h("strong", { id: "focus-name" }, `${node.namespace}/${node.name}`), " ", layerBadge(node.layer)),
      h("p", { className: "small" }, node.depth === 0 ? "the start" : `${Math.abs(node.depth)} hop${Math.abs(node.depth) === 1 ? "" : "s"} ${node.depth < 0 ? "upstream" : "downstream"}`,
        node.job ? ` · written by ${node.job}` : "",
        ` · ${count(up)} upstream, ${count(down)} downstream in view`),
      h("p", { className: "small" },
        h("a", { href: datasetHref(node.namespace, node.name) }, "Dataset page"), " · ",
        node.key !== start ? h("a", { href: lineageHref(node.namespace, node.name, { depth: String(state.depth) }) }, "Lineage from here") : "the start",
        g && state.open.has(g) ? [" · ", h("button", { type: "button", className: "link", onclick: () => {
          state.open.delete(g); pendingCenter = view.owner.get(key) ?? null; setOpen(state.open);
        } }, `Fold ${groupLabel(g)}`)] : null),
      colForm, colOut);
    void gql<{ dataset: { latestVersion: { fields: { name: string }[] } | null; lineageFacets: { schema?: { fields?: { name: string }[] } } } | null }>(
      "query($ns: String!, $name: String!) { dataset(namespace: $ns, name: $name) { latestVersion { fields { name } } lineageFacets } }",
      { ns: node.namespace, name: node.name }, ctx.signal).then((r) => {
      const names = r.data?.dataset?.latestVersion?.fields.map((f) => f.name)
        ?? r.data?.dataset?.lineageFacets?.schema?.fields?.map((f) => f.name) ?? [];
      fields.replaceChildren(...names.map((n) => h("option", { value: n })));
    }).catch(() => undefined);
    if (state.col) void columnLineage(node, state.col, colOut);
  }

  async function columnLineage(node: LNode, column: string, out: HTMLElement): Promise<void> {
    if (!column) return;
    state.col = column;
    saveUrl();
    out.replaceChildren(h("p", { className: "muted" }, "Loading column lineage…"));
    try {
      const r = await gql<ColumnData>(`query($ns: String!, $name: String!, $field: String!, $depth: Int!) {
        columnLineage(namespace: $ns, name: $name, field: $field, depth: $depth) { truncated nodesTotal
          nodes { field depth dataset { namespace name } }
          edges { upstream { namespace name } upstreamField downstream { namespace name } downstreamField
            transformationType transformationSubtype } } }`,
        { ns: node.namespace, name: node.name, field: column, depth: state.depth }, ctx.signal);
      const cl = r.data?.columnLineage;
      columnBoxes = new Set((cl?.nodes ?? []).map((n) => view.owner.get(keyOf(n.dataset.namespace, n.dataset.name))!).filter(Boolean));
      const fb = focusBox();
      const { up, down } = fb ? paths(view, fb) : { up: new Set<string>(), down: new Set<string>() };
      canvas.highlight(fb, up, down, new Set(matches(model, state.q).map((n) => view.owner.get(n.key)!)), columnBoxes);
      out.replaceChildren(errorList(r.errors) ?? "",
        !cl || !cl.edges.length ? h("p", { className: "muted" }, `No column lineage recorded for ${column}.`)
          : h("table", { className: "small" },
            h("caption", null, `${cl.edges.length} column edge${cl.edges.length === 1 ? "" : "s"} around ${column}`),
            h("thead", null, h("tr", null, ["From", "To", "How"].map((c) => h("th", { scope: "col" }, c)))),
            h("tbody", null, cl.edges.map((e) => h("tr", null,
              h("td", null, `${e.upstream.name}.${e.upstreamField}`), h("td", null, `${e.downstream.name}.${e.downstreamField}`),
              h("td", null, [e.transformationType, e.transformationSubtype].filter(Boolean).join(" ").toLowerCase() || "—"))))));
    } catch (err) {
      out.replaceChildren(h("p", { className: "error-text" }, (err as Error).message));
    }
  }

  function renderMatches(hits: LNode[]): void {
    if (!state.q) {
      matchPanel.replaceChildren(h("p", { className: "muted small" }, "Type in “Find in graph”: matching boxes are outlined; Enter focuses the first."));
      return;
    }
    matchPanel.replaceChildren(
      h("p", { className: "small", id: "match-count" }, `${hits.length} dataset${hits.length === 1 ? "" : "s"} match “${state.q}”.`),
      h("ul", { className: "plain" }, hits.slice(0, 30).map((n) => h("li", null, datasetButton(n.key)))),
      hits.length > 30 ? h("p", { className: "small muted" }, `and ${hits.length - 30} more: refine the words.`) : "");
  }

  function renderGroups(): void {
    const groups = view.nodes.filter((n) => n.kind === "group");
    const opened = [...state.open];
    if (mode() === "none") {
      groupPanel.replaceChildren(h("p", { className: "muted small" }, "Every dataset is drawn (nothing folded)."));
      return;
    }
    groupPanel.replaceChildren(
      h("p", { className: "small" }, `${groups.length} folded, ${opened.length} open (folded by ${mode()}).`),
      h("ul", { className: "plain" },
        groups.slice(0, 40).map((g) => h("li", null, h("button", { type: "button", className: "link",
          "aria-label": `Expand ${g.label}`, onclick: () => onSelect(g.id) }, `+ ${g.label}`), ` (${g.members.length})`)),
        opened.slice(0, 40).map((g) => h("li", null, h("button", { type: "button", className: "link",
          "aria-label": `Fold ${groupLabel(g)}`, onclick: () => { state.open.delete(g); setOpen(state.open); } }, `− ${groupLabel(g)}`)))));
  }

  // --- go ----------------------------------------------------------------------------
  layout();
  const imp = await impact;
  const entries = imp.data?.impact?.entries ?? [];
  impactPanel.replaceChildren(errorList(imp.errors) ?? "",
    h("p", { className: "small" }, `${entries.length.toLocaleString()} dataset${entries.length === 1 ? "" : "s"} downstream`,
      imp.data?.impact?.truncated ? " (stopped at the node limit)" : "", ": what may break if this one changes."),
    h("ol", { className: "impact" }, entries.slice(0, LIST_MAX).map((e) => {
      const key = keyOf(e.dataset.namespace, e.dataset.name);
      return h("li", null, h("span", { className: "dist", title: "hops downstream" }, String(e.distance)), " ",
        byKey.has(key) ? datasetButton(key) : h("a", { href: datasetHref(e.dataset.namespace, e.dataset.name) }, `${e.dataset.namespace}/${e.dataset.name}`),
        e.owners.length ? h("span", { className: "small muted" }, ` · ${e.owners.map((o) => o.name).join(", ")}`) : h("span", { className: "small warn" }, " · no owner"),
        e.jobNames.length ? h("span", { className: "small muted" }, ` · via ${e.jobNames.join(", ")}`) : null);
    })),
    entries.length > LIST_MAX ? h("p", { className: "small muted" }, `and ${entries.length - LIST_MAX} more (see the impact query in GraphiQL).`) : "");
}
