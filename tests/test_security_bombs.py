"""Issue 10 item 2: decompression bombs that passed the guards. A tiny Parquet whose
dictionary pages expand far beyond its declared ``total_uncompressed_size`` is refused by what
is actually decoded, batch by batch, before it is decoded."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loaders.readers import decoded_limit_for, open_parquet
from server.errors import LoadError


def parquet_bomb(path: Path, *, rows: int = 2048, width: int = 1 << 20) -> Path:
    """One dictionary value of ``width`` bytes picked by every row: a few KB on disk, about
    ``rows * width`` bytes decoded (2 GiB by default)."""
    column = pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()),
                                            pa.array(["x" * width]))
    pq.write_table(pa.table({"id": list(range(rows)), "blob": column}), path,
                   compression="zstd", row_group_size=rows)
    return path


def test_a_parquet_dictionary_bomb_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    path = parquet_bomb(tmp_path / "bomb.parquet")
    size = path.stat().st_size
    meta = pq.ParquetFile(path).metadata
    declared = sum(meta.row_group(0).column(j).total_uncompressed_size for j in range(2))
    assert size < 64 * 1024  # the old guard (declared sizes) let it through
    assert declared < 64 << 20
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    stream = open_parquet(path, "bomb.parquet")
    with pytest.raises(LoadError) as refused:
        for _ in stream.batches:
            pass
    assert time.monotonic() - started < 10
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert grown_kib < 512 * 1024, f"peak RSS grew {grown_kib} KiB"
    message = str(refused.value)
    assert message.startswith("bomb.parquet: decodes to more than ")
    assert f"{decoded_limit_for(size):,} bytes by batch 1" in message
    assert "decompression bomb" in message


def test_an_honest_dictionary_parquet_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "ok.parquet"
    pq.write_table(pa.table({"id": list(range(100_000)),
                             "city": ["Oslo", "Lima", "Pune", "Kyiv"] * 25_000}), path)
    stream = open_parquet(path, "ok.parquet")
    batches = list(stream.batches)
    assert sum(b.num_rows for b in batches) == 100_000
    assert batches[0].schema.field("city").type == pa.string()  # decoded again for the pipeline
    assert batches[0].column(1)[:4].to_pylist() == ["Oslo", "Lima", "Pune", "Kyiv"]
