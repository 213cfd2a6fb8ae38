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


# --- nested compression: one allowance across all layers -------------------------------------

def _gzip_layers(path: Path, content: bytes, layers: int) -> Path:
    import gzip

    for _ in range(layers):
        content = gzip.compress(content, compresslevel=9)
    path.write_bytes(content)
    return path


def test_nested_layers_share_the_outermost_allowance(tmp_path: Path) -> None:
    from loaders.compression import layer_budget, limit_for, materialize

    outer = _gzip_layers(tmp_path / "x.csv.gz.gz", b"id\n" + b"1\n" * 400_000, 2)
    allowance = limit_for(outer.stat().st_size)
    left, layers = layer_budget(outer, None, 300_000, "x")
    assert (left, layers) == (allowance - 300_000, 1)
    # the next layer inherits what is left, however small the intermediate file is
    left, layers = layer_budget(outer, (left, layers), 500_000, "x")
    assert (left, layers) == (allowance - 800_000, 2)
    inner = materialize(outer, "gzip", tmp_path)
    with pytest.raises(LoadError, match="decompresses to more than 1,000 bytes"):
        materialize(inner, "gzip", tmp_path, limit=1000)  # the budget, not limit_for(size)
    assert len(list(tmp_path.glob("peso-inflated-*"))) == 1  # the refused copy is removed


def test_too_many_layers_are_refused(tmp_path: Path) -> None:
    from loaders.build import build_curated
    from loaders.options import LoadOptions

    path = _gzip_layers(tmp_path / "deep.gz", b"id,x\n1,2\n", 4)
    with pytest.raises(LoadError, match="more than 3 layers of compression"):
        build_curated(path, tmp_path / "out.parquet", tmp_path / "q.parquet",
                      opts=LoadOptions(), label="deep.gz")
    three = _gzip_layers(tmp_path / "three.gz", b"id,x\n1,2\n", 3)
    result = build_curated(three, tmp_path / "ok.parquet", tmp_path / "q2.parquet",
                           opts=LoadOptions(), label="three.gz")
    assert result.rows_written == 1
    assert not list(tmp_path.glob("peso-inflated-*"))


# --- xlsx: XML that expands without bound, sheets of billions of (empty) cells ---------------

_CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
       'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
       'openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
       '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
       'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
       '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
       'officedocument.spreadsheetml.worksheet+xml"/></Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
         'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
         'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
         'Target="xl/workbook.xml"/></Relationships>')
_WB = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.'
       'org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
       'officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/>'
       '</sheets></workbook>')
_WB_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type='
            '"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>')


def xlsx_bomb(path: Path, sheet_data: str, padding: int = 0) -> Path:
    """A workbook written with zipfile: ``sheet_data`` inside <sheetData>, plus ``padding``
    bytes of XML whitespace (which deflate squeezes ~1000x)."""
    import zipfile

    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
             'openxmlformats.org/spreadsheetml/2006/main"><sheetData>' + sheet_data
             + " " * padding + "</sheetData></worksheet>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, text in (("[Content_Types].xml", _CT), ("_rels/.rels", _RELS),
                           ("xl/workbook.xml", _WB), ("xl/_rels/workbook.xml.rels", _WB_RELS),
                           ("xl/worksheets/sheet1.xml", sheet)):
            zf.writestr(name, text)
    return path


HEADER = '<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c></row>'


def test_xlsx_xml_that_expands_past_the_allowance_is_refused_unparsed(tmp_path: Path) -> None:
    from loaders.read_excel import open_xlsx

    path = xlsx_bomb(tmp_path / "bomb.xlsx", HEADER, padding=80 << 20)
    assert path.stat().st_size < 200_000
    started = time.monotonic()
    with pytest.raises(LoadError, match=r"bomb.xlsx: its XML parts expand to more than "
                                        r"67,108,864 bytes \(at 'xl/worksheets/sheet1.xml'\)"):
        open_xlsx(path, label="bomb.xlsx")
    assert time.monotonic() - started < 10


def test_xlsx_cells_are_counted_empty_ones_included(tmp_path: Path) -> None:
    from loaders.read_excel import open_xlsx

    # one far-right cell per row: openpyxl fills every row out to column XFD (16,384 cells)
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="XFD{r}"><v>1</v></c></row>'
                   for r in range(2, 200))
    path = xlsx_bomb(tmp_path / "wide.xlsx", HEADER + rows)
    with pytest.raises(LoadError, match=r"wide.xlsx: sheet 'S': more than 100,000 cells by "
                                        r"row 8 "):  # 1 + 6 * 16,384 cells fit
        open_xlsx(path, label="wide.xlsx", max_cells=100_000)
    ok = open_xlsx(xlsx_bomb(tmp_path / "ok.xlsx", HEADER + '<row r="2"><c r="A2"><v>5</v>'
                             '</c></row>'), label="ok.xlsx", max_cells=100_000)
    assert [b.num_rows for b in ok.batches] == [1]
