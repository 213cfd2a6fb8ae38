"""loaders.profile: exact statistics on small tables, batch-merge invariance (examples and
hypothesis properties), approximate distinct counts, bounded state, JSON-ready output."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loaders.profile import KMV_K, Profiler, hash_values, json_value, kmv_estimate, kmv_merge

MEAN = "mean"


def profile(table: pa.Table, *, batch_rows: int | None = None, **kwargs: Any) -> dict[str, Any]:
    profiler = Profiler(table.schema, **kwargs)
    for batch in table.to_batches(max_chunksize=batch_rows):
        profiler.update(batch)
    result = profiler.result()
    json.dumps(result, allow_nan=False)  # JSON-ready: no NaN/inf, no dates, no Decimals
    return result


def without_mean(stats: dict[str, Any]) -> dict[str, Any]:
    return {name: {k: v for k, v in col.items() if k != MEAN} for name, col in stats.items()}


def assert_same_profile(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert without_mean(got) == without_mean(want)
    for name, col in want.items():
        if MEAN in col:
            if col[MEAN] is None:
                assert got[name][MEAN] is None
            else:
                assert got[name][MEAN] == pytest.approx(col[MEAN], rel=1e-9, abs=1e-6)


def test_exact_stats_on_a_small_table() -> None:
    table = pa.table({
        "qty": pa.array([3, None, 1, 3, -2], pa.int64()),
        "price": pa.array([1.5, float("nan"), None, -0.0, 2.5]),
        "name": pa.array(["bé", "a", None, "ccc", "a"]),
        "opted_in": pa.array([True, False, None, True, True]),
        "day": pa.array([dt.date(2024, 3, 1), None, dt.date(2023, 12, 31), None, None]),
        "at": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5), None, None, None,
                        dt.datetime(2020, 5, 6)], pa.timestamp("us", "UTC")),
    })
    stats = profile(table)
    assert stats["qty"] == {
        "count": 5, "null_count": 1, "distinct_count": 3, "distinct_approximate": False,
        "min": -2, "max": 3, "mean": 1.25,
        "top_values": [{"value": 3, "count": 2}, {"value": -2, "count": 1},
                       {"value": 1, "count": 1}]}
    assert stats["price"] == {
        "count": 5, "null_count": 1, "distinct_count": 4, "distinct_approximate": False,
        "min": 0.0, "max": 2.5, "mean": pytest.approx(4 / 3), "nan_count": 1,
        "top_values": [{"value": 0.0, "count": 1}, {"value": 1.5, "count": 1},
                       {"value": 2.5, "count": 1}, {"value": None, "count": 1}]}  # NaN last
    assert stats["name"] == {
        "count": 5, "null_count": 1, "distinct_count": 3, "distinct_approximate": False,
        "min": "a", "max": "ccc", "min_length": 1, "max_length": 3,
        "top_values": [{"value": "a", "count": 2}, {"value": "bé", "count": 1},
                       {"value": "ccc", "count": 1}]}
    assert stats["opted_in"]["min"] is False
    assert stats["opted_in"]["max"] is True
    assert stats["opted_in"]["top_values"] == [{"value": True, "count": 3},
                                               {"value": False, "count": 1}]
    assert "mean" not in stats["opted_in"]
    assert "min_length" not in stats["opted_in"]
    assert (stats["day"]["min"], stats["day"]["max"]) == ("2023-12-31", "2024-03-01")
    assert stats["day"]["null_count"] == 3
    assert stats["day"]["distinct_count"] == 2
    assert stats["at"]["min"] == "2020-05-06T00:00:00+00:00"
    assert stats["at"]["max"] == "2024-01-02T03:04:05+00:00"


def test_all_null_columns_and_an_empty_table() -> None:
    table = pa.table({"s": pa.array([None, None], pa.string()), "n": pa.nulls(2),
                      "f": pa.array([None, None], pa.float64())})
    stats = profile(table)
    for name in ("s", "n", "f"):
        assert stats[name]["count"] == 2
        assert stats[name]["null_count"] == 2
        assert stats[name]["distinct_count"] == 0
        assert stats[name]["top_values"] == []
        assert stats[name]["min"] is None
        assert stats[name]["max"] is None
    assert stats["s"]["min_length"] is None
    assert stats["f"]["mean"] is None
    empty: dict[str, Any] = {"count": 0, "null_count": 0, "distinct_count": 0,
                             "distinct_approximate": False, "min": None, "max": None,
                             "top_values": []}
    never_fed = Profiler(table.schema).result()
    assert never_fed["n"] == empty
    assert never_fed["s"] == {**empty, "min_length": None, "max_length": None}
    assert never_fed["f"] == {**empty, "mean": None, "nan_count": 0}
    assert profile(table.slice(0, 0)) == never_fed


def test_float_edge_values_are_json_safe() -> None:
    table = pa.table({"x": pa.array([float("nan"), float("inf"), -1.0, None])})
    stats = profile(table)["x"]
    assert stats["max"] is None
    assert stats["min"] == -1.0
    assert stats["mean"] is None
    assert stats["nan_count"] == 1
    only_nan = profile(pa.table({"x": pa.array([float("nan")] * 3)}))["x"]
    assert only_nan["min"] is None
    assert only_nan["distinct_count"] == 1
    assert only_nan["top_values"] == [{"value": None, "count": 3}]


def test_int_mean_is_exact_and_survives_overflow() -> None:
    big = 2**62
    stats = profile(pa.table({"x": pa.array([big, big, big, big + 1], pa.int64())}))["x"]
    assert stats["mean"] == pytest.approx(big)  # the sum would wrap int64
    odd = profile(pa.table({"x": pa.array([10**15 + 1, 10**15 + 2], pa.int64())}))["x"]
    assert odd["mean"] == (2 * 10**15 + 3) / 2


def test_json_values_of_other_types() -> None:
    assert json_value(pa.scalar(Decimal("12.30"), pa.decimal128(6, 2))) == "12.30"
    assert json_value(pa.scalar(b"\x01\xff")) == "01ff"
    assert json_value(pa.scalar(-1, pa.timestamp("ns"))) == "1969-12-31T23:59:59.999999999"
    assert json_value(pa.scalar(dt.time(1, 2, 3))) == "01:02:03"
    assert json_value(pa.scalar(1_500_000, pa.duration("us"))) == 1.5
    dec = profile(pa.table({"d": pa.array([Decimal("1.10"), Decimal("2.20")],
                                          pa.decimal128(5, 2))}))["d"]
    assert (dec["min"], dec["max"], dec["mean"]) == ("1.10", "2.20", pytest.approx(1.65))
    nested = profile(pa.table({"l": pa.array([[1], None, []])}))["l"]
    assert nested["count"] == 3
    assert nested["null_count"] == 1
    assert nested["distinct_count"] is None
    assert "top_values" not in nested


def test_batches_merge_to_the_whole_table_profile() -> None:
    n = 5_000
    idx = pa.array(range(n), pa.int64())
    table = pa.table({
        "id": idx,
        "mod7": pc.if_else(pc.equal(pc.bit_wise_and(idx, 15), 0), None, pc.bit_wise_and(idx, 7)),
        "ratio": pc.divide(pc.cast(idx, pa.float64()), 7.0),
        "code": pc.binary_join_element_wise("c-", pc.cast(pc.bit_wise_and(idx, 63), pa.string()),
                                            ""),
        "day": pc.cast(pc.bit_wise_and(idx, 255), pa.int32()).view(pa.date32()),
    })
    whole = profile(table)
    for batch_rows in (7, 50, 100, 999, 4_096):
        assert_same_profile(profile(table, batch_rows=batch_rows), whole)
    assert "top_values" not in whole["code"]  # 64 distinct > low_cardinality
    assert whole["mod7"]["distinct_count"] == 8
    assert len(whole["mod7"]["top_values"]) == 8


def test_top_values_only_while_low_cardinality() -> None:
    def column(distinct: int) -> pa.Table:
        return pa.table({"v": pa.array([i % distinct for i in range(1_000)], pa.int64())})

    at_limit = profile(column(50), batch_rows=64)["v"]
    assert at_limit["distinct_count"] == 50
    assert len(at_limit["top_values"]) == 10
    assert at_limit["top_values"][0] == {"value": 0, "count": 20}  # ties: value ascending
    assert "top_values" not in profile(column(51), batch_rows=64)["v"]
    assert len(profile(column(5), top_k=3)["v"]["top_values"]) == 3
    assert "top_values" not in profile(column(5), low_cardinality=4)["v"]


@pytest.mark.parametrize("kind", ["int", "string"])
def test_approximate_distinct_on_200k_values(kind: str) -> None:
    n = 200_000
    idx = pa.array(range(n), pa.int64())
    values = pc.multiply(idx, 7919) if kind == "int" else pc.binary_join_element_wise(
        "cust-", pc.cast(idx, pa.string()), "@example.org", "")
    table = pa.table({"v": pa.concat_arrays([values, values.slice(0, n // 4)])})  # repeats
    stats = profile(table, batch_rows=65_536)["v"]
    assert stats["distinct_approximate"] is True
    assert abs(stats["distinct_count"] - n) / n < 0.05
    assert profile(table, batch_rows=9_999)["v"] == stats  # the sketch ignores batching
    exact = profile(table.slice(0, 9_000), batch_rows=4_000)["v"]
    assert exact == {**exact, "distinct_count": 9_000, "distinct_approximate": False}


def test_state_stays_bounded() -> None:
    idx = pa.array(range(300_000), pa.int64())
    profiler = Profiler(pa.schema([("v", pa.int64())]), exact_distinct_cap=1_000,
                        sample_size=7)
    for batch in pa.table({"v": idx}).to_batches(max_chunksize=10_000):
        profiler.update(batch)
        [col] = profiler._columns
        assert col.uniques is None or len(col.uniques) <= 1_000
        assert col.sketch is None or len(col.sketch) <= KMV_K
    assert col.counts is None
    assert col.uniques is None
    assert profiler.samples() == {"v": list(range(7))}


def test_samples_are_distinct_first_seen_values() -> None:
    table = pa.table({"c": pa.array(["b", None, "a", "b", "c", "a", "d"]),
                      "t": pa.array([1, 2, None, 4, 5, 6, 7], pa.timestamp("ns"))})
    profiler = Profiler(table.schema, sample_size=3)
    for batch in table.to_batches(max_chunksize=2):
        profiler.update(batch)
    samples = profiler.samples()
    assert samples["c"] == ["b", "a", "c"]
    assert all(isinstance(v, dt.datetime) for v in samples["t"])


def test_rejects_batches_that_do_not_fit_the_schema() -> None:
    profiler = Profiler(pa.schema([("a", pa.int64())]))
    with pytest.raises(ValueError, match="no column 'a'"):
        profiler.update(pa.record_batch({"b": pa.array([1])}))
    with pytest.raises(ValueError, match="expected int64"):
        profiler.update(pa.record_batch({"a": pa.array(["x"])}))
    with pytest.raises(ValueError, match="low_cardinality"):
        Profiler(pa.schema([]), low_cardinality=10, exact_distinct_cap=5)


def test_dictionary_columns_profile_like_their_values() -> None:
    plain = pa.table({"c": pa.array(["x", "y", None, "x"])})
    encoded = pa.table({"c": plain.column("c").dictionary_encode()})
    profiler = Profiler(plain.schema)
    profiler.update(encoded)
    assert profiler.result() == profile(plain)


def test_hashes_depend_on_values_only() -> None:
    strings = pa.array(["", "a", "ab", "ba", "a\x00", "\x00a", "ab", None])
    hashes = hash_values(strings.drop_null()).to_pylist()
    assert hashes[2] == hashes[6]
    assert len(set(hashes)) == 6
    assert hash_values(strings.slice(2, 3)).to_pylist() == hashes[2:5]
    floats = hash_values(pa.array([0.0, float("nan"), 1.0])).to_pylist()
    assert len(set(floats)) == 3
    sketch = kmv_merge(None, hash_values(pa.array(range(100), pa.int64())), k=16)
    assert len(sketch) == 16
    assert sketch.to_pylist() == sorted(sketch.to_pylist())
    assert kmv_estimate(kmv_merge(None, hash_values(pa.array([1, 2, 3]))), k=16) == 3


@given(st.lists(st.lists(st.integers(min_value=0, max_value=200), max_size=60), max_size=8),
       st.sampled_from([1, 4, 16, 64]))
def test_a_sketch_keeps_the_k_smallest_distinct_hashes_whatever_the_batches(
        batches: list[list[int]], k: int) -> None:
    """kmv_merge against its definition, batch after batch: a batch of more than k values,
    of fewer, repeats, values already in the sketch, none below its largest."""
    sketch, seen = None, set()
    for batch in batches:
        sketch = kmv_merge(sketch, pa.array(batch, pa.uint64()), k=k)
        seen.update(batch)
        assert sketch.to_pylist() == sorted(seen)[:k]
        assert sketch.type == pa.uint64()


# --- hypothesis: any split into batches gives the profile of the concatenated table ---------

# means are compared approximately, so keep float sums away from overflow and cancellation
floats = st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6),
                   st.sampled_from([math.nan, -math.nan, math.inf, -math.inf, -0.0, 5e-324]))
ints = st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1))
small_ints = st.one_of(st.none(), st.integers(min_value=-5, max_value=5))
texts = st.one_of(st.none(), st.text(max_size=6), st.sampled_from(["a", "b", "é"]))


@st.composite
def tables_and_cuts(draw: st.DrawFn) -> tuple[pa.Table, list[int]]:
    n = draw(st.integers(min_value=0, max_value=60))
    columns = {
        "i": pa.array(draw(st.lists(ints, min_size=n, max_size=n)), pa.int64()),
        "k": pa.array(draw(st.lists(small_ints, min_size=n, max_size=n)), pa.int64()),
        "f": pa.array(draw(st.lists(floats, min_size=n, max_size=n)), pa.float64()),
        "s": pa.array(draw(st.lists(texts, min_size=n, max_size=n)), pa.string()),
    }
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=n), max_size=6)))
    return pa.table(columns), cuts


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables_and_cuts(), st.sampled_from([(50, 10_000), (3, 5), (0, 0)]))
def test_profile_of_batches_equals_profile_of_table(
        drawn: tuple[pa.Table, list[int]], limits: tuple[int, int]) -> None:
    table, cuts = drawn
    low, cap = limits
    kwargs = {"low_cardinality": low, "exact_distinct_cap": cap, "top_k": 4, "sample_size": 5}
    whole = Profiler(table.schema, **kwargs)
    whole.update(table.combine_chunks())
    pieces = Profiler(table.schema, **kwargs)
    bounds = [0, *cuts, table.num_rows]
    for start, stop in itertools.pairwise(bounds):
        pieces.update(table.slice(start, stop - start).combine_chunks())
    assert_same_profile(pieces.result(), whole.result())
    assert pieces.samples() == whole.samples() or _same_with_nan(pieces.samples(),
                                                                 whole.samples())
    stats = whole.result()
    for name in ("i", "k", "f", "s"):
        present = [v for v in table.column(name).to_pylist() if v is not None]
        assert stats[name]["count"] == table.num_rows
        assert stats[name]["null_count"] == table.num_rows - len(present)
        if not stats[name]["distinct_approximate"]:
            canonical = {("nan" if isinstance(v, float) and math.isnan(v) else v + 0.0)
                         if isinstance(v, float) else v for v in present}
            assert stats[name]["distinct_count"] == len(canonical)


def _same_with_nan(a: dict[str, list[Any]], b: dict[str, list[Any]]) -> bool:
    def key(values: list[Any]) -> list[Any]:
        return ["nan" if isinstance(v, float) and math.isnan(v) else v for v in values]

    return all(key(a[name]) == key(b[name]) for name in a)
