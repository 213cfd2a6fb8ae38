"""The Cypher of lineage on Neo4j, checked without a server (the contract suite runs it when
PESO_TEST_NEO4J_URI is set): constant text, values only as $parameters, labels and
relationship types from the closed enums, every call site passing exactly the parameters its
statement uses, and every whole-catalog import statement reading only (and, for lineage, all
of) the fields ``neo4j/transfer.py`` prepares from an exported record."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.storage.neo4j import cypher
from server.storage.neo4j import lineage_cypher as LC
from server.storage.neo4j import transfer as neo4j_transfer
from server.storage.sqlite.store import SQLiteGraphStore
from server.storage.transfer import RECORD_KINDS
from tests.lineage_catalog import built_events
from tests.lineage_events import event

STATEMENTS = [(name, value) for name, value in vars(LC).items()
              if name.isupper() and isinstance(value, str)]
STATEMENTS += [(f"SCHEMA[{i}]", s) for i, s in enumerate(LC.SCHEMA)]
# maps, projections (of all or named properties) and CALL { } subqueries
_BRACE_OK = re.compile(r"\{\s*(?:[A-Za-z_]\w*\s*:|\.[*\w]|WITH\b|MATCH\b|UNWIND\b)")


def test_there_is_cypher_to_check() -> None:
    assert len(STATEMENTS) > 30


@pytest.mark.parametrize(("name", "text"), STATEMENTS, ids=[n for n, _ in STATEMENTS])
def test_constant_text_with_parameters_only(name: str, text: str) -> None:
    for match in re.finditer(r"\{", text):   # no Python format field survived
        assert _BRACE_OK.match(text, match.start()), (name, text[match.start():][:40])
    for open_, close in ("()", "[]", "{}"):
        assert text.count(open_) == text.count(close), (name, open_)
    assert "'" not in text, name      # no literals at all: every value is a parameter
    assert '"' not in text, name
    assert not re.search(r"%[sdr(]", text), name
    for param in re.findall(r"\$(\w+)", text):
        assert re.fullmatch(r"[a-z_][a-z0-9_]*", param), param


@pytest.mark.parametrize(("name", "text"), STATEMENTS, ids=[n for n, _ in STATEMENTS])
def test_labels_and_types_come_from_the_closed_enums(name: str, text: str) -> None:
    labels = set(re.findall(r"\(\s*\w*\s*:\s*(\w+)", text))
    rels = set(re.findall(r"\[\s*\w*\s*:\s*(\w+)", text)) | set(re.findall(r"\|(\w+)\]", text))
    assert labels <= {label.value for label in LC.Label}, (name, labels)
    assert rels <= {rel.value for rel in LC.Rel}, (name, rels)


def test_the_module_formats_nothing() -> None:
    tree = ast.parse(Path(LC.__file__).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        assert not isinstance(node, ast.JoinedStr), ast.unparse(node)
        assert not (isinstance(node, ast.Attribute) and node.attr in ("format", "format_map"))
        assert not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod))


def _sites() -> Iterator[tuple[str, str, set[str] | None]]:
    """(where, statement, keyword names) for rows/one/run/single(tx, LC.X, …); None for
    **params."""
    folder = Path(LC.__file__).parent
    for path in (folder / "lineage.py", folder / "lineage_apply.py", folder / "transfer.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("rows", "one", "run", "single") and len(node.args) >= 2):
                continue
            targets = [node.args[1]]
            if isinstance(node.args[1], ast.IfExp):
                targets = [node.args[1].body, node.args[1].orelse]
            for target in targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                        and target.value.id == "LC":
                    names = {k.arg for k in node.keywords if k.arg is not None}
                    spread = any(k.arg is None for k in node.keywords)
                    yield f"{path.name}:{node.lineno}", target.attr, None if spread else names


SITES = list(_sites())


def test_there_are_call_sites() -> None:
    assert len(SITES) > 25


@pytest.mark.parametrize(("where", "name", "given"), SITES, ids=[s[0] for s in SITES])
def test_call_sites_pass_the_statement_parameters(where: str, name: str,
                                                  given: set[str] | None) -> None:
    used = set(re.findall(r"\$([a-z_][a-z0-9_]*)", getattr(LC, name)))
    if given is None:   # **params: checked by the statement's own test below
        assert used, where
        return
    assert given == used, f"{where}: {name} uses {sorted(used)}, the call passes {sorted(given)}"


def test_spread_parameters_match_too() -> None:
    ident = {"down", "up", "down_field", "up_field", "ttype", "tsubtype"}
    assert set(re.findall(r"\$(\w+)", LC.COLUMN_GET)) == ident
    assert set(re.findall(r"\$(\w+)", LC.COLUMN_CREATE)) == ident | {
        "description", "masking", "job_id", "run_id", "now"}
    assert set(re.findall(r"\$(\w+)", LC.COLUMN_UPDATE)) == ident | {
        "description", "masking", "job_id", "run_id"}
    # a run's rows (lineage_apply.Batch.ensure_run: run_after's keys, id and now)
    run_fields = {"id", "state", "state_time", "started_at", "ended_at", "error_message",
                  "nominal_start", "nominal_end", "parent_run_id", "facets", "now"}
    runs_new, runs_set = (re.search(r"UNWIND \$batch\." + name + r" AS row(.*?)\n\}",
                                    LC.BATCH_WRITE, re.S) for name in ("runs_new", "runs_set"))
    assert runs_new is not None
    assert runs_set is not None
    assert set(re.findall(r"\brow\.(\w+)", runs_set.group(1))) == run_fields
    assert set(re.findall(r"\brow\.(\w+)", runs_new.group(1))) == run_fields | {"job_id"}


def test_the_batch_map_holds_what_the_batch_statements_read() -> None:
    """BATCH_LOOKUP and BATCH_WRITE take their lists in one map, $batch (one plan for every
    batch size): the map lineage_apply builds has exactly the entries each reads."""
    from server.storage.neo4j import lineage_apply

    assert set(re.findall(r"\$batch\.(\w+)", LC.BATCH_WRITE)) == {*lineage_apply._WRITES,
                                                                   "audits"}
    tree = ast.parse(Path(lineage_apply.__file__).read_text(encoding="utf-8"))
    [call] = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
              and any(isinstance(a, ast.Attribute) and a.attr == "BATCH_LOOKUP"
                      for a in node.args)]
    [given] = [k.value for k in call.keywords if k.arg == "batch"]
    assert isinstance(given, ast.Dict)
    assert {ast.literal_eval(k) for k in given.keys if k is not None} == set(
        re.findall(r"\$batch\.(\w+)", LC.BATCH_LOOKUP))


def test_the_statements_planned_ahead_take_the_parameters_of_their_call_sites() -> None:
    """lineage_apply.PLANNED_AHEAD (EXPLAINed at open) names each statement's parameters,
    with values of the types a batch passes (the plan cache keys on them)."""
    from server.storage.neo4j import lineage_apply

    planned = dict(lineage_apply.PLANNED_AHEAD)
    assert set(planned) == {LC.BATCH_LOOKUP, LC.BATCH_WRITE}
    for statement, params in planned.items():
        assert set(params) == set(re.findall(r"\$([a-z_][a-z0-9_]*)", statement))
        assert isinstance(params["batch"], dict)
        assert all(isinstance(v, str) for k, v in params.items() if k != "batch")


# --- whole-catalog export/import (neo4j/transfer.py) --------------------------------------

TRANSFER = [(name, text) for name, text in STATEMENTS
            if name.startswith(("EXPORT_", "IMPORT_")) or name == "NO_LINEAGE"]


def test_every_transfer_statement_is_used_and_takes_rows_only() -> None:
    source = Path(neo4j_transfer.__file__).read_text(encoding="utf-8")
    assert len(TRANSFER) >= 18
    for name, text in TRANSFER:
        assert f"LC.{name}" in source, f"{name} is not used by neo4j/transfer.py"
        used = set(re.findall(r"\$(\w+)", text))
        assert used == ({"rows"} if name.startswith("IMPORT_") else set()), (name, used)


def _statements_by_kind() -> Iterator[tuple[str, str, str]]:
    """(kind, statement name, text) for every UNWIND $rows import of a record kind."""
    names = {id(value): name for name, value in [*vars(LC).items(), *vars(cypher).items()]
             if name.isupper() and isinstance(value, str)}
    for kind, text in neo4j_transfer._COUNTED.items():
        yield kind, names[id(text)], text
    for kind, by_role in neo4j_transfer._BY_ROLE.items():
        for text in by_role.values():
            yield kind, names[id(text)], text


async def test_import_statements_read_the_fields_the_records_give(tmp_path: Path) -> None:
    store = SQLiteGraphStore(str(tmp_path / "catalog.db"))
    await store.open()
    try:
        for raw in built_events():
            await store.ingest_lineage_event(event(raw), actor="test")
        exported = [r async for r in store.export_records()]
    finally:
        await store.close()
    sample = {r["record"]: r for r in exported}
    checked: set[str] = set()
    for kind, name, text in _statements_by_kind():
        if kind not in sample:   # a catalog kind these events do not make (source, …)
            continue
        prepared = set(neo4j_transfer._row(kind, sample[kind]))
        used = set(re.findall(r"\brow\.(\w+)", text))
        assert used <= prepared, (name, used - prepared)
        if getattr(LC, name, None) is text:   # lineage: every field is stored
            assert prepared - used <= {"role"}, (name, prepared - used)
        checked.add(kind)
    lineage_kinds = set(RECORD_KINDS[RECORD_KINDS.index("job"):RECORD_KINDS.index("audit")])
    assert lineage_kinds <= checked, lineage_kinds - checked
