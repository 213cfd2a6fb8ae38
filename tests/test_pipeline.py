"""loaders.pipeline.load_file on the real stores: a good load, no-op re-runs, new versions,
and bad files that must leave nothing behind."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loaders.pipeline import LoadRequest, LoadResult, load_file
from server.errors import LoadError, NotFoundError, PesoError, ValidationError
from server.models import DatasetFilter, DatasetLayer, Direction, PageRequest
from server.storage.local import LocalObjectStore
from server.storage.sqlite.store import SQLiteGraphStore
from tests.conftest import BANK_CSV, CORPUS, MARKETING, needs_corpus
from tests.helpers import write_csv

Stores = tuple[SQLiteGraphStore, LocalObjectStore, Path]


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[Stores]:
    graph = SQLiteGraphStore(str(tmp_path / "catalog.db"))
    objects = LocalObjectStore(tmp_path / "objects")
    await graph.open()
    objects.open()
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    try:
        yield graph, objects, tmp
    finally:
        objects.close()
        await graph.close()


async def load(stores: Stores, path: Path, name: str = "bank", *,
               source: str | None = None) -> LoadResult:
    graph, objects, tmp = stores
    return await load_file(LoadRequest(path=path, namespace="uci", name=name, source=source),
                           graph=graph, objects=objects, actor="test", tmp_dir=tmp)


def files_under(root: Path) -> list[str]:
    """Every file below ``root`` (temp files included), relative, sorted."""
    return sorted(str(Path(d, f).relative_to(root)) for d, _, fs in os.walk(root) for f in fs)


async def assert_nothing_left(stores: Stores) -> None:
    graph, objects, tmp = stores
    page = await graph.list_datasets(DatasetFilter(), PageRequest(first=10))
    assert page.total == 0
    assert await graph.get_dataset("uci", "bad") is None
    assert await graph.get_dataset("uci", "bad.raw") is None
    assert await graph.list_audit(limit=10) == []
    assert files_under(objects.root) == []
    assert files_under(tmp) == []


# --- a good load ------------------------------------------------------------------------------

@needs_corpus
async def test_load_bank_csv(stores: Stores) -> None:
    graph, objects, _ = stores
    result = await load(stores, BANK_CSV)
    rep = result.report
    assert (rep.created, rep.version, rep.rows_read, rep.rows_written) == (True, 1, 4521, 4521)
    assert rep.bytes_read == BANK_CSV.stat().st_size
    assert rep.dataset == "uci/bank"
    assert all(step.status == "ok" for step in rep.steps)

    curated = result.curated.version
    assert (curated.row_count, curated.format) == (4521, "csv")
    [fields] = await graph.get_fields([curated.id])
    assert len(fields) == 17
    assert [f.name for f in fields][:4] == ["age", "job", "marital", "education"]

    # curated Parquet: opens with pyarrow, same rows and columns
    assert curated.curated_key == rep.curated_key
    assert curated.curated_key is not None
    with objects.open_read(curated.curated_key) as fh:
        pf = pq.ParquetFile(fh)
        assert pf.metadata.num_rows == 4521
        assert pf.schema_arrow.names == [f.name for f in fields]
        assert pf.read(columns=["age"]).column("age").to_pylist()[:3] == [30, 33, 35]
    assert curated.byte_size == objects.stat(curated.curated_key).size  # type: ignore[union-attr]

    # the raw upload, byte for byte
    assert curated.raw_key == f"raw/uci/bank/{curated.id}/uci_bank_marketing__bank.csv"
    with objects.open_read(curated.raw_key) as fh:
        assert fh.read() == BANK_CSV.read_bytes()
    assert sorted(o.key for o in objects.list()) == sorted([curated.raw_key,
                                                            curated.curated_key])

    # the RAW dataset and raw → curated lineage
    raw = await graph.get_dataset("uci", "bank.raw")
    assert raw is not None
    assert raw.layer is DatasetLayer.RAW
    [raw_version] = await graph.get_latest_versions([raw.id])
    assert raw_version is not None
    assert (raw_version.row_count, raw_version.raw_key, raw_version.curated_key) == (
        4521, curated.raw_key, None)
    assert raw_version.byte_size == BANK_CSV.stat().st_size
    assert raw_version.content_hash == curated.content_hash
    lineage = await graph.get_lineage(result.curated.dataset.id, direction=Direction.UPSTREAM,
                                      depth=5)
    assert [(n.dataset.name, n.depth) for n in lineage.nodes] == [("bank.raw", -1), ("bank", 0)]
    [edge] = lineage.edges
    assert (edge.downstream_id, edge.upstream_id) == (result.curated.dataset.id, raw.id)


@needs_corpus
async def test_loading_the_same_file_again_is_a_no_op(stores: Stores, tmp_path: Path) -> None:
    graph, objects, _ = stores
    first = await load(stores, BANK_CSV)
    objects_before = files_under(objects.root)
    audit_before = await graph.list_audit(limit=1000)

    again = await load(stores, BANK_CSV)
    assert again.report.created is False
    assert again.report.version == 1
    assert again.curated.version.id == first.curated.version.id
    assert again.report.rows_written == 0
    # identical content under another file name is the same version too
    renamed = shutil.copy(BANK_CSV, tmp_path / "renamed.csv")
    assert (await load(stores, Path(renamed))).report.created is False

    assert files_under(objects.root) == objects_before
    assert await graph.list_audit(limit=1000) == audit_before
    ds = await graph.get_dataset("uci", "bank")
    raw = await graph.get_dataset("uci", "bank.raw")
    assert ds is not None
    assert raw is not None
    assert [len(v) for v in await graph.list_versions([ds.id, raw.id])] == [1, 1]


@needs_corpus
async def test_a_changed_file_becomes_version_2(stores: Stores, tmp_path: Path) -> None:
    graph, objects, _ = stores
    first = await load(stores, BANK_CSV)
    lines = BANK_CSV.read_bytes().splitlines(keepends=True)
    changed = tmp_path / "bank.csv"
    changed.write_bytes(b"".join(lines[:-10]))          # the last 10 rows are gone

    second = await load(stores, changed)
    assert (second.report.created, second.report.version) == (True, 2)
    assert second.curated.version.row_count == 4511
    assert second.curated.version.content_hash != first.curated.version.content_hash
    ds, raw = second.curated.dataset, await graph.get_dataset("uci", "bank.raw")
    assert raw is not None
    versions, raw_versions = await graph.list_versions([ds.id, raw.id])
    assert [v.version for v in versions] == [2, 1]
    assert [v.row_count for v in raw_versions] == [4511, 4521]
    assert len(list(objects.list())) == 4                 # both versions keep their objects
    lineage = await graph.get_lineage(ds.id, direction=Direction.BOTH, depth=3)
    assert len(lineage.edges) == 1


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _step(result: LoadResult, name: str) -> str | None:
    [step] = [s for s in result.report.steps if s.step == name]
    return step.detail


async def test_a_file_that_cannot_be_unchanged_is_hashed_by_its_raw_copy(
        stores: Stores, tmp_path: Path) -> None:
    """A new dataset, or a file of another size than the latest raw upload, cannot be the
    same content: its hash comes from the raw copy, and is the file's all the same."""
    graph = stores[0]
    path = write_csv(tmp_path / "a.csv", ["id", "v"], [[i, i * 2] for i in range(50)])
    first = await load(stores, path, "sized")
    assert _step(first, "hash") == "with the raw copy: the dataset is new"
    assert first.curated.version.content_hash == _sha256(path)
    raw = await graph.get_dataset("uci", "sized.raw")
    assert raw is not None
    [raw_v] = await graph.get_latest_versions([raw.id])
    assert raw_v is not None
    assert raw_v.content_hash == _sha256(path)

    longer = write_csv(tmp_path / "b.csv", ["id", "v"], [[i, i * 2] for i in range(60)])
    second = await load(stores, longer, "sized")
    assert (second.report.created, second.report.version) == (True, 2)
    detail = _step(second, "hash")
    assert detail is not None
    assert "not the same content" in detail
    assert f"{longer.stat().st_size:,} bytes" in detail
    assert second.curated.version.content_hash == _sha256(longer)


async def test_a_file_of_the_same_size_is_hashed_first_and_compared(
        stores: Stores, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", ["id", "v"], [[i, i * 2] for i in range(50)])
    await load(stores, path, "same")
    again = await load(stores, path, "same")                      # same size, same content
    assert again.report.created is False
    assert _step(again, "hash") is None                            # hashed before the build
    assert _step(again, "check-unchanged") == "identical to version 1: nothing to do"

    flipped = tmp_path / "c.csv"
    flipped.write_bytes(path.read_bytes().replace(b"49,98", b"94,98"))  # same size, not content
    assert flipped.stat().st_size == path.stat().st_size
    changed = await load(stores, flipped, "same")
    assert (changed.report.created, changed.report.version) == (True, 2)
    assert changed.curated.version.content_hash == _sha256(flipped)


async def test_load_parquet_keeps_its_types(stores: Stores, tmp_path: Path) -> None:
    graph, objects, _ = stores
    table = pa.table({"id": pa.array([1, 2, 3], pa.int32()),
                      "name": ["a", "b", None],
                      "at": pa.array([0, 1, 2], pa.timestamp("ms"))})
    pq.write_table(table, tmp_path / "t.parquet")
    result = await load(stores, tmp_path / "t.parquet", "typed")
    assert (result.curated.version.format, result.curated.version.row_count) == ("parquet", 3)
    [fields] = await graph.get_fields([result.curated.version.id])
    assert [(f.name, f.arrow_type) for f in fields] == [
        ("id", "int32"), ("name", "string"), ("at", "timestamp[ms]")]
    key = result.curated.version.curated_key
    assert key is not None
    with objects.open_read(key) as fh:
        assert pq.read_table(fh).equals(table)


# --- bad files leave nothing behind -----------------------------------------------------------

def _empty(tmp: Path) -> Path:
    (tmp / "empty.csv").write_bytes(b"")
    return tmp / "empty.csv"


def _garbage(tmp: Path) -> Path:
    (tmp / "garbage.csv").write_bytes(bytes(range(256)) * 64)
    return tmp / "garbage.csv"


def _truncated_parquet(tmp: Path) -> Path:
    pq.write_table(pa.table({"n": list(range(1000))}), tmp / "whole.parquet")
    data = (tmp / "whole.parquet").read_bytes()
    (tmp / "truncated.parquet").write_bytes(data[: len(data) // 2])
    return tmp / "truncated.parquet"


MADE = {"empty file": (_empty, "empty"), "binary garbage": (_garbage, "binary"),
        "truncated parquet": (_truncated_parquet, "Parquet")}


@pytest.mark.parametrize("case", sorted(MADE))
async def test_bad_made_up_files_are_refused(stores: Stores, tmp_path: Path,
                                             case: str) -> None:
    make, keyword = MADE[case]
    path = make(tmp_path)
    with pytest.raises(LoadError) as err:
        await load(stores, path, "bad")
    assert str(path) in err.value.message
    assert keyword in err.value.message
    assert "\n" not in err.value.message
    await assert_nothing_left(stores)


CORPUS_BAD = {
    "html page": (MARKETING / "negative" / "html_page_saved_as__bank-additional-full.csv",
                  "HTML page"),
    "git lfs pointer": (MARKETING / "negative" / "git_lfs_pointer__OnlineRetail.csv",
                        "Git LFS pointer"),
    "parquet columns of different lengths": (
        CORPUS / "parquet" / "bad_data" / "ARROW-GH-41317.parquet", "Parquet"),
    "parquet bad repetition levels": (
        CORPUS / "parquet" / "bad_data" / "ARROW-GH-45185.parquet", "Parquet"),
    "parquet negative dictionary size": (
        CORPUS / "parquet" / "bad_data" / "ARROW-RS-GH-6229-DICTHEADER.parquet", "Parquet"),
}


@needs_corpus
@pytest.mark.parametrize("case", sorted(CORPUS_BAD))
async def test_bad_corpus_files_are_refused(stores: Stores, case: str) -> None:
    path, keyword = CORPUS_BAD[case]
    with pytest.raises(LoadError) as err:
        await load(stores, path, "bad")
    assert str(path) in err.value.message
    assert keyword in err.value.message
    await assert_nothing_left(stores)


async def test_a_missing_file_is_refused(stores: Stores, tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="no such file"):
        await load(stores, tmp_path / "absent.csv", "bad")
    await assert_nothing_left(stores)


async def test_a_failed_registration_removes_the_objects(stores: Stores,
                                                         tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ok.csv", ["a"], [[1], [2]])
    with pytest.raises(NotFoundError, match="source 'Nowhere' does not exist"):
        await load(stores, path, "bad", source="Nowhere")
    await assert_nothing_left(stores)


@pytest.mark.parametrize(("namespace", "name"), [("../x", "a"), ("x", "a/../../b"),
                                                 ("x", "a\x00"), ("", "a")])
async def test_invalid_dataset_names_are_refused_first(stores: Stores, tmp_path: Path,
                                                       namespace: str, name: str) -> None:
    graph, objects, tmp = stores
    path = write_csv(tmp_path / "ok.csv", ["a"], [[1]])
    with pytest.raises(ValidationError):
        await load_file(LoadRequest(path=path, namespace=namespace, name=name),
                        graph=graph, objects=objects, actor="test", tmp_dir=tmp)
    assert files_under(objects.root) == []


def test_errors_are_peso_errors() -> None:
    # the CLI and the GraphQL layer rely on every refusal above being a PesoError
    assert issubclass(LoadError, PesoError)
    assert issubclass(NotFoundError, PesoError)
