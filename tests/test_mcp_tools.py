"""Every MCP read tool's happy path over streamable HTTP on the demo catalog (crm/customers →
marketing/audience_segments → marketing/campaign_performance), a huge ``max_nodes`` clamped
to PESO_MAX_LINEAGE_NODES, and invalid arguments answered as clear tool errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serverproc import ServerProcess, start_server
from tests.test_mcp import catalog, http_session, payload, tokens  # noqa: F401 - fixtures

CUSTOMERS = {"namespace": "crm", "name": "customers"}


@pytest.fixture(scope="module")
def small_cap(catalog: Path, tokens: dict[str, str]) -> Iterator[ServerProcess]:  # noqa: F811
    proc = start_server(catalog, PESO_MAX_LINEAGE_NODES="3")
    try:
        yield proc
    finally:
        proc.stop()


async def test_every_read_tool_answers(small_cap: ServerProcess,
                                       tokens: dict[str, str]) -> None:  # noqa: F811
    async with http_session(small_cap, tokens["reader"]) as session:
        fields = payload(await session.call_tool("list_schema_fields", CUSTOMERS))
        names = [f["name"] for f in fields.get("fields", fields)]
        assert "customer_id" in names
        lineage = payload(await session.call_tool(
            "get_lineage", {**CUSTOMERS, "direction": "BOTH", "depth": 5,
                            "max_nodes": 10**9}))
        impact = payload(await session.call_tool("impact", {**CUSTOMERS, "max_nodes": 10**9}))
        path = payload(await session.call_tool("get_lineage_path", {
            "from_namespace": "crm", "from_name": "customers",
            "to_namespace": "marketing", "to_name": "campaign_performance"}))
        humans = payload(await session.call_tool("list_entities", {"is_human": True}))
        others = payload(await session.call_tool("list_entities", {"is_human": False}))
    # the walk is clamped to PESO_MAX_LINEAGE_NODES=3 instead of refusing 10**9
    assert lineage["nodesReturned"] <= 3
    assert lineage["truncated"] is True
    downstream = {n["dataset"]["name"] for n in lineage["nodes"]}
    assert "audience_segments" in downstream
    assert impact["entries"]
    assert [d["name"] for d in path["paths"][0]["datasets"]] == [
        "customers", "audience_segments", "campaign_performance"]
    assert humans["entities"]
    assert all(e["isHuman"] for e in humans["entities"])
    assert others["entities"]
    assert not any(e["isHuman"] for e in others["entities"])


@pytest.mark.parametrize(("tool", "arguments", "said"), [
    ("get_lineage", {**CUSTOMERS, "direction": "SIDEWAYS"}, "UPSTREAM, DOWNSTREAM or BOTH"),
    ("get_lineage", {**CUSTOMERS, "depth": "deep"}, "depth"),
    ("list_schema_fields", {"namespace": "crm", "name": "nobody"}, "not found"),
    ("get_lineage_path", {"from_namespace": "crm", "from_name": "customers",
                          "to_namespace": "crm"}, "to_name"),
    ("preview", {**CUSTOMERS, "limit": 10**6}, "limit"),
])
async def test_invalid_arguments_are_clear_tool_errors(
        small_cap: ServerProcess, tokens: dict[str, str],  # noqa: F811
        tool: str, arguments: dict[str, object], said: str) -> None:
    async with http_session(small_cap, tokens["reader"]) as session:
        result = await session.call_tool(tool, arguments)
    assert result.is_error
    text = json.dumps([c.model_dump() for c in result.content])
    assert said in text, text


async def test_a_dataset_document_is_a_resource(small_cap: ServerProcess,
                                                tokens: dict[str, str]) -> None:  # noqa: F811
    async with http_session(small_cap, tokens["reader"]) as session:
        templates = (await session.list_resource_templates()).resource_templates
        read = await session.read_resource("peso://dataset/crm/customers")
    assert [t.uri_template for t in templates] == ["peso://dataset/{namespace}/{name}"]
    [content] = read.contents
    document = json.loads(content.text)  # type: ignore[union-attr]
    assert (document["namespace"], document["name"]) == ("crm", "customers")
    assert "customer_id" in {f["name"] for f in document["latestVersion"]["fields"]}
