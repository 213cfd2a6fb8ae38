import { gql } from "../api";
import { formatBytes, formatDate, h, json } from "../dom";
import type { PageContext } from "../main";
import { datasetHref, href, lineageHref } from "../router";
import { errorList, layerBadge, piiBadge, section } from "./common";

interface Field {
  name: string; position: number; arrowType: string; nullable: boolean; description: string | null;
  originalName: string | null; semanticType: string | null; pii: boolean;
  profile: { count: number; nullCount: number; distinctCount: number | null; distinctApproximate: boolean;
    min: unknown; max: unknown; mean: number | null; topValues: { value: unknown; count: number }[] } | null;
}
interface Changes {
  previousVersion: number | null; firstVersion: boolean; addedFields: string[]; removedFields: string[];
  retypedFields: { name: string; fromType: string; toType: string }[]; rowCountChange: number;
}
interface Version {
  version: number; rowCount: string | number; byteSize: string | number; format: string | null;
  createdAt: string; createdBy: string; changes: Changes | null;
}
interface Preview { columns: string[]; rows: unknown[][]; totalRows: number; masked?: string[] }
interface Quality {
  passed: boolean; onViolation: string; rowsChecked: number; rowsFailed: number;
  checks: { name: string; column: string | null; rule: string; passed: number; failed: number; samples: unknown }[];
}
interface Ref { namespace: string; name: string; layer?: string }
interface Edge {
  upstream: Ref; downstream: Ref; job: string | null; transformation: string | null;
  viaJob: { namespace: string; name: string } | null;
  viaRun: { runId: string; state: string; startedAt: string | null; endedAt: string | null; errorMessage: string | null } | null;
}
interface DatasetData {
  dataset: null | {
    namespace: string; name: string; layer: string; description: string | null; createdAt: string; updatedAt: string;
    source: { name: string; kind: string; url: string | null; license: string | null } | null;
    tags: { name: string }[]; owners: { name: string; kind: string; email: string | null }[];
    entities: { role: string | null; entity: { kind: string; name: string; isHuman: boolean } }[];
    latestVersion: (Version & {
      fields: Field[];
      quality: Quality | null;
      preview: Preview;
    }) | null;
    versions: { totalCount: number; edges: { node: Version }[] };
  };
  lineage: null | { edges: Edge[] };
}

const VERSION = `version rowCount byteSize format createdAt createdBy changes { previousVersion firstVersion
  addedFields removedFields retypedFields { name fromType toType } rowCountChange }`;
const QUERY = `query Dataset($ns: String!, $name: String!) {
  dataset(namespace: $ns, name: $name) {
    namespace name layer description createdAt updatedAt
    source { name kind url license } tags { name } owners { name kind email }
    entities { role entity { kind name isHuman } }
    latestVersion { ${VERSION}
      fields { name position arrowType nullable description originalName semanticType pii
        profile { count nullCount distinctCount distinctApproximate min max mean topValues { value count } } }
      quality { passed onViolation rowsChecked rowsFailed checks { name column rule passed failed samples } }
      preview(limit: 20)
    }
    versions(first: 20) { totalCount edges { node { ${VERSION} } } }
  }
  lineage(namespace: $ns, name: $name, depth: 1) {
    edges { upstream { namespace name layer } downstream { namespace name layer } job transformation
      viaJob { namespace name } viaRun { runId state startedAt endedAt errorMessage } }
  }
}`;

export async function renderDataset(ctx: PageContext): Promise<void> {
  const [ns, name] = ctx.route.parts;
  if (!ns || !name) throw new Error("a dataset URL is #/dataset/NAMESPACE/NAME");
  document.title = `${ns}/${name} · Peso`;
  ctx.main.appendChild(h("p", { className: "muted" }, "Loading…"));
  const { data, errors } = await gql<DatasetData>(QUERY, { ns, name }, ctx.signal);
  ctx.main.replaceChildren();
  const d = data?.dataset;
  if (!d) {
    ctx.main.append(h("h1", null, `${ns}/${name}`), errorList(errors) ?? "",
      h("p", null, "No such dataset (or it was deleted). ", h("a", { href: "#/" }, "Search the catalog")));
    return;
  }
  const download = d.layer === "EXTERNAL" ? null : gql<{ dataset: { downloadUrl: string | null } | null }>(
    "query($ns: String!, $name: String!) { dataset(namespace: $ns, name: $name) { downloadUrl } }",
    { ns, name }, ctx.signal).catch(() => null);
  const v = d.latestVersion;
  const edges = data?.lineage?.edges ?? [];
  const upstream = edges.filter((e) => e.downstream.namespace === d.namespace && e.downstream.name === d.name);
  const downstream = edges.filter((e) => e.upstream.namespace === d.namespace && e.upstream.name === d.name);
  const downloadSlot = h("span", null);

  ctx.main.append(
    h("nav", { "aria-label": "Breadcrumb", className: "crumbs" },
      h("a", { href: "#/" }, "Catalog"), " / ", h("a", { href: href("", [], { namespace: d.namespace }) }, d.namespace), " / ", d.name),
    h("header", { className: "dataset-head" },
      h("h1", null, h("span", { className: "ns" }, `${d.namespace}/`), d.name, " ", layerBadge(d.layer)),
      h("p", { className: "desc" }, d.description ?? h("span", { className: "muted" }, "No description yet.")),
      h("div", { className: "actions" },
        h("a", { className: "button", href: lineageHref(d.namespace, d.name) }, "Open lineage view"),
        downloadSlot)),
    errorList(errors) ?? "",
    h("div", { className: "grid2" },
      section("About", "about-title", h("dl", { className: "kv" },
        h("dt", null, "Source"), h("dd", null, d.source
          ? [d.source.url ? h("a", { href: d.source.url, rel: "noopener noreferrer" }, d.source.name) : d.source.name,
             ` (${d.source.kind.toLowerCase().replace("_", " ")}${d.source.license ? `, license ${d.source.license}` : ""})`]
          : "—"),
        h("dt", null, "Owners"), h("dd", null, d.owners.length
          ? d.owners.map((o, i) => [i ? ", " : "", o.name, ` (${o.kind.toLowerCase()}`, o.email ? `, ${o.email}` : "", ")"])
          : h("span", { className: "warn" }, "nobody")),
        h("dt", null, "Tags"), h("dd", null, d.tags.length
          ? h("ul", { className: "tags" }, d.tags.map((t) => h("li", null, h("a", { href: href("", [], { tag: t.name }) }, t.name))))
          : "—"),
        h("dt", null, "Describes"), h("dd", null, d.entities.length
          ? d.entities.map((e, i) => [i ? ", " : "", `${e.entity.name} (${e.entity.kind.toLowerCase()}${e.role ? `, ${e.role}` : ""})`])
          : "—"),
        h("dt", null, "Created"), h("dd", null, formatDate(d.createdAt)),
        h("dt", null, "Updated"), h("dd", null, formatDate(d.updatedAt)),
        v ? [h("dt", null, "Latest version"), h("dd", null,
          `v${v.version}: ${Number(v.rowCount).toLocaleString()} rows, ${formatBytes(v.byteSize)}${v.format ? `, from ${v.format}` : ""}, by ${v.createdBy}`)] : null)),
      section("Lineage", "lineage-title",
        h("h3", null, "Comes from"), refList(upstream.map((e) => [e.upstream, e])),
        h("h3", null, "Used by"), refList(downstream.map((e) => [e.downstream, e])),
        h("p", null, h("a", { href: lineageHref(d.namespace, d.name) }, "Full lineage, impact and column lineage →")))),
    v ? schemaSection(v.fields) : section("Schema", "schema-title", h("p", { className: "muted" }, "No version loaded yet.")),
    v ? previewSection(v.preview) : "",
    v?.quality ? qualitySection(v.quality) : "",
    versionsSection(d.versions.edges.map((e) => e.node), d.versions.totalCount),
    runsSection(upstream) ?? "",
  );
  const url = await download;
  if (url?.data?.dataset?.downloadUrl) {
    downloadSlot.replaceWith(h("a", { className: "button secondary", href: url.data.dataset.downloadUrl, download: "" },
      "Download latest (Parquet)"));
  }
}

function refList(items: [Ref, Edge][]): HTMLElement {
  if (!items.length) return h("p", { className: "muted" }, "none recorded");
  return h("ul", { className: "plain" }, items.map(([r, e]) => h("li", null,
    h("a", { href: datasetHref(r.namespace, r.name) }, `${r.namespace}/${r.name}`),
    r.layer ? [" ", layerBadge(r.layer)] : null,
    e.job || e.viaJob ? h("span", { className: "small muted" }, ` via ${e.viaJob?.name ?? e.job}`) : null)));
}

function schemaSection(fields: Field[]): HTMLElement {
  const rows = fields.map((f) => {
    const p = f.profile;
    return h("tr", { "data-field": f.name },
      h("th", { scope: "row" }, h("code", null, f.name),
        f.originalName ? h("div", { className: "small muted" }, `was “${f.originalName}”`) : null),
      h("td", null, h("code", null, f.arrowType), f.nullable ? "" : h("span", { className: "small muted" }, " not null")),
      h("td", null, f.semanticType ?? "—"),
      h("td", null, f.pii ? piiBadge() : ""),
      h("td", { className: "num" }, p ? `${p.nullCount.toLocaleString()} / ${p.count.toLocaleString()}` : "—"),
      h("td", { className: "num" }, p?.distinctCount != null ? `${p.distinctApproximate ? "≈" : ""}${p.distinctCount.toLocaleString()}` : "—"),
      h("td", null, p ? `${json(p.min)} … ${json(p.max)}${p.mean != null ? `, mean ${p.mean.toFixed(2)}` : ""}` : "—"),
      h("td", null, p?.topValues.length ? p.topValues.slice(0, 3).map((t) => `${json(t.value)} (${t.count})`).join(", ") : "—"),
      h("td", null, f.description ?? ""));
  });
  return section("Schema", "schema-title",
    h("div", { className: "table-wrap" }, h("table", { className: "schema" },
      h("caption", { className: "sr-only" }, "Columns of the latest version, with types, semantic types, PII flags and profile"),
      h("thead", null, h("tr", null, ["Column", "Type", "Semantic type", "PII", "Nulls / count", "Distinct", "Range",
        "Top values", "Description"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, rows))));
}

function previewSection(preview: Preview): HTMLElement {
  const masked = new Set(preview.masked ?? []);
  return section("Preview", "preview-title",
    h("p", { className: "small muted" }, `First ${preview.rows.length} of ${Number(preview.totalRows).toLocaleString()} rows.`,
      masked.size ? ` Personal data masked for your token: ${[...masked].join(", ")}.` : ""),
    h("div", { className: "table-wrap" }, h("table", { className: "preview" },
      h("caption", { className: "sr-only" }, "Preview rows of the latest version"),
      h("thead", null, h("tr", null, preview.columns.map((c) => h("th", { scope: "col", className: masked.has(c) ? "masked" : "" },
        c, masked.has(c) ? h("span", { className: "badge masked-badge" }, "masked") : null)))),
      h("tbody", null, preview.rows.map((row) => h("tr", null, row.map((cell, i) => h("td", {
        className: masked.has(preview.columns[i]) ? "masked" : "" }, cell === null ? h("span", { className: "muted" }, "null") : json(cell)))))))));
}

function qualitySection(q: Quality): HTMLElement {
  return section("Quality", "quality-title",
    h("p", null, h("span", { className: `badge ${q.passed ? "ok" : "bad"}` }, q.passed ? "passed" : "failed"),
      ` ${q.rowsChecked.toLocaleString()} rows checked, ${q.rowsFailed.toLocaleString()} failed (on violation: ${q.onViolation})`),
    h("div", { className: "table-wrap" }, h("table", null,
      h("thead", null, h("tr", null, ["Check", "Column", "Rule", "Passed", "Failed", "Failing samples"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, q.checks.map((c) => h("tr", null, h("td", null, c.name), h("td", null, c.column ?? "—"),
        h("td", null, c.rule), h("td", { className: "num" }, String(c.passed)), h("td", { className: "num" }, String(c.failed)),
        h("td", { className: "small" }, json(c.samples))))))));
}

function versionsSection(versions: Version[], total: number): HTMLElement {
  const diff = (c: Changes | null) => {
    if (!c) return "—";
    if (c.firstVersion) return "first version";
    const parts: string[] = [];
    if (c.addedFields.length) parts.push(`+ ${c.addedFields.join(", ")}`);
    if (c.removedFields.length) parts.push(`− ${c.removedFields.join(", ")}`);
    for (const r of c.retypedFields) parts.push(`${r.name}: ${r.fromType} → ${r.toType}`);
    parts.push(`rows ${c.rowCountChange >= 0 ? "+" : ""}${c.rowCountChange}`);
    return parts.join("; ");
  };
  return section("Versions", "versions-title",
    h("p", { className: "small muted" }, `${total} version${total === 1 ? "" : "s"}${total > versions.length ? `, newest ${versions.length} shown` : ""}.`),
    h("div", { className: "table-wrap" }, h("table", null,
      h("thead", null, h("tr", null, ["Version", "Rows", "Size", "Format", "Loaded", "By", "Schema diff"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, versions.map((v) => h("tr", null, h("td", null, `v${v.version}`),
        h("td", { className: "num" }, Number(v.rowCount).toLocaleString()), h("td", { className: "num" }, formatBytes(v.byteSize)),
        h("td", null, v.format ?? "—"), h("td", null, formatDate(v.createdAt)), h("td", null, v.createdBy),
        h("td", null, diff(v.changes))))))));
}

function runsSection(upstream: Edge[]): HTMLElement | null {
  const runs = upstream.filter((e) => e.viaRun);
  if (!runs.length) return null;
  return section("Runs", "runs-title",
    h("p", { className: "small muted" }, "The latest run of each job that wrote this dataset."),
    h("div", { className: "table-wrap" }, h("table", null,
      h("thead", null, h("tr", null, ["Job", "State", "Started", "Ended", "Error"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, runs.map((e) => h("tr", null, h("td", null, `${e.viaJob?.namespace ?? ""}/${e.viaJob?.name ?? e.job ?? ""}`),
        h("td", null, h("span", { className: `state state-${e.viaRun!.state.toLowerCase()}` }, e.viaRun!.state.toLowerCase())),
        h("td", null, formatDate(e.viaRun!.startedAt)), h("td", null, formatDate(e.viaRun!.endedAt)),
        h("td", { className: "small" }, e.viaRun!.errorMessage ?? "")))))));
}
