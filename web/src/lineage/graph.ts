// The lineage model behind the view: datasets and edges as the API returned them, folded into
// groups (by namespace or by the job that wrote them) so a 1,000-dataset neighbourhood draws
// as a few dozen boxes; a group opens on demand. Pure functions: no DOM here.

export type GroupMode = "namespace" | "job" | "none";

export interface LNode {
  key: string; namespace: string; name: string; layer: string; depth: number;
  /** the job that wrote it (the first, by name, of its incoming edges), if any */
  job: string | null;
}
export interface LEdge { from: string; to: string; job: string | null }

export interface VisNode {
  id: string;
  kind: "dataset" | "group";
  label: string;
  sub: string;
  members: string[];
  layer: string;
  depth: number;
  start: boolean;
}
export interface VisEdge { id: string; from: string; to: string; count: number }
export interface View {
  nodes: VisNode[];
  edges: VisEdge[];
  /** dataset key → the id of the box that shows it */
  owner: Map<string, string>;
}

export const SEP = "\n";
export const keyOf = (namespace: string, name: string): string => namespace + SEP + name;
export const splitKey = (key: string): [string, string] => {
  const i = key.indexOf(SEP);
  return [key.slice(0, i), key.slice(i + 1)];
};

export function buildModel(
  nodes: { depth: number; dataset: { namespace: string; name: string; layer: string } }[],
  edges: { upstream: { namespace: string; name: string }; downstream: { namespace: string; name: string }; job: string | null }[],
): { nodes: LNode[]; edges: LEdge[] } {
  const byKey = new Map<string, LNode>();
  for (const n of nodes) {
    const key = keyOf(n.dataset.namespace, n.dataset.name);
    byKey.set(key, { key, namespace: n.dataset.namespace, name: n.dataset.name, layer: n.dataset.layer, depth: n.depth, job: null });
  }
  const out: LEdge[] = [];
  for (const e of edges) {
    const from = keyOf(e.upstream.namespace, e.upstream.name);
    const to = keyOf(e.downstream.namespace, e.downstream.name);
    if (!byKey.has(from) || !byKey.has(to)) continue; // an edge to a node left out (truncated)
    out.push({ from, to, job: e.job });
    const target = byKey.get(to)!;
    if (e.job && (target.job === null || e.job < target.job)) target.job = e.job;
  }
  return { nodes: [...byKey.values()], edges: out };
}

export function groupOf(node: LNode, mode: GroupMode): string | null {
  if (mode === "namespace") return `ns:${node.namespace}`;
  if (mode === "job") return node.job ? `job:${node.job}` : "job:";
  return null;
}

export function groupLabel(id: string): string {
  if (id.startsWith("ns:")) return id.slice(3) || "(no namespace)";
  if (id === "job:") return "not written by a job";
  return `written by ${id.slice(4)}`;
}

/** Fold `nodes` into groups except the start, one-member groups and groups in `open`. */
export function buildView(model: { nodes: LNode[]; edges: LEdge[] }, mode: GroupMode, open: Set<string>,
                          start: string): View {
  const members = new Map<string, LNode[]>();
  for (const n of model.nodes) {
    const g = groupOf(n, mode);
    if (g === null || n.key === start) continue;
    const list = members.get(g);
    if (list) list.push(n);
    else members.set(g, [n]);
  }
  const owner = new Map<string, string>();
  const nodes: VisNode[] = [];
  for (const n of model.nodes) {
    const g = groupOf(n, mode);
    const list = g === null ? undefined : members.get(g);
    if (n.key === start || g === null || !list || list.length < 2 || open.has(g)) {
      owner.set(n.key, `d:${n.key}`);
      nodes.push({ id: `d:${n.key}`, kind: "dataset", label: n.name, sub: n.namespace, members: [n.key], layer: n.layer,
                   depth: n.depth, start: n.key === start });
    } else {
      owner.set(n.key, `g:${g}`);
    }
  }
  for (const [g, list] of members) {
    if (list.length < 2 || open.has(g)) continue;
    const layers = new Set(list.map((n) => n.layer));
    const depths = list.map((n) => n.depth).sort((a, b) => a - b);
    nodes.push({ id: `g:${g}`, kind: "group", label: groupLabel(g), sub: `${list.length} datasets`,
                 members: list.map((n) => n.key), layer: layers.size === 1 ? [...layers][0] : "MIXED",
                 depth: depths[Math.floor(depths.length / 2)], start: false });
  }
  const edgeCount = new Map<string, VisEdge>();
  for (const e of model.edges) {
    const from = owner.get(e.from)!;
    const to = owner.get(e.to)!;
    if (from === to) continue;
    const id = `${from}\u0001${to}`;
    const seen = edgeCount.get(id);
    if (seen) seen.count++;
    else edgeCount.set(id, { id, from, to, count: 1 });
  }
  return { nodes, edges: [...edgeCount.values()], owner };
}

/** Boxes upstream and downstream of `focus` in the view (the focus itself in neither). */
export function paths(view: View, focus: string): { up: Set<string>; down: Set<string> } {
  const outgoing = new Map<string, string[]>();
  const incoming = new Map<string, string[]>();
  for (const e of view.edges) {
    (outgoing.get(e.from) ?? outgoing.set(e.from, []).get(e.from)!).push(e.to);
    (incoming.get(e.to) ?? incoming.set(e.to, []).get(e.to)!).push(e.from);
  }
  const walk = (next: Map<string, string[]>): Set<string> => {
    const seen = new Set<string>();
    const queue = [focus];
    while (queue.length) {
      const at = queue.pop()!;
      for (const n of next.get(at) ?? []) {
        if (n !== focus && !seen.has(n)) { seen.add(n); queue.push(n); }
      }
    }
    return seen;
  };
  return { up: walk(incoming), down: walk(outgoing) };
}

/** Datasets whose "namespace/name" contains every word of `query` (case-insensitive). */
export function matches(model: { nodes: LNode[] }, query: string): LNode[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return [];
  return model.nodes.filter((n) => {
    const text = `${n.namespace}/${n.name}`.toLowerCase();
    return words.every((w) => text.includes(w));
  });
}
