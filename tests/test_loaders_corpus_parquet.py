"""Every Parquet file of apache/parquet-testing (shared corpus) through the real pipeline:
it loads — its curated copy holding the same values and types, nested ones included — or it
is refused with a clear LoadError: never a traceback, nothing registered, no object left."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loaders.names import normalize_names
from loaders.options import LoadOptions
from server.errors import LoadError
from tests.conftest import CORPUS, needs_corpus
from tests.loaders_support import Stores, open_stores

pytestmark = needs_corpus

DATA = CORPUS / "parquet" / "data"
BAD = CORPUS / "parquet" / "bad_data"

# what pyarrow itself cannot read, and what the load says instead of a traceback
REFUSED = {
    "incorrect_map_schema.parquet": "Map keys must be annotated as required. (expected a "
                                    "valid Parquet file)",
    # a 4 KB file whose one string chunk inflates to 2 GB: refused from the footer, before
    # pyarrow spends 4 GB of memory and 20 s failing on it
    "large_string_map.brotli.parquet": "its column chunks decompress to 2,147,483,827 bytes "
                                       "from a 4,325-byte file",
    "ARROW-GH-41317.parquet": "columns do not have the same size (corrupt Parquet data)",
    "ARROW-GH-45185.parquet": "The repetition level at the start of a record must be 0 but "
                              "got 1 (corrupt Parquet data)",
    "ARROW-RS-GH-6229-DICTHEADER.parquet": "Invalid column metadata (corrupt file?) (corrupt "
                                           "Parquet data)",
}


def corpus_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.parquet")) if folder.is_dir() else []


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[Stores]:
    async with open_stores(tmp_path) as s:
        yield s


def same(a: pa.ChunkedArray, b: pa.ChunkedArray) -> bool:
    """Equal values (NaN equal to NaN, which Arrow's ``equals`` does not grant)."""
    return a.equals(b) or repr(a.to_pylist()) == repr(b.to_pylist())


def pyarrow_reads(path: Path) -> bool:
    try:
        pq.read_table(path)
    except (pa.ArrowException, OSError):
        return False
    return True


@pytest.mark.parametrize("name", corpus_files(DATA) + [f"bad_data/{n}" for n in
                                                        corpus_files(BAD)])
async def test_parquet_file_loads_or_is_refused_cleanly(stores: Stores, name: str) -> None:
    path = DATA / name if not name.startswith("bad_data/") else BAD / name.split("/")[1]
    basename = path.name
    if basename in REFUSED:
        with pytest.raises(LoadError) as err:
            await stores.load(path, "parquet", "bad")
        assert err.value.message.startswith(f"[read+clean+validate+profile] {path}: ")
        assert REFUSED[basename] in err.value.message
        assert "\n" not in err.value.message
        await stores.assert_nothing_left()
        return

    original = pq.read_table(path)
    if original.num_rows == 0:  # a schema and no rows: refused unless asked for (issue 10)
        with pytest.raises(LoadError, match="holds no data rows"):
            await stores.load(path, "parquet", "empty")
        await stores.assert_nothing_left()
    result = await stores.load(path, "parquet", "ok", options=LoadOptions(allow_empty=True))
    version = result.curated.version
    assert (version.format, version.row_count) == ("parquet", original.num_rows)
    assert version.curated_key is not None
    with stores.objects.open_read(version.curated_key) as fh:
        curated = pq.read_table(fh)
    names = normalize_names(original.schema.names)
    assert curated.schema.names == names
    for i, field in enumerate(original.schema):
        assert curated.schema.field(i).type == field.type, field.name
        assert same(curated.column(i), original.column(i)), field.name
    fields = await stores.fields(result)
    assert [f.arrow_type for f in fields] == [str(f.type) for f in original.schema]
    assert all(f.stats["count"] == original.num_rows for f in fields)


def test_the_refusals_are_exactly_what_pyarrow_cannot_read() -> None:
    bomb = "large_string_map.brotli.parquet"   # pyarrow fails on it too, after 4 GB and 10 s
    unreadable = {p.name for folder in (DATA, BAD) for p in folder.glob("*.parquet")
                  if p.name != bomb and not pyarrow_reads(p)}
    assert unreadable | {bomb} == set(REFUSED)


async def test_nested_types_survive_in_the_curated_parquet(stores: Stores) -> None:
    result = await stores.load(DATA / "nullable.impala.parquet", "parquet", "impala")
    types = await stores.types(result)
    assert types["int_array"] == "list<element: int32>"
    assert types["int_map"] == "map<string, int32 ('int_map')>"
    assert types["nested_struct"].startswith("struct<A: int32, b: list<element: int32>")
    fields = {f.name: f for f in await stores.fields(result)}
    assert fields["int_array"].stats == {"count": 7, "null_count": 4, "distinct_count": None,
                                         "distinct_approximate": False, "min": None,
                                         "max": None}


async def test_float16_columns_are_profiled(stores: Stores) -> None:
    # the bug: Arrow has no min/max/sum kernels for float16, and the profiler crashed with
    # ArrowNotImplementedError (a traceback, an "Unexpected error." over HTTP)
    result = await stores.load(DATA / "float16_nonzeros_and_nans.parquet", "parquet", "f16")
    [x] = await stores.fields(result)
    assert x.arrow_type == "halffloat"
    assert (x.stats["count"], x.stats["nan_count"], x.stats["null_count"]) == (8, 1, 1)
    assert (x.stats["min"], x.stats["max"]) == (-2.0, 2.0)
