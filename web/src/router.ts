// Hash routes, so every page and lineage state is a URL that can be shared and bookmarked
// and the server needs no catch-all route:
//   #/                       home (search state in the query: ?q=…&layer=…&tag=…)
//   #/dataset/NS/NAME        a dataset
//   #/lineage/NS/NAME?depth=3&dir=BOTH&group=namespace&focus=NS%0ANAME&q=…&open=…
//   #/signin
export interface Route {
  page: string;
  parts: string[];
  params: URLSearchParams;
}

export function parseHash(hash: string = location.hash): Route {
  const raw = hash.replace(/^#/, "") || "/";
  const [path, query = ""] = raw.split("?", 2);
  const parts = path.split("/").filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch { return p; }
  });
  return { page: parts[0] ?? "", parts: parts.slice(1), params: new URLSearchParams(query) };
}

export function href(page: string, parts: string[] = [], params?: Record<string, string | null | undefined>): string {
  const path = [page, ...parts].filter((p) => p !== "").map(encodeURIComponent).join("/");
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v !== null && v !== undefined && v !== "") q.set(k, v);
  const qs = q.toString();
  return `#/${path}${qs ? "?" + qs : ""}`;
}

export function datasetHref(namespace: string, name: string): string {
  return href("dataset", [namespace, name]);
}

export function lineageHref(namespace: string, name: string, params: Record<string, string | null> = {}): string {
  return href("lineage", [namespace, name], params);
}

/** Change the URL's query without a new history entry or a re-render (state kept in the URL). */
export function replaceParams(params: Record<string, string | null | undefined>): void {
  const route = parseHash();
  const next = href(route.page, route.parts, {
    ...Object.fromEntries(route.params.entries()), ...params,
  });
  history.replaceState(null, "", next);
}
