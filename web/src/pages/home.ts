import { gql } from "../api";
import { formatBytes, formatDate, h } from "../dom";
import type { PageContext } from "../main";
import { datasetHref, href, lineageHref } from "../router";
import { ENTITY_KINDS, LAYERS, errorList, layerBadge, piiBadge, section, select } from "./common";

interface DatasetSummary {
  namespace: string;
  name: string;
  layer: string;
  description: string | null;
  updatedAt: string;
  source: { name: string } | null;
  tags: { name: string }[];
  owners: { name: string }[];
  latestVersion: { version: number; rowCount: string | number; fields: { pii: boolean }[] } | null;
}

const SUMMARY = `namespace name layer description updatedAt source { name } tags { name }
  owners { name } latestVersion { version rowCount fields { pii } }`;
const PAGE = 50;
/** Facets the server filters by (DatasetFilter); owner and PII refine the page shown. */
const SERVER_FACETS = ["layer", "source", "namespace", "tag", "kind"] as const;

export async function renderHome(ctx: PageContext): Promise<void> {
  document.title = "Catalog · Peso";
  const p = ctx.route.params;
  const q = p.get("q") ?? "";
  const facet = (k: string) => p.get(k) ?? "";

  const results = h("div", { id: "results", "aria-live": "polite" }, h("p", { className: "muted" }, "Searching…"));
  const side = h("div", { className: "side" });
  const form = h("form", { role: "search", className: "search", "aria-label": "Search the catalog" });
  ctx.main.appendChild(h("div", { className: "home" },
    h("div", { className: "primary" }, h("h1", null, "Catalog"), form, results), side));

  const serverFilter = SERVER_FACETS.some((k) => facet(k));
  const filter = serverFilter ? {
    text: q || null, layer: facet("layer") || null, source: facet("source") || null,
    namespace: facet("namespace") || null, tag: facet("tag") || null, entityKind: facet("kind") || null,
  } : null;

  const list = serverFilter || !q
    ? gql<{ datasets: { totalCount: number; edges: { node: DatasetSummary }[] } }>(
        `query($filter: DatasetFilter, $first: Int) { datasets(first: $first, filter: $filter,
          orderBy: {field: NAME, direction: ASC}) { totalCount edges { node { ${SUMMARY} } } } }`,
        { filter, first: PAGE }, ctx.signal).then((r) => ({
          errors: r.errors, total: r.data?.datasets.totalCount ?? 0,
          items: r.data?.datasets.edges.map((e) => e.node) ?? [] }))
    : gql<{ search: { totalCount: number; edges: { node: DatasetSummary }[] } }>(
        `query($q: String!, $first: Int) { search(query: $q, first: $first) { totalCount
          edges { score node { ${SUMMARY} } } } }`, { q, first: PAGE }, ctx.signal).then((r) => ({
          errors: r.errors, total: r.data?.search.totalCount ?? 0,
          items: r.data?.search.edges.map((e) => e.node) ?? [] }));
  const sources = gql<{ sources: { edges: { node: { name: string } }[] } }>(
    "{ sources(first: 100) { edges { node { name } } } }", {}, ctx.signal);

  void renderSide(ctx, side);
  const [found, srcs] = await Promise.all([list, sources]);

  // facet values: the server's sources; namespaces, tags and owners seen in the results
  const count = (values: string[]) => {
    const m = new Map<string, number>();
    for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
    return [...m.entries()].sort((a, b) => a[0].localeCompare(b[0]));
  };
  const withSel = (opts: [string, number][], sel: string): [string, string][] => {
    const out: [string, string][] = opts.map(([v, n]) => [v, `${v} (${n})`]);
    if (sel && !opts.some(([v]) => v === sel)) out.unshift([sel, sel]);
    return out;
  };
  const namespaces = count(found.items.map((d) => d.namespace));
  const tags = count(found.items.flatMap((d) => d.tags.map((t) => t.name)));
  const owners = count(found.items.flatMap((d) => d.owners.map((o) => o.name)));
  const sourceNames = srcs.data?.sources.edges.map((e) => e.node.name) ?? [];

  const input = h("input", { type: "search", id: "q", name: "q", value: q, placeholder: "customers, email, spend…",
    autocomplete: "off", "aria-describedby": "q-help" });
  form.append(
    h("div", { className: "searchbox" },
      h("label", { for: "q" }, "Search datasets"), input,
      h("button", { type: "submit" }, "Search")),
    h("p", { id: "q-help", className: "muted small" },
      "Every word must match a name, description, tag or column (prefixes count)."),
    h("fieldset", { className: "facets" }, h("legend", null, "Filters"),
      select("Layer", "layer", LAYERS.map((l) => [l, l.toLowerCase()]), facet("layer")),
      select("Source", "source", sourceNames.map((n) => [n, n]), facet("source")),
      select("Namespace", "namespace", withSel(namespaces, facet("namespace")), facet("namespace")),
      select("Tag", "tag", withSel(tags, facet("tag")), facet("tag")),
      select("Entity kind", "kind", ENTITY_KINDS.map((k) => [k, k.toLowerCase().replace("_", " ")]), facet("kind")),
      select("Owner (results shown)", "owner", withSel(owners, facet("owner")), facet("owner")),
      h("div", { className: "facet check" },
        h("input", { type: "checkbox", id: "f-pii", name: "pii", value: "1", checked: facet("pii") === "1" }),
        h("label", { for: "f-pii" }, "Holds personal data")),
      h("a", { href: "#/", className: "small" }, "Clear filters")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const params: Record<string, string> = {};
    for (const [k, v] of data.entries()) if (typeof v === "string" && v) params[k] = v.trim();
    location.hash = href("", [], params);
  });
  form.addEventListener("change", (ev) => {
    if ((ev.target as HTMLElement).tagName !== "INPUT" || (ev.target as HTMLInputElement).type === "checkbox") {
      form.requestSubmit();
    }
  });

  let items = found.items;
  if (facet("owner")) items = items.filter((d) => d.owners.some((o) => o.name === facet("owner")));
  if (facet("pii") === "1") items = items.filter((d) => d.latestVersion?.fields.some((f) => f.pii));
  results.replaceChildren(
    h("h2", { id: "results-title" }, q ? `Results for “${q}”` : "Datasets"),
    h("p", { className: "muted small", id: "results-count" },
      `${found.total} match${found.total === 1 ? "" : "es"}`,
      found.total > found.items.length ? `, first ${found.items.length} shown` : "",
      items.length !== found.items.length ? `, ${items.length} after the owner/PII filters` : ""),
    errorList(found.errors) ?? "",
    items.length
      ? h("ul", { className: "results", "aria-labelledby": "results-title" }, items.map(resultItem))
      : h("p", null, "No dataset matches. Try fewer words or filters."));
}

function resultItem(d: DatasetSummary): HTMLElement {
  const pii = d.latestVersion?.fields.some((f) => f.pii);
  return h("li", { className: "result" },
    h("div", { className: "result-head" },
      h("a", { href: datasetHref(d.namespace, d.name), className: "result-name" },
        h("span", { className: "ns" }, d.namespace, "/"), d.name),
      layerBadge(d.layer), pii ? piiBadge() : null),
    d.description ? h("p", { className: "desc" }, d.description) : null,
    h("p", { className: "meta small" },
      d.source ? `Source: ${d.source.name} · ` : "",
      d.owners.length ? `Owners: ${d.owners.map((o) => o.name).join(", ")} · ` : "",
      d.latestVersion ? `v${d.latestVersion.version}, ${Number(d.latestVersion.rowCount).toLocaleString()} rows · ` : "",
      `updated ${formatDate(d.updatedAt)}`),
    d.tags.length ? h("ul", { className: "tags", "aria-label": "Tags" },
      d.tags.map((t) => h("li", null, h("a", { href: href("", [], { tag: t.name }) }, t.name)))) : null);
}

interface Health {
  catalogHealth: {
    date: string;
    counts: Record<string, number | string>;
    datasetsByLayer: Record<string, number>;
  };
}
interface Recent {
  datasets: { edges: { node: { namespace: string; name: string; layer: string; updatedAt: string;
    latestVersion: { version: number } | null } }[] };
}
interface Runs {
  runs: { edges: { node: { state: string; updatedAt: string; job: { namespace: string; name: string };
    outputs: { dataset: { namespace: string; name: string } }[] } }[] };
}

const COUNT_LABELS: [string, string][] = [
  ["datasets", "Datasets"], ["versions", "Versions"], ["sources", "Sources"], ["storageBytes", "Stored"],
  ["stale", "Stale"], ["withoutDescription", "Without description"], ["withoutOwner", "Without owner"],
  ["unownedPiiColumns", "Unowned PII columns"], ["contractFailures", "Contract failures"], ["failedRuns", "Failed runs"],
];

async function renderSide(ctx: PageContext, side: HTMLElement): Promise<void> {
  const [health, recent, runs] = await Promise.all([
    gql<Health>("{ catalogHealth { date counts { datasets versions sources storageBytes stale failedRuns " +
      "withoutDescription withoutOwner unownedPiiColumns contractFailures } datasetsByLayer } }", {}, ctx.signal)
      .catch((e: Error) => ({ data: null, errors: [{ message: e.message }] })),
    gql<Recent>(`{ datasets(first: 8, orderBy: {field: UPDATED_AT, direction: DESC}) { edges { node {
      namespace name layer updatedAt latestVersion { version } } } } }`, {}, ctx.signal)
      .catch((e: Error) => ({ data: null, errors: [{ message: e.message }] })),
    gql<Runs>(`{ runs(first: 5) { edges { node { state updatedAt job { namespace name }
      outputs { dataset { namespace name } } } } } }`, {}, ctx.signal)
      .catch((e: Error) => ({ data: null, errors: [{ message: e.message }] })),
  ]);
  const h_ = health.data?.catalogHealth;
  side.append(
    section("Catalog health", "health-title",
      h_ ? h("dl", { className: "stats" }, COUNT_LABELS.map(([k, label]) => [
        h("dt", null, label),
        h("dd", { "data-count": k }, k === "storageBytes" ? formatBytes(h_.counts[k]) : String(h_.counts[k] ?? "—")),
      ])) : null,
      h_ ? h("p", { className: "small muted" }, "By layer: ",
        Object.entries(h_.datasetsByLayer).map(([l, n]) => `${l.toLowerCase()} ${n}`).join(" · "),
        ` (report of ${h_.date})`) : null,
      errorList(health.errors)),
    section("Recent changes", "recent-title",
      h("ul", { className: "plain" }, (recent.data?.datasets.edges ?? []).map(({ node: d }) => h("li", null,
        h("a", { href: datasetHref(d.namespace, d.name) }, `${d.namespace}/${d.name}`), " ",
        h("span", { className: "small muted" }, d.latestVersion ? `v${d.latestVersion.version} · ` : "", formatDate(d.updatedAt))))),
      (runs.data?.runs.edges.length ?? 0) > 0 ? h("h3", null, "Latest runs") : null,
      h("ul", { className: "plain" }, (runs.data?.runs.edges ?? []).map(({ node: r }) => h("li", null,
        h("span", { className: `state state-${r.state.toLowerCase()}` }, r.state.toLowerCase()), " ",
        r.job.name, r.outputs[0] ? [" → ", h("a", { href: lineageHref(r.outputs[0].dataset.namespace, r.outputs[0].dataset.name) },
          r.outputs[0].dataset.name)] : null, " ",
        h("span", { className: "small muted" }, formatDate(r.updatedAt))))),
      errorList([...recent.errors, ...runs.errors])));
}
