"""loaders.compression: gzip/zip detection, streaming decompression, limits and refusals."""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loaders import compression, limits
from loaders.compression import detect_compression, is_xlsx, materialize, open_decompressed
from server.errors import LoadError

CSV = b"id,name\n1,Ann\n2,Bob\n"


def write_gzip(path: Path, data: bytes, inner_name: str = "") -> Path:
    with path.open("wb") as raw, gzip.GzipFile(filename=inner_name, fileobj=raw, mode="wb",
                                               mtime=0) as gz:
        gz.write(data)
    return path


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def write_xlsx(path: Path) -> Path:
    wb = openpyxl.Workbook()
    wb.active.append(["a", "b"])
    wb.save(path)
    return path


def read_all(path: Path, kind: str) -> tuple[bytes, str]:
    stream, name = open_decompressed(path, kind)
    with stream:
        return stream.read(), name


# --- detection ------------------------------------------------------------------------

def test_detect_gzip_zip_and_plain(tmp_path: Path) -> None:
    gz = write_gzip(tmp_path / "a.csv.gz", CSV)
    zp = write_zip(tmp_path / "a.zip", {"a.csv": CSV})
    assert detect_compression(gz.read_bytes()[:64]) == "gzip"
    assert detect_compression(zp.read_bytes()[:64]) == "zip"
    assert detect_compression(zp.read_bytes()[:64], zp) == "zip"
    assert detect_compression(CSV) is None
    assert detect_compression(b"") is None
    assert detect_compression(b"PAR1....") is None


def test_an_xlsx_is_not_reported_as_zip(tmp_path: Path) -> None:
    book = write_xlsx(tmp_path / "book.xlsx")
    head = book.read_bytes()[:64 * 1024]
    assert is_xlsx(book)
    assert detect_compression(head, book) is None
    assert detect_compression(head) is None          # from the local headers alone
    assert not is_xlsx(write_zip(tmp_path / "a.zip", {"a.csv": CSV}))
    assert not is_xlsx(tmp_path / "missing.zip")


def test_a_zip_with_xl_names_but_no_manifest_is_a_zip(tmp_path: Path) -> None:
    odd = write_zip(tmp_path / "odd.zip", {"xl/notes.csv": CSV})
    assert detect_compression(odd.read_bytes()[:64], odd) == "zip"


# --- gzip -----------------------------------------------------------------------------

def test_gzip_round_trip_and_inner_name(tmp_path: Path) -> None:
    named = write_gzip(tmp_path / "upload.bin", CSV, inner_name="/exports/../campaigns.csv")
    assert read_all(named, "gzip") == (CSV, "campaigns.csv")
    unnamed = tmp_path / "leads.csv.gz"
    unnamed.write_bytes(gzip.compress(CSV))
    assert read_all(unnamed, "gzip") == (CSV, "leads.csv")


def test_concatenated_gzip_members_are_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "two.gz"
    path.write_bytes(gzip.compress(b"a\n1\n") + gzip.compress(b"2\n"))
    assert read_all(path, "gzip")[0] == b"a\n1\n2\n"


def test_truncated_gzip_names_the_byte_offset(tmp_path: Path) -> None:
    data = gzip.compress(bytes(range(256)) * 400, compresslevel=1)
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    size = path.stat().st_size
    with pytest.raises(LoadError) as err:
        read_all(path, "gzip")
    assert str(err.value) == (f"{path}: gzip stream ends early at compressed byte {size} "
                              "(truncated download?)")


def test_corrupt_gzip_is_a_load_error(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(CSV * 50))
    data[20:40] = b"\xff" * 20
    path = tmp_path / "bad.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(LoadError, match=r"bad\.gz: corrupt gzip data near compressed byte \d+"):
        read_all(path, "gzip")


def test_gzip_bomb_is_refused_while_streaming(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MIN_ALLOWANCE", 10_000)
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(b"\0" * 2_000_000))
    limit = compression.limit_for(path.stat().st_size)
    assert limit == 100 * path.stat().st_size
    with pytest.raises(LoadError) as err:
        read_all(path, "gzip")
    assert str(err.value).startswith(f"{path}: decompresses to more than {limit:,} bytes")
    assert "refusing a possible zip bomb" in str(err.value)


def test_limit_for_bounds() -> None:
    assert compression.limit_for(1) == 64 << 20
    assert compression.limit_for(10 << 20) == 1000 << 20
    assert compression.limit_for(1 << 40) == 20 << 30


# --- zip ------------------------------------------------------------------------------

def test_zip_with_one_file_ignores_directories_and_macos_metadata(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "a.zip", {"export/": b"", "export/leads.csv": CSV,
                                          "__MACOSX/export/._leads.csv": b"junk",
                                          "export/.DS_Store": b"junk"})
    assert read_all(path, "zip") == (CSV, "leads.csv")


def test_zip_with_two_files_lists_them(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "two.zip", {"a.csv": CSV, "b/c.csv": CSV})
    with pytest.raises(LoadError) as err:
        open_decompressed(path, "zip")
    assert str(err.value) == (f"{path}: expected a zip archive holding exactly one file, "
                              "found 2 files: 'a.csv', 'b/c.csv'")


def test_empty_zip(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "none.zip", {"dir/": b""})
    with pytest.raises(LoadError) as err:
        open_decompressed(path, "zip")
    assert str(err.value) == (f"{path}: expected a zip archive holding exactly one file, "
                              "found no files")


@pytest.mark.parametrize("name", ["../evil.csv", "/etc/passwd", "a/../../b.csv",
                                  "C:\\temp\\x.csv", "..\\x.csv"])
def test_zip_slip_names_are_refused(tmp_path: Path, name: str) -> None:
    path = write_zip(tmp_path / "slip.zip", {name: CSV})
    with pytest.raises(LoadError) as err:
        open_decompressed(path, "zip")
    assert str(err.value) == (f"{path}: zip member {name!r} has an unsafe path (absolute, "
                              "or with '..'); refusing the archive")


def test_zip_bomb_is_refused_from_the_declared_size(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MIN_ALLOWANCE", 10_000)
    path = write_zip(tmp_path / "bomb.zip", {"zeros.csv": b"0" * 3_000_000})
    size = path.stat().st_size
    with pytest.raises(LoadError) as err:
        open_decompressed(path, "zip")
    assert str(err.value).startswith(
        f"{path}: zip member 'zeros.csv' declares 3,000,000 bytes uncompressed, over the "
        f"limit of {100 * size:,} for the archive's {size:,} bytes (the limit is 100x "
        "(PESO_MAX_DECOMPRESSION_RATIO)")


def test_encrypted_zip_member_is_refused(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "locked.zip", {"a.csv": CSV})
    data = bytearray(path.read_bytes())
    central = data.rindex(b"PK\x01\x02")             # set the "encrypted" flag bit
    flags = struct.unpack_from("<H", data, central + 8)[0]
    struct.pack_into("<H", data, central + 8, flags | 1)
    path.write_bytes(bytes(data))
    with pytest.raises(LoadError) as err:
        open_decompressed(path, "zip")
    assert str(err.value) == (f"{path}: zip member 'a.csv' is password-protected; "
                              "upload it unencrypted")


def test_corrupt_zip_member(tmp_path: Path) -> None:
    path = tmp_path / "crc.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a.csv", CSV)
    path.write_bytes(path.read_bytes().replace(b"Ann", b"ANN"))
    with pytest.raises(LoadError) as err:
        read_all(path, "zip")
    assert str(err.value) == f"{path}: corrupt zip data (Bad CRC-32 for file 'a.csv')"


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "fake.zip"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(LoadError, match=r"fake\.zip: not a readable zip archive"):
        open_decompressed(path, "zip")


def test_unknown_compression(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="unsupported compression 'bz2'; expected gzip or zip"):
        open_decompressed(tmp_path / "x", "bz2")


# --- materialize ----------------------------------------------------------------------

def test_materialize_keeps_the_inner_extension(tmp_path: Path) -> None:
    out_dir = tmp_path / "tmp"
    out_dir.mkdir()
    for kind, path in [("gzip", write_gzip(tmp_path / "x.gz", CSV, "leads.csv")),
                       ("zip", write_zip(tmp_path / "x.zip", {"leads.tsv": CSV}))]:
        out = materialize(path, kind, out_dir)
        assert out.parent == out_dir
        assert out.read_bytes() == CSV
        assert out.suffix in (".csv", ".tsv")
        out.unlink()


def test_materialize_of_a_truncated_gzip_leaves_nothing(tmp_path: Path) -> None:
    data = gzip.compress(bytes(range(256)) * 4000, compresslevel=1)
    path = tmp_path / "cut.gz"
    path.write_bytes(data[:-100])
    out_dir = tmp_path / "tmp"
    out_dir.mkdir()
    with pytest.raises(LoadError) as err:
        materialize(path, "gzip", out_dir)
    assert str(err.value) == (f"{path}: gzip stream ends early at compressed byte "
                              f"{len(data) - 100} (truncated download?)")
    assert list(out_dir.iterdir()) == []


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=5000), kind=st.sampled_from(["gzip", "zip"]),
       name=st.from_regex(r"[A-Za-z0-9_ -]{1,12}\.(csv|json|xlsx)", fullmatch=True))
def test_round_trip_property(tmp_path_factory: pytest.TempPathFactory, data: bytes, kind: str,
                             name: str) -> None:
    folder = tmp_path_factory.mktemp("rt")
    if kind == "gzip":
        path = write_gzip(folder / "in.gz", data, name)
    else:
        path = write_zip(folder / "in.zip", {name: data})
    stream, inner = open_decompressed(path, kind)
    with stream:
        chunks = iter(lambda: stream.read(777), b"")
        assert b"".join(chunks) == data
    assert inner == name
    out = materialize(path, kind, folder)
    assert out.read_bytes() == data
    assert out.suffix == Path(name).suffix


def test_stream_is_a_binary_file(tmp_path: Path) -> None:
    stream, _ = open_decompressed(write_gzip(tmp_path / "a.gz", CSV), "gzip")
    with stream:
        assert isinstance(stream, io.BufferedIOBase)
        assert stream.readline() == b"id,name\n"
        assert list(stream) == [b"1,Ann\n", b"2,Bob\n"]
    assert stream.closed
