"""The Neo4j token and audit-page Cypher (server/storage/neo4j/security.py), checked without a
server (the contract suite runs it for real when PESO_TEST_NEO4J_URI is set): constant text,
values only as $parameters, the right labels, and the methods the protocol asks for."""

from __future__ import annotations

import inspect
import re

import pytest

from server.storage.graph import GraphStore
from server.storage.neo4j import cypher, security
from server.storage.neo4j.store import Neo4jGraphStore

STATEMENTS = {name: value for name, value in vars(security).items()
              if name.isupper() and isinstance(value, str)}


def test_there_are_statements() -> None:
    assert {"SELECT_BY_ID", "CREATE_ROW", "REVOKE", "AUDIT_PAGE", "AUDIT_COUNT"} <= set(
        STATEMENTS)


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_statements_are_parameterised_and_balanced(name: str) -> None:
    text = STATEMENTS[name]
    assert "'" not in text, "no literals: values go in as $parameters"
    assert '"' not in text, "no literals: values go in as $parameters"
    assert not re.search(r"\{\s*\}|\{\d*\}|%s", text), "no Python format fields"
    for opening, closing in ("()", "{}", "[]"):
        assert text.count(opening) == text.count(closing), (name, opening)
    labels = set(re.findall(r":([A-Z][A-Za-z]+)\b", text))
    assert labels <= {cypher.Label.API_TOKEN.value, cypher.Label.AUDIT.value}, labels
    if name != "SELECT_ALL":   # the one statement without a value
        assert re.findall(r"\$(\w+)", text), name


def test_the_schema_has_the_token_constraints() -> None:
    joined = "\n".join(cypher.SCHEMA)
    assert "peso_token_id" in joined
    assert "peso_token_name" in joined
    assert "peso_audit_actor" in joined
    assert "peso_audit_action" in joined


@pytest.mark.parametrize("method", ["create_token", "get_token", "list_tokens", "revoke_token",
                                    "list_audit_page", "append_audit"])
def test_the_neo4j_store_has_the_security_methods(method: str) -> None:
    assert str(inspect.signature(getattr(Neo4jGraphStore, method))) == str(
        inspect.signature(getattr(GraphStore, method)))
