"""MCP (server/mcp_server.py) through the official SDK client, against real processes: `peso mcp`
over stdio and `peso serve` over streamable HTTP at /mcp, on one demo catalog. What a tool
answers must be what GraphQL answers, with the same roles and PII masking."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.serverproc import (
    ServerProcess,
    create_token,
    peso_command,
    peso_env,
    run_peso,
    start_server,
)

READ_TOOLS = {"search_datasets", "get_dataset", "list_schema_fields", "preview", "get_lineage",
              "impact", "get_lineage_path", "list_entities", "catalog_health",
              "list_suggestions"}
WRITE_TOOLS = {"add_tag", "set_description", "link_entity", "accept_suggestion",
               "reject_suggestion"}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("mcp") / "data"
    done = run_peso("demo", data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    return data_dir


@pytest.fixture(scope="module")
def tokens(catalog: Path) -> dict[str, str]:
    return {"reader": create_token(catalog, "mcp-reader", "reader"),
            "writer": create_token(catalog, "mcp-writer", "writer"),
            "pii": create_token(catalog, "mcp-pii", "reader", pii=True)}


@pytest.fixture(scope="module")
def server(catalog: Path, tokens: dict[str, str]) -> Iterator[ServerProcess]:
    proc = start_server(catalog, PESO_MCP_WRITES="true")
    try:
        yield proc
    finally:
        proc.stop()


@asynccontextmanager
async def http_session(server: ServerProcess, token: str | None) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as client, \
            streamable_http_client(f"{server.base_url}/mcp", http_client=client) as streams, \
            ClientSession(streams[0], streams[1]) as session:
        await session.initialize()
        yield session


@asynccontextmanager
async def stdio_session(catalog: Path, token: str | None = None,
                        **env: str) -> AsyncIterator[ClientSession]:
    command = peso_command("mcp", *(["--token", token] if token else []))
    params = StdioServerParameters(command=command[0], args=command[1:],
                                   env=peso_env(catalog, **env))
    async with stdio_client(params) as streams, \
            ClientSession(streams[0], streams[1]) as session:
        await session.initialize()
        yield session


def payload(result: Any) -> Any:
    """A tool result's JSON: the structured content when given, else the first text block."""
    assert not result.is_error, result.content
    if result.structured_content is not None:
        content = result.structured_content
        return content.get("result", content) if isinstance(content, dict) else content
    return json.loads(result.content[0].text)


def graphql(server: ServerProcess, query: str, token: str) -> Any:
    answer = server.graphql(query, Authorization=f"Bearer {token}").json()
    assert "errors" not in answer, answer
    return answer["data"]


async def test_stdio_lists_read_tools_and_masks_pii_for_a_reader(
        catalog: Path, tokens: dict[str, str]) -> None:
    async with stdio_session(catalog, tokens["reader"]) as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
        assert names >= READ_TOOLS
        assert not names & WRITE_TOOLS
        rows = json.dumps(payload(await session.call_tool(
            "preview", {"namespace": "crm", "name": "customers", "rows": 5})))
        assert "***" in rows
        assert "@" not in rows


async def test_stdio_refuses_an_unknown_token(catalog: Path) -> None:
    done = run_peso("mcp", "--token", "peso_" + "x" * 40, data_dir=catalog, timeout=60)
    assert done.returncode == 2
    assert "peso mcp:" in done.stderr


async def test_http_answers_match_graphql(server: ServerProcess,
                                          tokens: dict[str, str]) -> None:
    async with http_session(server, tokens["reader"]) as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
        assert names >= READ_TOOLS | WRITE_TOOLS  # PESO_MCP_WRITES=true on this server
        got = payload(await session.call_tool("get_dataset",
                                              {"namespace": "crm", "name": "customers"}))
        found = payload(await session.call_tool("search_datasets", {"query": "customers"}))
    want = graphql(server, '{ dataset(namespace: "crm", name: "customers") '
                           '{ id namespace name description } }', tokens["reader"])["dataset"]
    dataset = got.get("dataset", got)
    assert {k: dataset[k] for k in want} == want
    assert "crm" in json.dumps(found)
    assert "customers" in json.dumps(found)


async def test_http_pii_token_sees_values_reader_does_not(server: ServerProcess,
                                                          tokens: dict[str, str]) -> None:
    args = {"namespace": "crm", "name": "customers", "rows": 5}
    async with http_session(server, tokens["pii"]) as session:
        clear = json.dumps(payload(await session.call_tool("preview", args)))
    async with http_session(server, tokens["reader"]) as session:
        masked = json.dumps(payload(await session.call_tool("preview", args)))
    assert "@" in clear
    assert "@" not in masked


async def test_http_refuses_bad_tokens_and_reader_writes(server: ServerProcess,
                                                         tokens: dict[str, str]) -> None:
    refused = server.get("/mcp", Authorization="Bearer peso_" + "y" * 40)
    assert refused.status == 401
    async with http_session(server, tokens["reader"]) as session:
        result = await session.call_tool("add_tag", {"namespace": "crm", "name": "customers",
                                                     "tag": "from-mcp"})
        assert result.is_error  # the mutation behind the tool demands the writer role
        bad = await session.call_tool("get_dataset", {"namespace": "crm", "name": "nope"})
        assert bad.is_error
        assert "not found" in json.dumps(
            [c.model_dump() for c in bad.content])
    async with http_session(server, tokens["writer"]) as session:
        tagged = payload(await session.call_tool(
            "add_tag", {"namespace": "crm", "name": "customers", "tag": "from-mcp"}))
    assert "from-mcp" in json.dumps(tagged)
    data = graphql(server, '{ dataset(namespace: "crm", name: "customers") { tags { name } } }',
                   tokens["reader"])
    assert "from-mcp" in {t["name"] for t in data["dataset"]["tags"]}


async def test_catalog_health_is_the_graphql_report(server: ServerProcess,
                                                   tokens: dict[str, str]) -> None:
    async with http_session(server, tokens["reader"]) as session:
        got = payload(await session.call_tool("catalog_health", {}))
        bad = await session.call_tool("catalog_health", {"date": "not-a-date"})
    want = graphql(server, "{ catalogHealth { date staleDays counts { datasets versions stale "
                           "withoutOwner } datasetsByLayer } }", tokens["reader"])["catalogHealth"]
    assert got["date"] == want["date"]
    assert got["counts"]["datasets"] == want["counts"]["datasets"] > 0
    assert {k: got["counts"][k] for k in want["counts"]} == want["counts"]
    assert got["datasetsByLayer"] == want["datasetsByLayer"]
    assert bad.is_error
    assert "date" in bad.content[0].text


ENRICH = """mutation { enrichDataset(namespace: "crm", name: "customers") {
  report { created skipped } errors { message } } }"""


async def test_suggestions_listed_accepted_and_rejected(server: ServerProcess,
                                                        tokens: dict[str, str]) -> None:
    first = graphql(server, ENRICH, tokens["writer"])["enrichDataset"]
    assert first["errors"] == []
    assert first["report"]["created"] > 2
    ref = {"namespace": "crm", "name": "customers"}
    async with http_session(server, tokens["reader"]) as session:
        listed = payload(await session.call_tool("list_suggestions", ref))
        typed = payload(await session.call_tool("list_suggestions",
                                                {**ref, "kind": "SEMANTIC_TYPE"}))
        half = await session.call_tool("list_suggestions", {"namespace": "crm"})
        column = next(s for s in typed["suggestions"] if s["target"] == "customer_id")
        refused = await session.call_tool("accept_suggestion", {"id": column["id"]})
    assert listed["totalCount"] == first["report"]["created"]
    assert {s["dataset"]["name"] for s in listed["suggestions"]} == {"customers"}
    assert {s["kind"] for s in typed["suggestions"]} == {"SEMANTIC_TYPE"}
    assert column["value"] == {"semantic_type": "customer_id", "pii": True}
    assert half.is_error
    assert refused.is_error   # the mutation behind the tool demands the writer role
    assert "writer" in refused.content[0].text

    tag = next(s for s in listed["suggestions"] if s["kind"] == "TAG")
    async with http_session(server, tokens["writer"]) as session:
        accepted = payload(await session.call_tool("accept_suggestion", {"id": column["id"]}))
        rejected = payload(await session.call_tool("reject_suggestion",
                                                   {"id": tag["id"], "reason": "too vague"}))
        twice = await session.call_tool("reject_suggestion", {"id": tag["id"]})
        gone = payload(await session.call_tool("list_suggestions",
                                               {**ref, "status": "REJECTED"}))
    assert accepted["applied"] is True
    assert accepted["suggestion"]["status"] == "ACCEPTED"
    assert accepted["suggestion"]["decidedBy"] == "mcp-writer"
    assert (rejected["applied"], rejected["suggestion"]["note"]) == (False, "too vague")
    assert twice.is_error
    assert "not pending" in twice.content[0].text
    assert [s["id"] for s in gone["suggestions"]] == [tag["id"]]
    fields = graphql(server, '{ dataset(namespace: "crm", name: "customers") { latestVersion '
                             '{ fields { name semanticType pii } } } }', tokens["reader"])
    by_name = {f["name"]: f for f in fields["dataset"]["latestVersion"]["fields"]}
    assert (by_name["customer_id"]["semanticType"], by_name["customer_id"]["pii"]) == (
        "customer_id", True)
    again = graphql(server, ENRICH, tokens["writer"])["enrichDataset"]["report"]
    assert again["created"] == 0   # the rejected tag is not proposed again
