"""Column profiles, computed batch by batch with ``pyarrow.compute`` (no Python loop over rows).

``Profiler(schema).update(batch)`` for every cleaned batch, then ``result()``:

    {column: {"count": rows seen (nulls included), "null_count", "distinct_count",
              "distinct_approximate", "min", "max",
              "mean"                      (int, float and decimal columns),
              "nan_count"                 (float columns),
              "min_length", "max_length"  (string and binary columns: characters / bytes),
              "top_values": [{"value", "count"}, ...]  (only while distinct <= low_cardinality)}}

Semantics. Nulls are excluded from everything but ``count`` and ``null_count``. Floats: NaN is
a value (one distinct value, counted in ``nan_count``) but is left out of min, max and mean;
-0.0 is folded into 0.0. ``mean`` of an int column is the exact (Python int) sum divided by
the count (batches whose int64 sum could overflow are summed as decimal128). ``top_values``
holds the ``top_k`` most frequent values (count descending, then value ascending) with exact
counts (a NaN value shows as null); once a column has more than ``low_cardinality`` distinct
values it stops being tracked and the key is left out. Nested types (list, struct, map) only
get ``count`` and ``null_count``; ``distinct_count`` is None.

Distinct counts are exact (a merged ``pc.unique`` set) up to ``exact_distinct_cap`` values (and
``EXACT_MAX_BYTES`` of them); past that, a k-minimum-values sketch (k = ``KMV_K``) over 64-bit
hashes of each batch's values takes over (relative standard error ~1/sqrt(k) = 1.6%) and
``distinct_approximate`` becomes True. (Text is hashed from each batch's distinct values,
which its min/max/lengths use too; fixed-width values are hashed as they are, repeats and
all, which is cheaper than finding them: the sketch keeps distinct hashes either way.)
Hashes are computed with Arrow kernels: splitmix64 over the value bits for fixed-width
types; for strings/binaries a polynomial hash of the bytes mod 2**64 (one prefix sum per
batch, see ``_hash_binary``), then splitmix64.

Memory bound per column, whatever the file size: at most ``exact_distinct_cap`` distinct values
(and at most EXACT_MAX_BYTES of them) or KMV_K x 8 bytes of sketch, plus ``low_cardinality``
(value, count) pairs, ``sample_size`` sample values and a handful of scalars (min/max are one
value each); with the defaults that is <= 10,000 values (<= 16 MiB) or a 32 KiB sketch per
column. Transient memory is O(one batch). Not thread-safe: one Profiler per load.

JSON: ``result()`` is JSON-serialisable: dates/timestamps/times as ISO-8601 strings (ns
timestamps keep 9 digits, ns times are cut to microseconds), durations as seconds, decimals as
strings, binary as hex, NaN/inf as None. ``samples()`` gives up to ``sample_size`` distinct
non-null values per column as Python objects, first seen first (input for
``loaders.semantic.hint``).
"""

from __future__ import annotations

import math
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

KMV_K = 4096
EXACT_MAX_BYTES = 16 << 20
_U64 = pa.uint64()
_INT64_LIMIT = 1 << 63
_R = 0x9E3779B97F4A7C15  # odd, so invertible mod 2**64
_R_INV = pow(_R, -1, 1 << 64)


def _u64(value: int) -> pa.Scalar:
    return pa.scalar(value, _U64)


def mix64(h: pa.Array) -> pa.Array:
    """splitmix64's finaliser over a uint64 array (wrapping arithmetic)."""
    h = pc.add(h, _u64(0x9E3779B97F4A7C15))
    h = pc.multiply(pc.bit_wise_xor(h, pc.shift_right(h, _u64(30))), _u64(0xBF58476D1CE4E5B9))
    h = pc.multiply(pc.bit_wise_xor(h, pc.shift_right(h, _u64(27))), _u64(0x94D049BB133111EB))
    return pc.bit_wise_xor(h, pc.shift_right(h, _u64(31)))


def _hash_binary(arr: pa.Array) -> pa.Array:
    # Polynomial hash h = sum(byte[j] * R**(j - start)) mod 2**64 from one prefix sum over the
    # batch's bytes: segment sums are R**start * h, so multiply by R**(total - start) (a
    # lookup in the same powers array) and by R**-total (one Python scalar per batch).
    arr = arr.cast(pa.large_binary())
    n = len(arr)
    offsets = pa.Array.from_buffers(pa.int64(), n + 1, [None, arr.buffers()[1]],
                                    offset=arr.offset)
    first = offsets[0].as_py()
    total = offsets[n].as_py() - first
    rel = pc.subtract(offsets, first)
    starts, ends = rel.slice(0, n), rel.slice(1)
    lengths = pc.subtract(ends, starts).cast(_U64)
    if total == 0:
        return mix64(lengths)
    data = pa.Array.from_buffers(pa.uint8(), total, [None, arr.buffers()[2]], offset=first)
    powers = _powers(total + 1)
    terms = pc.multiply(data.cast(_U64), powers.slice(0, total))
    prefix = pa.concat_arrays([pa.array([0], _U64), pc.cumulative_sum(terms)])
    sums = pc.subtract(pc.take(prefix, ends), pc.take(prefix, starts))
    shift = pc.take(powers, pc.subtract(total, starts))
    h = pc.multiply(pc.multiply(sums, shift), _u64(pow(_R_INV, total, 1 << 64)))
    return mix64(pc.bit_wise_xor(h, pc.multiply(lengths, _u64(0xD6E8FEB86659FD93))))


_POWERS_CACHED = 1 << 22   # R**0 .. R**(n-1) kept for reuse up to 4M (32 MiB); else made anew
_powers_cache: pa.Array = pa.array([1], _U64)


def _powers(n: int) -> pa.Array:
    """R**0 .. R**(n-1) mod 2**64 (at least n values). Computing them is half the cost of
    hashing a batch of strings, so up to ``_POWERS_CACHED`` are kept between batches."""
    global _powers_cache
    cached = _powers_cache   # one read: another load's thread may replace it meanwhile
    if len(cached) >= n:
        return cached
    size = min(max(n, 2 * len(cached)), _POWERS_CACHED) if n <= _POWERS_CACHED else n
    powers = cached
    while len(powers) < size:   # doubling: R**(k+i) = R**i * R**k, one vectorised multiply
        powers = pa.concat_arrays([powers, pc.multiply(powers, _u64(pow(_R, len(powers),
                                                                        1 << 64)))])
    powers = powers.slice(0, size)
    if size <= _POWERS_CACHED:
        _powers_cache = powers
    return powers


def hash_values(arr: pa.Array) -> pa.Array:
    """64-bit hashes (uint64) of a null-free array; equal values hash equal."""
    t = arr.type
    if pa.types.is_floating(t):
        arr = arr.cast(pa.float64())
        arr = pc.if_else(pc.is_nan(arr), pa.scalar(math.nan), arr)  # one NaN bit pattern
        return mix64(arr.view(_U64))
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return mix64(arr.cast(pa.int64(), safe=False).view(_U64) if t != _U64 else arr)
    if pa.types.is_temporal(t):
        width = pa.int32() if t.bit_width == 32 else pa.int64()
        return mix64(arr.view(width).cast(pa.int64()).view(_U64))
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return _hash_binary(arr)
    return _hash_binary(arr.cast(pa.large_string()))


def kmv_merge(sketch: pa.Array | None, hashes: pa.Array, k: int = KMV_K) -> pa.Array:
    """The k smallest distinct hashes of ``sketch`` and ``hashes``, sorted ascending."""
    if sketch is not None and len(sketch) >= k:
        hashes = hashes.filter(pc.less(hashes, sketch[len(sketch) - 1]))
        if len(hashes) == 0:
            return sketch
    if sketch is None or len(hashes) > k:
        merged = pc.unique(hashes if sketch is None else pa.concat_arrays([sketch, hashes]))
        if len(merged) > k:   # select the k smallest before sorting (not all of a batch's)
            merged = pc.take(merged, pc.bottom_k_unstable(merged, k))
        return pc.take(merged, pc.array_sort_indices(merged))
    # at most 2k values, most of them the sorted sketch: one sort, then ``unique``, which
    # keeps the order it finds (first occurrence), so the result stays sorted — half the
    # work of a hash, a selection and a sort, and what each batch of a long column does
    both = pa.concat_arrays([sketch, hashes])
    merged = pc.unique(pc.take(both, pc.array_sort_indices(both)))
    return merged.slice(0, k) if len(merged) > k else merged


def kmv_estimate(sketch: pa.Array, k: int = KMV_K) -> int:
    if len(sketch) < k:
        return len(sketch)
    kth = (int(sketch[k - 1].as_py()) + 1) / float(1 << 64)
    return round((k - 1) / kth)


def json_value(scalar: pa.Scalar) -> Any:
    """A scalar as a JSON-ready Python value (see the module docstring)."""
    if not scalar.is_valid:
        return None
    t = scalar.type
    if pa.types.is_timestamp(t) and t.unit == "ns":
        micros = pa.scalar(scalar.value // 1000, pa.timestamp("us", t.tz))
        text = micros.as_py().isoformat(timespec="microseconds")
        return f"{text[:26]}{scalar.value % 1000:03d}{text[26:]}"  # keep the nanoseconds
    value = _micro(scalar).as_py()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def _micro(value: Any) -> Any:
    """An ns time/duration/timestamp scalar or array cast to us (``as_py`` needs that)."""
    t = value.type
    if pa.types.is_timestamp(t) and t.unit == "ns":
        return value.cast(pa.timestamp("us", t.tz), safe=False)
    if pa.types.is_time64(t) and t.unit == "ns":
        return value.cast(pa.time64("us"), safe=False)
    if pa.types.is_duration(t) and t.unit == "ns":
        return value.cast(pa.duration("us"), safe=False)
    return value


def _kind(t: pa.DataType) -> str:
    if pa.types.is_null(t):
        return "null"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_decimal(t):
        return "decimal"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "binary"
    if pa.types.is_temporal(t):
        return "temporal"
    return "other"


_COUNTS_PROBE = 1024   # the rows whose distinct values tell a column is past its counts


def _merge_counts(old_values: pa.Array, old_counts: pa.Array, values: pa.Array,
                  counts: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Two (distinct value, count) lists as one (a few dozen values each: a Python loop
    over them is cheaper than a group-by)."""
    where = pc.index_in(values, value_set=old_values)
    fresh = pc.is_null(where)
    merged = old_counts.to_pylist()
    for at, count in zip(where.to_pylist(), counts.to_pylist(), strict=True):
        if at is not None:
            merged[at] += count
    return (pa.concat_arrays([old_values, values.filter(fresh)]),
            pa.concat_arrays([pa.array(merged, pa.int64()), counts.filter(fresh)]))


def _copy(arr: pa.Array, n: int) -> pa.Array:
    """The first n values as a fresh array (does not pin the source batch's buffers)."""
    return pc.take(arr, pa.array(range(min(n, len(arr))), pa.int64()))


class _Column:
    def __init__(self, name: str, t: pa.DataType, profiler: Profiler) -> None:
        self.name, self.p = name, profiler
        self.input_type = t.value_type if pa.types.is_dictionary(t) else t
        # Arrow has no min/max/sum kernels for float16: profile it as float32 (exact widening)
        self.type = pa.float32() if pa.types.is_float16(self.input_type) else self.input_type
        self.kind = _kind(self.type)
        self.count = self.null_count = self.nan_count = self.summed = 0
        self.total: int | float = 0
        self.lo: pa.Scalar | None = None
        self.hi: pa.Scalar | None = None
        self.lengths: tuple[int, int] | None = None
        empty = pa.array([], self.type) if self.kind != "other" else None
        self.counts: tuple[pa.Array, pa.Array] | None = (
            None if empty is None else (empty, pa.array([], pa.int64())))
        self.uniques: pa.Array | None = None
        self.sketch: pa.Array | None = None
        self.sample: pa.Array | None = empty

    def update(self, arr: pa.Array) -> None:
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        if arr.type != self.type:
            arr = arr.cast(self.type)
        self.count += len(arr)
        self.null_count += arr.null_count
        if self.kind in ("null", "other") or arr.null_count == len(arr):
            return
        values = finite = arr.drop_null() if arr.null_count else arr
        if self.kind == "float":
            values = finite = pc.add(values, pa.scalar(0.0, values.type))  # -0.0 -> 0.0
            is_nan = pc.is_nan(values)
            nans = pc.sum(is_nan).as_py() or 0
            self.nan_count += nans
            if nans:  # Arrow's hash kernels tell NaN bit patterns apart: use one
                finite = values.filter(pc.invert(is_nan))
                values = pc.if_else(is_nan, pa.scalar(math.nan, values.type), values)
        if self.kind in ("string", "binary"):
            # min, max and lengths ignore repeats: take them from the batch's distinct values,
            # which counting distinct values computes anyway (fewer, on low-cardinality text)
            uniques = self._distinct(values)
            assert uniques is not None   # text columns always get theirs
            self._extremes(uniques)
            fn = pc.utf8_length if self.kind == "string" else pc.binary_length
            mm = pc.min_max(fn(uniques))
            lo, hi = mm["min"].as_py(), mm["max"].as_py()
            self.lengths = (lo, hi) if self.lengths is None else (
                min(lo, self.lengths[0]), max(hi, self.lengths[1]))
            return
        if len(finite):
            self._extremes(finite)
        self._distinct(values)

    def _extremes(self, values: pa.Array) -> None:
        mm = pc.min_max(values)
        if self.lo is None:
            self.lo, self.hi = mm["min"], mm["max"]
        else:
            both = pc.min_max(pa.array([self.lo, self.hi, mm["min"], mm["max"]], self.type))
            self.lo, self.hi = both["min"], both["max"]
        if self.kind == "int":
            bound = max(abs(mm["min"].as_py()), abs(mm["max"].as_py()))
            exact = bound * len(values) < _INT64_LIMIT
            self.total += (pc.sum(values.cast(pa.int64())).as_py() if exact
                           else int(pc.sum(values.cast(pa.decimal128(38, 0))).as_py()))
        elif self.kind in ("float", "decimal"):
            self.total += pc.sum(values.cast(pa.float64())).as_py()
        self.summed += len(values)

    def _distinct(self, values: pa.Array) -> pa.Array | None:
        """Fold the batch's values into the distinct count; return its distinct values (None
        when nothing needed them: a fixed-width column past its exact counts, whose values
        are then hashed as they are, repeats and all — the sketch keeps distinct hashes)."""
        p = self.p
        wanted = self.kind in ("string", "binary") or (
            self.sample is not None and len(self.sample) < p.sample_size)
        batch_uniques: pa.Array | None = None
        if self.counts is not None:
            old_values, old_counts = self.counts
            if len(values) > _COUNTS_PROBE and len(pc.unique(
                    values.slice(0, _COUNTS_PROBE))) > p.low_cardinality:
                # more distinct values than counts are kept for: they stop here anyway
                batch_uniques = pc.unique(values)
                self.uniques = pc.unique(pa.concat_arrays([old_values, batch_uniques])) \
                    if len(old_values) else batch_uniques
                self.counts = None
            else:
                vc = pc.value_counts(values)
                batch_uniques, batch_counts = vc.field("values"), vc.field("counts")
                if len(old_values) == 0:
                    self.counts = (batch_uniques, batch_counts)
                elif len(batch_uniques) > p.low_cardinality:
                    self.uniques = pc.unique(pa.concat_arrays([old_values, batch_uniques]))
                    self.counts = None
                else:
                    self.counts = _merge_counts(old_values, old_counts, batch_uniques,
                                                batch_counts)
                if self.counts is not None and len(self.counts[0]) > p.low_cardinality:
                    self.uniques, self.counts = self.counts[0], None
        elif self.uniques is not None:
            if wanted:
                batch_uniques = pc.unique(values)
                self.uniques = pc.unique(pa.concat_arrays([self.uniques, batch_uniques]))
            else:   # the same set, one hash pass fewer
                self.uniques = pc.unique(pa.concat_arrays([self.uniques, values]))
        elif wanted:
            batch_uniques = pc.unique(values)
            self.sketch = kmv_merge(self.sketch, hash_values(batch_uniques))
        else:
            self.sketch = kmv_merge(self.sketch, hash_values(values))
        if self.uniques is not None and (len(self.uniques) > p.exact_distinct_cap
                                         or self.uniques.nbytes > EXACT_MAX_BYTES):
            self.sketch = kmv_merge(None, hash_values(self.uniques))
            self.uniques = None
        if self.sample is not None and len(self.sample) < p.sample_size:
            assert batch_uniques is not None   # ``wanted``
            more = pa.concat_arrays([self.sample, _copy(batch_uniques, p.sample_size)])
            self.sample = _copy(pc.unique(more), p.sample_size)
        return batch_uniques

    def distinct(self) -> tuple[int | None, bool]:
        if self.kind == "null":
            return 0, False
        if self.counts is not None:
            return len(self.counts[0]), False
        if self.uniques is not None:
            return len(self.uniques), False
        if self.sketch is not None:
            return kmv_estimate(self.sketch), True
        return None, False

    def result(self) -> dict[str, Any]:
        distinct, approximate = self.distinct()
        out: dict[str, Any] = {
            "count": self.count, "null_count": self.null_count,
            "distinct_count": distinct, "distinct_approximate": approximate,
            "min": None if self.lo is None else json_value(self.lo),
            "max": None if self.hi is None else json_value(self.hi),
        }
        if self.kind in ("int", "float", "decimal"):
            mean = self.total / self.summed if self.summed else None
            out["mean"] = mean if mean is not None and math.isfinite(mean) else None
        if self.kind == "float":
            out["nan_count"] = self.nan_count
        if self.kind in ("string", "binary"):
            out["min_length"], out["max_length"] = self.lengths or (None, None)
        if self.counts is not None:
            table = pa.table({"value": self.counts[0], "count": self.counts[1]})
            top = table.sort_by([("count", "descending"), ("value", "ascending")])
            top = top.slice(0, self.p.top_k)
            out["top_values"] = [{"value": json_value(v), "count": c.as_py()} for v, c in
                                 zip(top.column("value"), top.column("count"), strict=True)]
        elif self.kind == "null":
            out["top_values"] = []
        return out


class Profiler:
    """Per-column statistics of a stream of record batches (see the module docstring)."""

    def __init__(self, schema: pa.Schema, *, top_k: int = 10, low_cardinality: int = 50,
                 exact_distinct_cap: int = 10_000, sample_size: int = 100) -> None:
        if not 0 <= low_cardinality <= exact_distinct_cap:
            raise ValueError("need 0 <= low_cardinality <= exact_distinct_cap")
        self.schema = schema
        self.top_k, self.low_cardinality = top_k, low_cardinality
        self.exact_distinct_cap, self.sample_size = exact_distinct_cap, sample_size
        self.rows = 0
        self._columns = [_Column(f.name, f.type, self) for f in schema]

    def update(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Fold one batch (or a Table, batch by batch) into the profile."""
        if isinstance(batch, pa.Table):
            for b in batch.to_batches():
                self.update(b)
            return
        for col in self._columns:
            index = batch.schema.get_field_index(col.name)
            if index < 0:
                raise ValueError(f"batch has no column {col.name!r}")
            arr = batch.column(index)
            if arr.type != col.input_type and not (pa.types.is_dictionary(arr.type)
                                                   and arr.type.value_type == col.input_type):
                raise ValueError(f"column {col.name!r}: expected {col.input_type}, "
                                 f"got {arr.type}")
            col.update(arr)
        self.rows += batch.num_rows

    def result(self) -> dict[str, dict[str, Any]]:
        """The profile so far: {column name: stats} (JSON-serialisable)."""
        return {col.name: col.result() for col in self._columns}

    def samples(self) -> dict[str, list[Any]]:
        """Up to ``sample_size`` distinct non-null values per column, first seen first."""
        return {col.name: [] if col.sample is None else _micro(col.sample).to_pylist()
                for col in self._columns}
