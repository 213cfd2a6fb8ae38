"""The MCP server: Peso's catalog as Model Context Protocol tools and resources (``mcp`` SDK).

Every tool runs one fixed GraphQL document against the same Strawberry schema the HTTP API
serves, in-process, with a Context carrying the caller's Principal. So MCP answers are the
GraphQL answers: the same resolvers, limits (page sizes, preview rows, lineage clamps), role
checks and PII masking — no second copy of the query logic. Over streamable HTTP the caller
comes from ``Authorization: Bearer`` on each request; over stdio from the token given at start
(``--token`` or PESO_MCP_TOKEN). Write tools exist only when PESO_MCP_WRITES is on, and the
GraphQL mutations behind them still demand the writer role.

``build_tools`` is the registry: a new tool is one more function in its ``reads`` or
``writes`` list.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import strawberry
from mcp.server.mcpserver import Context as McpContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from schema.context import Context
from server import __version__
from server.auth import ANONYMOUS, AuthError, Principal, authenticate, may_read, verify_token
from server.settings import Settings
from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore

_DATASET = "id namespace name layer description tags { name } owners { name kind email }"
_FIELD = "name position arrowType nullable description semanticType pii"
_REF = "namespace name"
_SUGGESTION = ("id kind status version target value confidence evidence enricher createdAt "
               "decidedAt decidedBy note dataset { namespace name }")
_DECISION = f"applied message suggestion {{{_SUGGESTION}}} errors {{message field code}}"


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    fn: Callable[..., Any]
    write: bool = False


class PesoMcp:
    """Runs tools for one caller against the shared schema and stores."""

    def __init__(self, schema: strawberry.Schema, settings: Settings, graph: GraphStore,
                 objects: ObjectStore, stdio_token: str | None = None) -> None:
        self.schema, self.settings, self.graph, self.objects = schema, settings, graph, objects
        self.stdio_token = stdio_token

    async def principal(self, ctx: McpContext) -> Principal:
        request = None
        try:
            request = ctx.request_context.request
        except ValueError:
            request = None
        try:
            gated = getattr(request.state, "peso_principal", None) if request is not None \
                else None
            if isinstance(gated, Principal):  # TokenGate checked this very request's token
                principal = gated
            elif request is not None:
                principal = await authenticate(self.graph, request.headers.get("authorization"))
            elif self.stdio_token:
                principal = await verify_token(self.graph, self.stdio_token)
            else:
                principal = ANONYMOUS
        except AuthError as exc:
            raise ToolError(exc.message) from exc
        if not may_read(principal, self.settings.auth):
            raise ToolError("an API token is required (PESO_AUTH=required)")
        return principal

    async def run(self, ctx: McpContext, document: str, variables: dict[str, Any]) -> Any:
        principal = await self.principal(ctx)
        context = Context(settings=self.settings, graph=self.graph, objects=self.objects,
                          principal=principal)
        result = await self.schema.execute(document, variable_values=variables,
                                           context_value=context)
        if result.errors:
            raise ToolError("; ".join(_describe(e) for e in result.errors))
        return result.data


def _describe(error: Any) -> str:
    path = ".".join(str(p) for p in (error.path or []))
    return f"{error.message} (at {path})" if path else str(error.message)


def _need(value: Any, what: str) -> Any:
    if value is None:
        raise ToolError(f"{what} not found")
    return value


def _payload(data: dict[str, Any], field: str, result: str | None = "dataset") -> Any:
    payload = data[field]
    if payload["errors"]:
        raise ToolError("; ".join(f"{e['message']} (field {e['field']})" if e.get("field")
                                  else e["message"] for e in payload["errors"]))
    return payload[result] if result is not None else payload


def build_tools(peso: PesoMcp) -> list[ToolSpec]:
    async def search_datasets(ctx: McpContext, query: str, first: int = 10) -> dict[str, Any]:
        """Datasets matching every word of `query` (prefix match), best first."""
        data = await peso.run(ctx, "query($q:String!,$f:Int){search(query:$q,first:$f){"
                              f"totalCount edges{{score node{{{_DATASET}}}}}}}}}",
                              {"q": query, "f": first})
        return {"totalCount": data["search"]["totalCount"],
                "results": [{"score": e["score"], **e["node"]} for e in data["search"]["edges"]]}

    async def get_dataset(ctx: McpContext, namespace: str, name: str) -> dict[str, Any]:
        """One dataset: description, tags, owners, entities, schema, versions and quality."""
        data = await peso.run(ctx, "query($n:String!,$m:String!){dataset(namespace:$n,name:$m){"
                              f"{_DATASET} entities{{role entity{{id kind name isHuman}}}} "
                              "latestVersion{version rowCount byteSize format createdAt "
                              f"quality{{passed}} fields{{{_FIELD}}}}} "
                              "versions(first:20){edges{node{version rowCount createdAt}}}}}",
                              {"n": namespace, "m": name})
        return dict(_need(data["dataset"], f"dataset {namespace}/{name}"))

    async def list_schema_fields(ctx: McpContext, namespace: str, name: str,
                                 version: int | None = None) -> dict[str, Any]:
        """The columns of a dataset's latest (or given) version, with types and PII flags."""
        data = await peso.run(ctx, "query($n:String!,$m:String!,$v:Int!,$latest:Boolean!){"
                              "dataset(namespace:$n,name:$m){"
                              f"latestVersion @include(if:$latest){{version fields{{{_FIELD}}}}} "
                              f"version(number:$v) @skip(if:$latest){{version fields{{{_FIELD}}}}}"
                              "}}", {"n": namespace, "m": name, "v": version or 0,
                                     "latest": version is None})
        ds = _need(data["dataset"], f"dataset {namespace}/{name}")
        v = _need(ds.get("latestVersion") if version is None else ds.get("version"),
                  f"version {version or 'latest'} of {namespace}/{name}")
        return {"version": v["version"], "fields": v["fields"]}

    async def preview(ctx: McpContext, namespace: str, name: str, limit: int = 20,
                      offset: int = 0, columns: list[str] | None = None) -> Any:
        """Rows of the latest version (at most PESO_MAX_PREVIEW_ROWS); PII masked unless the
        token may see it — exactly as GraphQL's `preview`."""
        data = await peso.run(ctx, "query($n:String!,$m:String!,$l:Int!,$o:Int!,$c:[String!]){"
                              "dataset(namespace:$n,name:$m){latestVersion{"
                              "preview(limit:$l,offset:$o,columns:$c)}}}",
                              {"n": namespace, "m": name, "l": limit, "o": offset, "c": columns})
        ds = _need(data["dataset"], f"dataset {namespace}/{name}")
        return _need(ds["latestVersion"], f"a version of {namespace}/{name}")["preview"]

    async def get_lineage(ctx: McpContext, namespace: str, name: str, direction: str = "BOTH",
                          depth: int = 3, max_nodes: int | None = None) -> dict[str, Any]:
        """The lineage subgraph around a dataset; direction UPSTREAM, DOWNSTREAM or BOTH;
        `max_nodes` is clamped to PESO_MAX_LINEAGE_NODES."""
        if direction not in ("UPSTREAM", "DOWNSTREAM", "BOTH"):
            raise ToolError(f"direction must be UPSTREAM, DOWNSTREAM or BOTH, not {direction!r}")
        data = await peso.run(
            ctx, "query($n:String!,$m:String!,$d:LineageDirection!,$h:Int!,$x:Int){"
            "lineage(namespace:$n,name:$m,direction:$d,depth:$h,maxNodes:$x){"
            f"truncated nodesTotal nodesReturned nodes{{depth dataset{{{_REF}}}}} "
            f"edges{{upstream{{{_REF}}} downstream{{{_REF}}} transformation job}}}}}}",
            {"n": namespace, "m": name, "d": direction, "h": depth,
             "x": None if max_nodes is None else min(max_nodes, peso.settings.max_lineage_nodes)})
        return dict(_need(data["lineage"], f"dataset {namespace}/{name}"))

    async def impact(ctx: McpContext, namespace: str, name: str, depth: int | None = None,
                     max_nodes: int | None = None) -> dict[str, Any]:
        """Every dataset downstream of this one, nearest first, with owners and jobs."""
        data = await peso.run(
            ctx, "query($n:String!,$m:String!,$h:Int,$x:Int){impact(namespace:$n,name:$m,"
            f"depth:$h,maxNodes:$x){{truncated nodesTotal entries{{distance jobNames "
            f"dataset{{{_REF}}} owners{{name kind email}}}}}}}}",
            {"n": namespace, "m": name, "h": depth,
             "x": None if max_nodes is None else min(max_nodes, peso.settings.max_lineage_nodes)})
        return dict(_need(data["impact"], f"dataset {namespace}/{name}"))

    async def get_lineage_path(ctx: McpContext, from_namespace: str, from_name: str,
                               to_namespace: str, to_name: str,
                               max_depth: int = 10) -> dict[str, Any]:
        """The shortest lineage path(s) between two datasets."""
        data = await peso.run(
            ctx, "query($f:DatasetRef!,$t:DatasetRef!,$d:Int!){lineagePath(from:$f,to:$t,"
            f"maxDepth:$d){{direction length truncated paths{{datasets{{{_REF}}}}}}}}}",
            {"f": {"namespace": from_namespace, "name": from_name},
             "t": {"namespace": to_namespace, "name": to_name}, "d": max_depth})
        return dict(_need(data["lineagePath"], "one of the two datasets"))

    async def list_entities(ctx: McpContext, is_human: bool | None = None,
                            first: int = 50) -> dict[str, Any]:
        """Entities (customers, brands, campaigns, …) by name, optionally human or not."""
        data = await peso.run(ctx, "query($h:Boolean,$f:Int){entities(isHuman:$h,first:$f){"
                              "edges{node{id kind name isHuman description}}}}",
                              {"h": is_human, "f": first})
        return {"entities": [e["node"] for e in data["entities"]["edges"]]}

    async def catalog_health(ctx: McpContext, date: str | None = None) -> dict[str, Any]:
        """The catalog health report (GraphQL `catalogHealth`): counts (datasets, versions,
        stale, failed runs, undescribed, unowned, unowned PII columns, contract failures),
        datasets by layer and source, weekly growth, up to 50 names per finding, and the
        change since the previous edition. `date` (YYYY-MM-DD) reads a stored edition."""
        data = await peso.run(ctx, "query($d:String){catalogHealth(date:$d){date generatedAt "
                              "staleDays counts{datasets versions sources storageBytes stale "
                              "failedRuns withoutDescription withoutOwner unownedPiiColumns "
                              "contractFailures} datasetsByLayer datasetsBySource growthByWeek "
                              "lists diff}}", {"d": date})
        report: dict[str, Any] = data["catalogHealth"]
        return report

    async def add_tag(ctx: McpContext, namespace: str, name: str, tag: str) -> dict[str, Any]:
        """Tag a dataset (writer token; PESO_MCP_WRITES=true)."""
        data = await peso.run(ctx, "mutation($i:TagInput!){tagDataset(input:$i){"
                              f"dataset{{{_DATASET}}} errors{{message field code}}}}}}",
                              {"i": {"namespace": namespace, "name": name, "tag": tag}})
        return dict(_payload(data, "tagDataset"))

    async def set_description(ctx: McpContext, namespace: str, name: str,
                              description: str) -> dict[str, Any]:
        """Set a dataset's description (writer token; PESO_MCP_WRITES=true)."""
        data = await peso.run(ctx, "mutation($i:DescribeDatasetInput!){describeDataset(input:$i){"
                              f"dataset{{{_DATASET}}} errors{{message field code}}}}}}",
                              {"i": {"namespace": namespace, "name": name,
                                     "description": description}})
        return dict(_payload(data, "describeDataset"))

    async def link_entity(ctx: McpContext, namespace: str, name: str, entity_id: str,
                          role: str | None = None) -> dict[str, Any]:
        """Record that a dataset describes an entity (writer token; PESO_MCP_WRITES=true)."""
        data = await peso.run(ctx, "mutation($i:LinkEntityInput!){linkEntity(input:$i){"
                              f"dataset{{{_DATASET}}} errors{{message field code}}}}}}",
                              {"i": {"namespace": namespace, "name": name,
                                     "entityId": entity_id, "role": role}})
        return dict(_payload(data, "linkEntity"))

    async def list_suggestions(ctx: McpContext, namespace: str | None = None,
                               name: str | None = None, status: str = "PENDING",
                               kind: str | None = None, first: int = 20) -> dict[str, Any]:
        """What the enrichers propose (semantic types, entities, join keys, descriptions,
        tags), newest first: of one dataset (namespace and name) or of all. `status` PENDING
        (default), ACCEPTED, REJECTED, SUPERSEDED or ALL; `kind` SEMANTIC_TYPE, ENTITY,
        JOIN_KEY, DESCRIPTION or TAG. Each has an id for accept_suggestion /
        reject_suggestion, a confidence and its evidence."""
        if (namespace is None) != (name is None):
            raise ToolError("give both namespace and name, or neither")
        statuses = ("PENDING", "ACCEPTED", "REJECTED", "SUPERSEDED", "ALL")
        if status not in statuses:
            raise ToolError(f"status must be one of {', '.join(statuses)}, not {status!r}")
        data = await peso.run(
            ctx, "query($d:DatasetRef,$s:SuggestionStatus,$k:SuggestionKind,$f:Int){"
            f"suggestions(dataset:$d,status:$s,kind:$k,first:$f){{totalCount "
            f"edges{{node{{{_SUGGESTION}}}}}}}}}",
            {"d": {"namespace": namespace, "name": name} if namespace is not None else None,
             "s": None if status == "ALL" else status, "k": kind, "f": first})
        found = data["suggestions"]
        return {"totalCount": found["totalCount"],
                "suggestions": [e["node"] for e in found["edges"]]}

    async def accept_suggestion(ctx: McpContext, id: str) -> dict[str, Any]:
        """Accept a pending suggestion by id: the catalog changes as it proposes, audited
        (writer token; PESO_MCP_WRITES=true). `applied` is false when a description a person
        wrote was kept (the suggestion stays pending; `message` says why)."""
        data = await peso.run(ctx, f"mutation($id:ID!){{acceptSuggestion(id:$id){{{_DECISION}}}}}",
                              {"id": id})
        return dict(_payload(data, "acceptSuggestion", None))

    async def reject_suggestion(ctx: McpContext, id: str,
                                reason: str | None = None) -> dict[str, Any]:
        """Reject a pending suggestion by id, optionally saying why; it is not proposed again
        for that version (writer token; PESO_MCP_WRITES=true)."""
        data = await peso.run(ctx, "mutation($id:ID!,$r:String){rejectSuggestion(id:$id,"
                              f"reason:$r){{{_DECISION}}}}}", {"id": id, "r": reason})
        return dict(_payload(data, "rejectSuggestion", None))

    reads: list[Callable[..., Any]] = [
        search_datasets, get_dataset, list_schema_fields, preview, get_lineage, impact,
        get_lineage_path, list_entities, catalog_health, list_suggestions]
    writes: list[Callable[..., Any]] = [add_tag, set_description, link_entity,
                                        accept_suggestion, reject_suggestion]
    return [ToolSpec(f.__name__, (f.__doc__ or "").strip(), f) for f in reads] + \
        [ToolSpec(f.__name__, (f.__doc__ or "").strip(), f, write=True) for f in writes]


def build_mcp(schema: strawberry.Schema, settings: Settings, graph: GraphStore,
              objects: ObjectStore, stdio_token: str | None = None) -> MCPServer:
    peso = PesoMcp(schema, settings, graph, objects, stdio_token)
    server: MCPServer = MCPServer("peso", version=__version__,
                                  instructions="Peso data catalog: datasets, schema, lineage.")
    for spec in build_tools(peso):
        if spec.write and not settings.mcp_writes:
            continue
        server.add_tool(spec.fn, name=spec.name, description=spec.description)

    @server.resource("peso://dataset/{namespace}/{name}", mime_type="application/json")
    async def dataset_document(namespace: str, name: str, ctx: McpContext) -> str:
        """A dataset's document: description, tags, owners and schema."""
        data = await peso.run(ctx, "query($n:String!,$m:String!){dataset(namespace:$n,name:$m){"
                              f"{_DATASET} latestVersion{{version fields{{{_FIELD}}}}}}}}}",
                              {"n": namespace, "m": name})
        return json.dumps(_need(data["dataset"], f"dataset {namespace}/{name}"))

    return server


class TokenGate:
    """Refuse an MCP HTTP request with 401 before the SDK sees it when its bearer token is
    malformed, unknown or revoked (or absent under PESO_AUTH=required); tools re-read the
    caller from the same header."""

    def __init__(self, app: ASGIApp, graph: GraphStore, settings: Settings) -> None:
        self.app, self.graph, self.settings = app, graph, settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = dict(scope["headers"]).get(b"authorization")
            try:
                principal = await authenticate(self.graph, header.decode("latin-1")
                                               if header is not None else None)
                if not may_read(principal, self.settings.auth):
                    raise AuthError("an API token is required: send "
                                    "`Authorization: Bearer <token>`")
            except AuthError as exc:
                await JSONResponse({"error": exc.message}, status_code=401,
                                   headers={"WWW-Authenticate": "Bearer"})(scope, receive, send)
                return
            # tools read it back (PesoMcp.principal) instead of looking the token up again
            scope.setdefault("state", {})["peso_principal"] = principal
        await self.app(scope, receive, send)


def http_routes(server: MCPServer, graph: GraphStore, settings: Settings) -> list[Route]:
    """The streamable HTTP endpoint at /mcp (stateless, JSON answers), behind TokenGate."""
    # stateless mode ends a "session" per request, which the SDK logs at INFO: one line per
    # tool call ("Terminating session: None") beside Peso's own access log
    logging.getLogger("mcp.server.streamable_http").setLevel(logging.WARNING)
    inner = server.streamable_http_app(streamable_http_path="/mcp", stateless_http=True,
                                       json_response=True, host=settings.host)
    routes: list[Route] = []
    for route in inner.routes:
        if isinstance(route, Route) and route.path == "/mcp":
            routes.append(Route("/mcp", TokenGate(route.endpoint, graph, settings)))
    return routes
