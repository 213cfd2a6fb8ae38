// GraphiQL from the npm registry, bundled here: GET /graphql in a browser serves this page,
// so the explorer works with no internet. The token from the catalog's sign-in (sessionStorage)
// pre-fills the Authorization header; the Headers tab edits it.
import { GraphiQL } from "graphiql";
import "graphiql/graphiql.css";
import "./graphiql-page.css";
import { createRoot } from "react-dom/client";
import { getToken } from "./auth";

type Fetcher = Parameters<typeof GraphiQL>[0]["fetcher"];

const fetcher: Fetcher = async (params, opts) => {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    Accept: "application/graphql-response+json, application/json",
    ...(opts?.headers as Record<string, string> | undefined),
  };
  const response = await fetch("/graphql", {
    method: "POST", headers, body: JSON.stringify(params), credentials: "omit",
  });
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return { errors: [{ message: `HTTP ${response.status}: ${text.slice(0, 500)}` }] };
  }
};

const token = getToken();
const headers = token ? JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2) : "{}";
const DEFAULT_QUERY = `# Peso's GraphQL API. A token goes in the Headers tab:
#   {"Authorization": "Bearer <token>"}
# (pre-filled after signing in on the catalog page;
# make one with: peso token create). Reads need none
# unless the server runs with PESO_AUTH=required.
{
  datasets(first: 5) {
    totalCount
    edges { node { namespace name layer description } }
  }
}
`;

const root = document.getElementById("graphiql")!;
root.textContent = "";
createRoot(root).render(
  <GraphiQL
    fetcher={fetcher}
    defaultQuery={DEFAULT_QUERY}
    defaultHeaders={headers}
    defaultEditorToolsVisibility="headers"
    shouldPersistHeaders={false}
    isHeadersEditorEnabled
  >
    <GraphiQL.Logo>
      <a href="/" style={{ color: "inherit", textDecoration: "none" }}>Peso</a> GraphiQL
    </GraphiQL.Logo>
  </GraphiQL>,
);
