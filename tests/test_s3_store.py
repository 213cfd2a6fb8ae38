"""S3-specific behaviour of S3ObjectStore, against moto's S3 server (or a real MinIO when
PESO_TEST_S3_ENDPOINT is set): presigned URLs, multipart uploads, uploads killed midway,
and Parquet reads with column projection through ``arrow_filesystem()``.

The backend-neutral behaviour is in ``tests/contract``."""

from __future__ import annotations

import hashlib
import io
import random
import socket
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from server.errors import ConfigError, NotFoundError, StoreUnavailableError, ValidationError
from server.preview import read_preview
from server.settings import Settings
from server.storage import factory
from server.storage.s3 import MIN_PART_SIZE, SHA256_HEADER, S3ObjectStore
from tests.s3server import CuttingProxy, S3Endpoint, fresh_bucket, s3_bucket, s3_server

__all__ = ["s3_bucket", "s3_server"]  # fixtures used by name below

MakeStore = Callable[..., S3ObjectStore]


def _big_file(path: Path, size: int) -> str:
    """Write ``size`` incompressible, reproducible bytes; return their sha256."""
    data = random.Random(size).randbytes(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def test_open_creates_a_missing_bucket_and_health_passes(s3_bucket: MakeStore) -> None:
    store = s3_bucket()
    store.open()  # a second open of an existing bucket is fine
    store.health()
    assert list(store.list()) == []


def test_put_records_sha256_in_object_metadata(s3_bucket: MakeStore) -> None:
    store = s3_bucket(prefix="tenant-a")
    content = b"customer_id,country\nC1,GB\n"
    info = store.put_stream("raw/demo/crm/v1/data.csv", io.BytesIO(content), size=len(content))
    assert info.sha256 == hashlib.sha256(content).hexdigest()
    assert info.size == len(content)
    # stored as x-amz-meta-sha256, under the store's prefix
    head = store._client.stat_object(store.bucket, "tenant-a/raw/demo/crm/v1/data.csv")
    assert head.metadata is not None
    assert head.metadata[SHA256_HEADER] == info.sha256
    stat = store.stat("raw/demo/crm/v1/data.csv")
    assert stat is not None
    assert stat.sha256 == info.sha256
    with store.open_read("raw/demo/crm/v1/data.csv") as fh:
        assert fh.read() == content


def test_put_stream_with_a_wrong_size_stores_nothing(s3_bucket: MakeStore) -> None:
    store = s3_bucket()
    with pytest.raises(ValidationError, match="announced"):
        store.put_stream("raw/x/y/v1/f.csv", io.BytesIO(b"abc"), size=10)
    assert store.stat("raw/x/y/v1/f.csv") is None


@pytest.mark.parametrize("key", ["../escape", "/abs/key", "a//b", "a/./b", "a\\b", ""])
def test_bad_keys_are_refused_before_s3_sees_them(s3_bucket: MakeStore, key: str) -> None:
    store = s3_bucket()
    with pytest.raises(ValidationError):
        store.stat(key)
    with pytest.raises(ValidationError):
        store.put_stream(key, io.BytesIO(b"x"))


def test_a_prefix_is_applied_and_shortens_the_longest_key(s3_bucket: MakeStore) -> None:
    store = s3_bucket(prefix="team/catalog")
    store.put_stream("raw/a.csv", io.BytesIO(b"a"))
    assert [o.key for o in store.list()] == ["raw/a.csv"]
    assert [o.object_name for o in store._client.list_objects(store.bucket, recursive=True)] \
        == ["team/catalog/raw/a.csv"]
    fits = "k" * (1024 - len("team/catalog/"))
    store.put_stream(fits, io.BytesIO(b"long"))
    assert store.stat(fits) is not None
    with pytest.raises(ValidationError, match="too long for S3"):
        store.put_stream(fits + "k", io.BytesIO(b"longer"))


def test_presigned_get_downloads_the_object_over_http(s3_bucket: MakeStore) -> None:
    store = s3_bucket(prefix="p")
    store.put_stream("curated/demo/ads/v1/part-0.parquet", io.BytesIO(b"PAR1 not really"))
    url = store.presign_get("curated/demo/ads/v1/part-0.parquet", expires_seconds=60)
    assert url is not None
    assert "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.read() == b"PAR1 not really"
    with pytest.raises(ValidationError):
        store.presign_get("curated/demo/ads/v1/part-0.parquet", expires_seconds=0)


def test_presigned_put_uploads_over_http(s3_bucket: MakeStore) -> None:
    store = s3_bucket()
    url = store.presign_put("raw/demo/upload/v1/file.csv", expires_seconds=60)
    request = urllib.request.Request(url, data=b"a,b\n1,2\n", method="PUT",
                                     headers={"Content-Type": "text/csv"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    with store.open_read("raw/demo/upload/v1/file.csv") as fh:
        assert fh.read() == b"a,b\n1,2\n"


def test_a_file_larger_than_the_part_size_goes_up_in_parts(s3_bucket: MakeStore,
                                                           tmp_path: Path) -> None:
    store = s3_bucket(part_size=MIN_PART_SIZE)
    big = tmp_path / "big.bin"
    digest = _big_file(big, 2 * MIN_PART_SIZE + 12345)  # three parts
    info = store.put_file("raw/demo/big/v1/big.bin", str(big))
    assert (info.size, info.sha256) == (big.stat().st_size, digest)
    etag = store._client.stat_object(store.bucket, "raw/demo/big/v1/big.bin").etag or ""
    assert etag.strip('"').endswith("-3"), etag  # a multipart ETag names its part count
    with store.open_read("raw/demo/big/v1/big.bin") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == digest


def test_an_upload_killed_midway_leaves_no_object_and_a_rerun_succeeds(
        s3_server: S3Endpoint, s3_bucket: MakeStore, tmp_path: Path) -> None:
    if not s3_server.endpoint.startswith("http://"):
        pytest.skip("the cutting proxy forwards plain HTTP only")
    direct = s3_bucket()
    big = tmp_path / "big.bin"
    digest = _big_file(big, 3 * MIN_PART_SIZE)
    key = "raw/demo/killed/v1/big.bin"
    # the network dies in the middle of the second part
    proxy = CuttingProxy(s3_server.endpoint, cut_after=MIN_PART_SIZE + MIN_PART_SIZE // 2)
    try:
        flaky = s3_server.store(direct.bucket, endpoint=proxy.endpoint, retries=1)
        with pytest.raises(StoreUnavailableError, match="cannot reach S3"):
            flaky.put_file(key, str(big))
        flaky.close()
    finally:
        proxy.close()
    assert proxy.cut.is_set()
    assert direct.stat(key) is None
    assert list(direct.list("raw/")) == []
    # the aborts could not get through either: the parts wait, invisible, to be reclaimed
    assert direct.abort_incomplete_uploads("raw/") == 1
    assert direct.abort_incomplete_uploads("raw/") == 0
    info = direct.put_file(key, str(big))  # the re-run
    assert info.sha256 == digest
    assert [o.key for o in direct.list()] == [key]


def test_a_stream_that_fails_midway_leaves_no_object(s3_bucket: MakeStore) -> None:
    store = s3_bucket()

    class Dying(io.RawIOBase):
        sent = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            if self.sent >= 3 * 1024 * 1024:
                raise ConnectionResetError("client went away")
            n = min(len(buffer), 1 << 16)
            buffer[:n] = b"x" * n
            self.sent += n
            return n

    with pytest.raises(ConnectionResetError):
        store.put_stream("raw/demo/dying/v1/f.bin", io.BufferedReader(Dying()))  # type: ignore[arg-type]
    assert store.stat("raw/demo/dying/v1/f.bin") is None
    info = store.put_stream("raw/demo/dying/v1/f.bin", io.BytesIO(b"whole"))
    assert info.sha256 == hashlib.sha256(b"whole").hexdigest()


def test_arrow_filesystem_reads_parquet_with_column_projection(s3_bucket: MakeStore,
                                                               tmp_path: Path) -> None:
    store = s3_bucket(prefix="lake")
    table = pa.table({"id": list(range(5000)), "country": ["GB", "DE"] * 2500,
                      "spend": [float(i) for i in range(5000)]})
    local = tmp_path / "t.parquet"
    pq.write_table(table, local, row_group_size=1000)
    store.put_file("curated/demo/ads/v1/part-0.parquet", str(local))

    fs, base = store.arrow_filesystem()
    assert base == f"{store.bucket}/lake/"
    with fs.open_input_file(base + "curated/demo/ads/v1/part-0.parquet") as fh:
        pf = pq.ParquetFile(fh)
        assert pf.num_row_groups == 5
        got = pf.read_row_group(3, columns=["country"])
    assert got.column_names == ["country"]
    assert got.num_rows == 1000
    # the server's preview path: a window in the 4th row group, two columns
    block = read_preview(store, "curated/demo/ads/v1/part-0.parquet", columns=["spend", "id"],
                         limit=2, offset=3500)
    assert block["rows"] == [[3500.0, 3500], [3501.0, 3501]]
    assert block["totalRows"] == 5000


def test_missing_objects_and_buckets_give_clear_errors(s3_server: S3Endpoint,
                                                       s3_bucket: MakeStore) -> None:
    store = s3_bucket()
    assert store.stat("raw/none/here/v1/x") is None
    assert store.delete("raw/none/here/v1/x") is False
    with pytest.raises(NotFoundError, match="does not exist"):
        store.open_read("raw/none/here/v1/x")
    unopened = s3_server.store(fresh_bucket())  # never opened: its bucket was never made
    try:
        with pytest.raises(StoreUnavailableError, match=r"bucket .* does not exist"):
            unopened.health()
    finally:
        unopened.close()


def test_an_unreachable_endpoint_is_store_unavailable() -> None:
    with socket.socket() as s:  # a port nothing listens on: bound, then released
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = S3ObjectStore(bucket="peso-nowhere", endpoint=f"http://127.0.0.1:{port}",
                          access_key="k", secret_key="s", retries=0)
    with pytest.raises(StoreUnavailableError, match=r"cannot reach S3 .*127\.0\.0\.1"):
        store.health()
    store.close()


def test_the_factory_builds_s3_from_settings(s3_server: S3Endpoint, tmp_path: Path) -> None:
    settings = Settings.from_env({
        "PESO_DATA_DIR": str(tmp_path), "PESO_OBJECTS_URL": "s3://peso-factory/some/prefix",
        "PESO_S3_ENDPOINT": s3_server.endpoint, "PESO_S3_ACCESS_KEY": s3_server.access_key,
        "PESO_S3_SECRET_KEY": s3_server.secret_key})
    store = factory.object_store(settings)
    assert isinstance(store, S3ObjectStore)
    assert (store.bucket, store.prefix, store.url) == ("peso-factory", "some/prefix",
                                                      "s3://peso-factory/some/prefix")
    store.close()


@pytest.mark.parametrize("endpoint", ["127.0.0.1:9000", "ftp://x", "http://h/path",
                                      "http://user:pw@h"])
def test_malformed_endpoints_are_config_errors(endpoint: str) -> None:
    with pytest.raises(ConfigError, match="PESO_S3_ENDPOINT"):
        S3ObjectStore(bucket="peso-x", endpoint=endpoint)
