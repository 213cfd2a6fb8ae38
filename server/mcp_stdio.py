"""`peso mcp`: the MCP server over stdio, for desktop assistants that spawn it."""

from __future__ import annotations

from schema.root import build_schema
from server.auth import AuthError, verify_token
from server.errors import PesoError
from server.mcp_server import build_mcp
from server.settings import Settings
from server.storage import factory


async def serve_stdio(settings: Settings, token: str | None) -> int:
    """Open the stores, check the token once up front, then answer on stdin/stdout."""
    import sys

    graph, objects = factory.graph_store(settings), factory.object_store(settings)
    await graph.open()
    objects.open()
    try:
        if token:
            try:
                await verify_token(graph, token)
            except AuthError as exc:
                print(f"peso mcp: {exc.message} (--token / PESO_MCP_TOKEN)", file=sys.stderr)
                return 2
        server = build_mcp(build_schema(settings), settings, graph, objects, stdio_token=token)
        await server.run_stdio_async()
        return 0
    except PesoError as exc:
        print(f"peso mcp: {exc.message}", file=sys.stderr)
        return 1
    finally:
        objects.close()
        await graph.close()
