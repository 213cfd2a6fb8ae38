"""Property-based round trips: random tables (integers, floats, booleans, dates, timestamps,
text with Unicode, quotes, delimiters and line breaks, and nulls) written to CSV, JSON and
JSON Lines by the test, loaded through ``load_file``, and the curated Parquet read back equals
the original values after the documented cleaning (text trimmed).

Generators keep inference deterministic: every text value holds a letter no typed pattern
accepts, so a text column is text whatever else it holds; every other kind is written in the
one layout its type is inferred from (``repr`` floats, ISO dates, ``true``/``false``). A column
with no value at all is text. Small batches make later batches type empty columns and read
again, so the widening path is exercised too.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loaders.options import LoadOptions, ReadOptions
from tests.loaders_support import Stores, open_stores

ARROW = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "date": pa.date32(),
         "timestamp": pa.timestamp("us"), "text": pa.string()}
NULL_TOKENS = {"", "NA", "N/A", "n/a", "null", "NULL", "-"}

_letters = st.characters(categories=("L",), exclude_characters="eETt")
_anything = st.characters(categories=("L", "M", "N", "P", "S", "Z"),
                          exclude_characters="\u2028\u2029")
_text = st.builds(
    lambda pre, letter, post: pre + letter + post,
    st.text(st.one_of(_anything, st.sampled_from(',;|"\'\n\t ')), max_size=8),
    _letters,
    st.text(st.one_of(_anything, st.sampled_from(',;|"\'\n\t ')), max_size=8),
).filter(lambda s: s.strip().lower() not in ("true", "false", "na", "n/a", "null"))

VALUES = {
    "int": st.integers(-(10**15), 10**15),
    "float": st.floats(allow_nan=False, allow_infinity=False),
    "bool": st.booleans(),
    "date": st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)),
    "timestamp": st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2100, 12, 31)),
    "text": _text,
}


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[Any]]]:
    kinds = draw(st.lists(st.sampled_from(sorted(VALUES)), min_size=1, max_size=5))
    rows = draw(st.integers(0, 40))
    columns = [draw(st.lists(st.none() | VALUES[k], min_size=rows, max_size=rows))
               for k in kinds]
    return kinds, [list(r) for r in zip(*columns, strict=True)] if columns else []


def as_text(value: Any) -> str | None:
    """How the test writes a value as text (CSV cell, JSON string)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def expected(kinds: list[str], rows: list[list[Any]]) -> tuple[list[pa.DataType], list[Any]]:
    """The types and values the curated Parquet must hold (a pure-Python model)."""
    types = [ARROW[k] if any(r[i] is not None for r in rows) else pa.string()
             for i, k in enumerate(kinds)]
    out = []
    for row in rows:
        record = {}
        for i, value in enumerate(row):
            if isinstance(value, str):
                value = value.strip()          # Unicode whitespace, as Arrow trims it
                assert value not in NULL_TOKENS
                assert not re.fullmatch("#{3,}", value)
            if isinstance(value, float) and value == 0:
                value = 0.0                    # -0.0 == 0.0 compares equal anyway
            record[f"col_{i}"] = value
        out.append(record)
    return types, out


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[asyncio.Runner, Stores]]:
    root = tmp_path_factory.mktemp("roundtrip")
    with asyncio.Runner() as runner:
        manager = open_stores(root)
        opened = runner.run(manager.__aenter__())
        try:
            yield runner, opened
        finally:
            runner.run(manager.__aexit__(None, None, None))


def load_back(stores: tuple[asyncio.Runner, Stores], path: Path,
              options: LoadOptions) -> pa.Table:
    runner, s = stores
    result = runner.run(s.load(path, "prop", uuid.uuid4().hex[:12], options=options))
    key = result.curated.version.curated_key
    assert key is not None
    with s.objects.open_read(key) as fh:
        table = pq.read_table(fh)
    path.unlink()
    return table


def check(table: pa.Table, kinds: list[str], rows: list[list[Any]]) -> None:
    types, values = expected(kinds, rows)
    assert table.schema.names == [f"col_{i}" for i in range(len(kinds))]
    assert [f.type for f in table.schema] == types
    assert table.to_pylist() == values


PROPERTY = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPERTY
@given(table=tables(), small_blocks=st.booleans())
def test_csv_round_trip(stores: tuple[asyncio.Runner, Stores],
                        tmp_path_factory: pytest.TempPathFactory,
                        table: tuple[list[str], list[list[Any]]], small_blocks: bool) -> None:
    kinds, rows = table
    path = tmp_path_factory.getbasetemp() / f"{uuid.uuid4().hex}.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([f"Col {i}" for i in range(len(kinds))])
        writer.writerows([[as_text(v) for v in row] for row in rows])
    # the delimiter is forced: sniffing a one-column file of random text is a guess
    read = ReadOptions(delimiter=",", block_bytes=1024 if small_blocks else 1 << 20)
    check(load_back(stores, path, LoadOptions(read=read, allow_empty=True)), kinds, rows)


@PROPERTY
@given(table=tables(), lines=st.booleans(), batch_rows=st.sampled_from([3, 1000]))
def test_json_round_trip(stores: tuple[asyncio.Runner, Stores],
                         tmp_path_factory: pytest.TempPathFactory,
                         table: tuple[list[str], list[list[Any]]], lines: bool,
                         batch_rows: int) -> None:
    kinds, rows = table
    if not rows:
        return      # an empty array or file is refused (covered in test_read_json.py)
    records = [{f"Col {i}": (v if isinstance(v, bool | int | float) or v is None
                             else as_text(v)) for i, v in enumerate(row)} for row in rows]
    path = tmp_path_factory.getbasetemp() / f"{uuid.uuid4().hex}.{'jsonl' if lines else 'json'}"
    text = ("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records) if lines
            else json.dumps(records, ensure_ascii=False, indent=1))
    path.write_text(text, encoding="utf-8")
    table_back = load_back(stores, path, LoadOptions(read=ReadOptions(batch_rows=batch_rows),
                                                     allow_empty=True))
    check(table_back, kinds, rows)


def test_the_model_agrees_on_a_known_table() -> None:
    kinds = ["int", "text", "float"]
    rows = [[1, ' a "b", c\n ', None], [None, "x", -0.0]]
    types, values = expected(kinds, rows)
    assert types == [pa.int64(), pa.string(), pa.float64()]
    assert values == [{"col_0": 1, "col_1": 'a "b", c', "col_2": None},
                      {"col_0": None, "col_1": "x", "col_2": 0.0}]
