"""Read a bounded row sample of a curated Parquet object (the first ``max_rows`` rows, only
the columns asked for), so enrichment of a large version costs a bounded amount of memory."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs
import pyarrow.parquet as pq

from server.collect.parts import is_folder_key
from server.errors import LoadError
from server.storage.objects import ObjectStore

BATCH_ROWS = 65_536


def read_sample(objects: ObjectStore, key: str, *, max_rows: int,
                columns: list[str] | None = None) -> tuple[pa.Table, int]:
    """``(table of at most max_rows rows, the object's total row count)``."""
    fs, base = objects.arrow_filesystem()
    if is_folder_key(key):
        return _folder_sample(fs, base + key, max_rows, columns)
    try:
        with fs.open_input_file(base + key) as fh:
            pf = pq.ParquetFile(fh)
            total = pf.metadata.num_rows
            wanted = None if columns is None else [
                c for c in columns if c in pf.schema_arrow.names]
            batches: list[pa.RecordBatch] = []
            taken = 0
            for batch in pf.iter_batches(batch_size=min(BATCH_ROWS, max_rows),
                                         columns=wanted):
                if taken + batch.num_rows > max_rows:
                    batch = batch.slice(0, max_rows - taken)
                batches.append(batch)
                taken += batch.num_rows
                if taken >= max_rows:
                    break
            schema = pf.schema_arrow if wanted is None else pa.schema(
                [pf.schema_arrow.field(c) for c in wanted])
            return pa.Table.from_batches(batches, schema=schema), total
    except (pa.ArrowException, OSError) as exc:
        raise LoadError(f"cannot read curated data {key} for enrichment: {exc}") from exc


def _folder_sample(fs: pa.fs.FileSystem, path: str, max_rows: int,
                   columns: list[str] | None) -> tuple[pa.Table, int]:
    """The first ``max_rows`` rows of a folder of Parquet parts (a collected dataset)."""
    try:
        dataset = ds.dataset(path, filesystem=fs, format="parquet")
        wanted = None if columns is None else [c for c in columns if c in dataset.schema.names]
        table = dataset.head(max_rows, columns=wanted)
        total = sum(f.metadata.num_rows for f in dataset.get_fragments())
        return table, total
    except (pa.ArrowException, OSError) as exc:
        raise LoadError(f"cannot read collected data {path} for enrichment: {exc}") from exc
