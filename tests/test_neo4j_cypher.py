"""The Neo4j store's Cypher, checked without a server (the contract suite runs it for real
when PESO_TEST_NEO4J_URI is set): constant text with $parameters only, labels and relationship
types from the closed enums, builders that format in only closed-map text and validated depths,
Lucene queries that hostile input cannot break."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from server.errors import StoreUnavailableError, ValidationError
from server.models import DatasetSort, Direction
from server.storage.graph import GraphStore
from server.storage.neo4j import cypher, records
from server.storage.neo4j.store import Neo4jGraphStore

MAX = 20
BUILDERS = {"dataset_page", "dataset_count", "lineage_walk", "create_vector_index"}
# cypher.py re-exports the statements of one module per domain (cypher_*.py beside it); the
# checks below read every one of those modules, so a statement not re-exported is still checked
# (and fails test_cypher_re_exports_every_statement)
DOMAINS = [importlib.import_module(f"{cypher.__package__}.{path.stem}")
           for path in sorted(Path(cypher.__file__).parent.glob("cypher_*.py"))]
MODULES = [cypher, *DOMAINS]


def _own_names(module: ModuleType) -> Iterator[tuple[str, object]]:
    """The statements, enums and builders a domain module defines (not what it imports)."""
    for name, value in vars(module).items():
        if name.isupper() or (not name.startswith("_")
                              and getattr(value, "__module__", None) == module.__name__):
            yield name, value


def _constants() -> Iterator[tuple[str, str]]:
    seen: set[str] = set()
    for module in MODULES:
        for name, value in vars(module).items():
            if name in seen:
                continue
            seen.add(name)
            if name.isupper() and isinstance(value, str):
                yield name, value
            elif name.isupper() and isinstance(value, tuple) and all(
                    isinstance(v, str) for v in value):
                yield from ((f"{name}[{i}]", v) for i, v in enumerate(value))


def _built() -> Iterator[tuple[str, str]]:
    for sort in DatasetSort:
        for descending in (False, True):
            for text in (False, True):
                for cursor in (False, True):
                    yield (f"dataset_page({sort}, {descending}, {text}, {cursor})",
                           cypher.dataset_page(sort, descending, text=text, with_cursor=cursor))
    for text in (False, True):
        yield f"dataset_count({text})", cypher.dataset_count(text=text)
    every = list(cypher.DATASET_FILTERS)
    for filters in [[f] for f in every] + [every]:
        for text in (False, True):
            yield (f"dataset_page(NAME, filters={filters}, {text})",
                   cypher.dataset_page(DatasetSort.NAME, False, text=text, with_cursor=True,
                                       filters=filters))
            yield (f"dataset_count({filters}, {text})",
                   cypher.dataset_count(text=text, filters=filters))
    for way in (Direction.UPSTREAM, Direction.DOWNSTREAM):
        for depth in (1, 7, MAX):
            yield f"lineage_walk({way}, {depth})", cypher.lineage_walk(way, depth, MAX)


ALL = [*_constants(), *_built()]
CYPHER = [(name, text) for name, text in ALL if name not in ("SEARCH_INDEX",)]

# what may follow "{" in Cypher: a map key (`k:` or `` `k.x`: ``), a map projection (`.*`),
# a projection of named properties (`{.id, .name}`), or a subquery (EXISTS { MATCH … },
# CALL () { CALL db.index… }).
# "{}", "{name}", "{0}" — Python format fields — may not.
_BRACE_OK = re.compile(r"\{\s*(?:[A-Za-z_]\w*\s*:|`[^`]+`\s*:|\.\*|\.[A-Za-z_]\w*\s*,"
                       r"|MATCH\b|CALL\b|SET\b)")
_LITERALS_OK = {"'audit'", "'search-key'", "'peso_dataset_search'", "'standard-no-stop-words'",
                "'peso_dataset_embedding'"}


def test_there_is_cypher_to_check() -> None:
    assert len(CYPHER) > 60
    assert {m.__name__.rsplit(".", 1)[1] for m in DOMAINS} >= {
        "cypher_schema", "cypher_catalog", "cypher_datasets", "cypher_versions",
        "cypher_transfer"}


def test_cypher_re_exports_every_statement() -> None:
    """Callers write ``cypher.X``: every statement, enum and builder of a domain module is
    reachable there as the same object, and no two domain modules define the same name."""
    owner: dict[str, str] = {}
    for module in DOMAINS:
        for name, value in _own_names(module):
            assert name not in owner, f"{name} is defined in {owner[name]} and {module.__name__}"
            owner[name] = module.__name__
            assert getattr(cypher, name, None) is value, (
                f"{module.__name__}.{name} is not re-exported by {cypher.__name__}")
    assert len(owner) > 80


@pytest.mark.parametrize(("name", "text"), CYPHER, ids=[n for n, _ in CYPHER])
def test_cypher_text_is_constant_with_parameters_only(name: str, text: str) -> None:
    assert text.strip(), name
    # no Python formatting survived: every "{" opens a map, projection or subquery
    for match in re.finditer(r"\{", text):
        assert _BRACE_OK.match(text, match.start()), (name, text[match.start():][:40])
    assert "}" not in re.sub(r"\{[^{}]*\}", "", re.sub(r"\{[^{}]*\}", "", text)), name
    assert not re.search(r"%[sdr(]", text), name
    # balanced brackets: the text parses as far as nesting goes
    for open_, close in ("()", "[]", "{}"):
        assert text.count(open_) == text.count(close), (name, open_)
    # values come in as $parameters; the only quoted literals are fixed names
    assert set(re.findall(r"'[^']*'", text)) <= _LITERALS_OK, name
    assert '"' not in text, name
    for param in re.findall(r"\$(\S*)", text):
        assert re.fullmatch(r"[a-z_][a-z0-9_]*", re.sub(r"[),\]}\s].*$", "", param)), param


@pytest.mark.parametrize(("name", "text"), CYPHER, ids=[n for n, _ in CYPHER])
def test_labels_and_relationship_types_come_from_the_closed_enums(name: str, text: str) -> None:
    labels = set(re.findall(r"\(\s*\w*\s*:\s*(\w+)", text)) | set(re.findall(r"\bn:(\w+)", text))
    rels = set(re.findall(r"\[\s*\w*\s*:\s*(\w+)", text))
    assert labels <= {label.value for label in cypher.Label}, (name, labels)
    assert rels <= {rel.value for rel in cypher.Rel}, (name, rels)


def test_no_fstrings_or_format_calls_outside_the_builders() -> None:
    for module in MODULES:  # cypher.py and every domain module
        tree = ast.parse(inspect.getsource(module))
        allowed: set[int] = set()
        for node in ast.walk(tree):
            # the builders, and validate_depth's error messages
            if isinstance(node, ast.FunctionDef) and node.name in BUILDERS | {"validate_depth"}:
                allowed |= {id(n) for n in ast.walk(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr) or (
                    isinstance(node, ast.Attribute) and node.attr in ("format", "format_map")) or (
                    isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod)):
                assert id(node) in allowed, (module.__name__, ast.unparse(node))


def test_builders_format_in_only_closed_map_text() -> None:
    columns = {c for pair in cypher.SORT_COLUMNS.values() for c in pair}
    assert set(cypher.SORT_COLUMNS) == set(DatasetSort)
    for sort in DatasetSort:
        page = cypher.dataset_page(sort, True, text=False, with_cursor=True)
        a, b = cypher.SORT_COLUMNS[sort]
        assert f"ORDER BY {a} DESC, {b} DESC" in page
        assert f"{a} < $after_a" in page
        assert set(re.findall(r"\bd\.(?:namespace|name|created_at|updated_at|id)\b", page)) \
            >= {a, b} & columns
    assert "queryNodes('peso_dataset_search', $text)" in cypher.dataset_count(text=True)
    assert "$text" not in cypher.dataset_count(text=False)


# --- lineage depth -------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [0, -1, -100, MAX + 1, 10**9, 1.0, 2.5, "3", "1]->(x) //",
                                   None, True, False, [1]])
def test_depth_validation_rejects(depth: object) -> None:
    with pytest.raises(ValidationError, match="lineage depth"):
        cypher.validate_depth(depth, MAX)
    with pytest.raises(ValidationError):
        cypher.lineage_walk(Direction.UPSTREAM, depth, MAX)


@pytest.mark.parametrize("depth", [1, 2, MAX])
def test_depth_validation_accepts_and_formats(depth: int) -> None:
    assert cypher.validate_depth(depth, MAX) == depth
    up = cypher.lineage_walk(Direction.UPSTREAM, depth, MAX)
    down = cypher.lineage_walk(Direction.DOWNSTREAM, depth, MAX)
    assert f"-[:DERIVED_FROM*1..{depth}]->" in up
    assert f"<-[:DERIVED_FROM*1..{depth}]-" in down


@pytest.mark.parametrize("limit", [0, -1, 1.5, True])
def test_a_bad_depth_limit_is_refused(limit: object) -> None:
    with pytest.raises(ValidationError):
        cypher.validate_depth(1, limit)  # type: ignore[arg-type]


def test_both_directions_are_two_walks() -> None:
    with pytest.raises(ValidationError):
        cypher.lineage_walk(Direction.BOTH, 1, MAX)


# --- search --------------------------------------------------------------------------------

HOSTILE = ['"', "*", "NEAR(", "OR", "AND NOT", "-", ":", "'; DROP TABLE x; --", '" OR 1=1 --',
           "(", "name:spend", "\x00", "日本語", "", "x" * 5000, "a\\b", "a/b", "title:[a TO z]",
           "foo~2", "ba?r", "+must -not", "&&||!", "{!lucene}", "^3", "`x`", "$param"]
_CLAUSE = re.compile(r"\+\((?:search_[a-z]+:[^\s\\+\-!():^\[\]\"{}~*?|&/]+\*?\^\d+(?: OR )?)+\)")


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: repr(t[:20]))
def test_lucene_query_from_hostile_text_is_well_formed(text: str) -> None:
    query = records.lucene_query(text)
    if query is None:
        assert not re.search(r"[^\W_]", text)
        return
    clauses = query.split(" +")
    assert len(clauses) <= records.MAX_SEARCH_TOKENS
    for clause in clauses:
        assert _CLAUSE.fullmatch(clause if clause.startswith("+") else "+" + clause), clause
    assert " AND " not in query
    assert " NOT " not in query


def test_lucene_query_requires_every_word_as_a_prefix() -> None:
    query = records.lucene_query("Daily, channel!")
    assert query is not None
    assert query.count("+(") == 2
    assert "search_name:daily*^10" in query
    assert "search_description:channel*^3" in query


def test_lucene_query_searches_an_overlong_word_as_an_exact_term() -> None:
    # a prefix query on it would exceed Lucene's automaton limit (the live server refuses it)
    longest = "y" * records.MAX_PREFIX_WORD_CHARS
    query = records.lucene_query(f"{longest} {longest}z")
    assert query is not None
    assert f"search_name:{longest}*^10" in query
    assert f"search_name:{longest}z^10" in query
    assert f"{longest}z*" not in query


def test_lucene_escape_covers_the_syntax_characters() -> None:
    assert records.lucene_escape('a+b-c!(d):^[e]"f{g}~h*i?j|k&l/m\\n') == (
        'a\\+b\\-c\\!\\(d\\)\\:\\^\\[e\\]\\"f\\{g\\}\\~h\\*i\\?j\\|k\\&l\\/m\\\\n')


def test_search_text_splits_like_the_sqlite_tokenizer() -> None:
    assert records.search_text("ads_spend", None, "lifetime_value", "a-b.c") == (
        "ads spend lifetime value a b c")


# --- the store without a server ------------------------------------------------------------

def test_the_store_implements_the_whole_protocol() -> None:
    wanted = {name for name, _ in inspect.getmembers(GraphStore, inspect.isfunction)
              if not name.startswith("_")}
    have = {name for name in dir(Neo4jGraphStore) if not name.startswith("_")}
    assert wanted <= have, wanted - have


async def test_an_unreachable_server_is_store_unavailable() -> None:
    with socket.socket() as s:  # a port nothing listens on: bound, then released
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = Neo4jGraphStore(f"bolt://127.0.0.1:{port}", user="neo4j", password="secret")
    with pytest.raises(StoreUnavailableError, match="not open"):
        await store.health()
    with pytest.raises(StoreUnavailableError, match="cannot reach Neo4j"):
        await store.open()
    await store.close()


# --- call sites pass exactly the parameters each statement uses ----------------------------

def _call_sites() -> Iterator[tuple[str, str, set[str]]]:
    """(module:line, constant name, keyword names) for every rows/one/run(tx, cypher.X, …)."""
    folder = Path(cypher.__file__).parent
    for path in sorted(folder.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("rows", "one", "run") and len(node.args) >= 2
                    and isinstance(node.args[1], ast.Attribute)
                    and isinstance(node.args[1].value, ast.Name)
                    and node.args[1].value.id == "cypher"):
                assert all(k.arg is not None for k in node.keywords), (
                    f"{path.name}:{node.lineno} passes **params to a constant statement")
                yield (f"{path.name}:{node.lineno}", node.args[1].attr,
                       {k.arg for k in node.keywords if k.arg is not None})


SITES = list(_call_sites())


def _batch_getter_sites() -> Iterator[tuple[str, str, str, str]]:
    """(module:line, module alias, constant, column) for every self._get_by_ids(X.Y, "c", …)."""
    folder = Path(cypher.__file__).parent
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "_get_by_ids"):
                statement, column = node.args[0], node.args[1]
                assert isinstance(statement, ast.Attribute)
                assert isinstance(statement.value, ast.Name)
                assert isinstance(column, ast.Constant)
                yield (f"{path.name}:{node.lineno}", statement.value.id, statement.attr,
                       str(column.value))


BATCH_GETTERS = list(_batch_getter_sites())


def test_every_batch_getter_statement_takes_only_ids_and_returns_its_column() -> None:
    from server.storage.neo4j import lineage_cypher

    modules = {"cypher": cypher, "LC": lineage_cypher}
    assert len(BATCH_GETTERS) >= 6
    for where, alias, name, column in BATCH_GETTERS:
        text = getattr(modules[alias], name)
        assert set(re.findall(r"\$([a-z_][a-z0-9_]*)", text)) == {"ids"}, where
        assert re.search(rf"\bAS {column}\b", text), f"{where}: {name} returns no `{column}`"


def test_there_are_call_sites_to_check() -> None:
    assert len(SITES) > 50


@pytest.mark.parametrize(("where", "name", "given"), SITES, ids=[s[0] for s in SITES])
def test_call_site_parameters_match_the_statement(where: str, name: str,
                                                  given: set[str]) -> None:
    text = getattr(cypher, name)
    used = set(re.findall(r"\$([a-z_][a-z0-9_]*)", text))
    assert given == used, f"{where}: {name} uses {sorted(used)}, the call passes {sorted(given)}"


def test_built_statements_use_only_the_parameters_their_callers_pass() -> None:
    listing = {"namespace", "layer", "source", "tag", "entity_kind", "text", "after_a",
               "after_b", "limit"}
    for name, text in _built():
        used = set(re.findall(r"\$([a-z_][a-z0-9_]*)", text))
        allowed = {"id"} if name.startswith("lineage_walk") else listing
        assert used <= allowed, (name, used - allowed)
