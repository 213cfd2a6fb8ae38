"""Object store on S3-compatible storage (MinIO, Ceph, AWS S3).

Two clients, each for what it does best:

- the official ``minio`` client for bucket, stat, list, delete, presigned URLs and uploads
  (``put_object`` switches to a multipart upload above ``part_size``);
- ``pyarrow.fs.S3FileSystem`` (returned by ``arrow_filesystem()``) for Parquet reads, so a
  preview fetches only the byte ranges of the columns and row groups it needs.

Every object carries the sha256 of its content as user metadata (``x-amz-meta-sha256``).
Metadata travels with the first request of an upload, so the digest must be known before
the upload starts: ``put_file`` hashes the local file first; ``put_stream`` hashes the stream
while spooling it to a temporary file (in memory up to ``_SPOOL_MEMORY``), then uploads that.

An object is never visible half-written: a single PUT or a multipart upload's Complete call
makes it appear whole. When an upload fails midway the multipart upload is aborted (minio does
so itself; if the network is gone that abort fails too, so we try again and say so in the log;
``abort_incomplete_uploads`` clears whatever a killed process left behind).
"""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO, cast
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error

from server.errors import ConfigError, NotFoundError, StoreUnavailableError, ValidationError
from server.ids import MAX_KEY_LENGTH, check_object_key
from server.storage.objects import ObjectInfo

if TYPE_CHECKING:
    import pyarrow.fs

log = logging.getLogger("peso.s3")

SHA256_HEADER = "x-amz-meta-sha256"
MIN_PART_SIZE = 5 * 1024 * 1024          # S3's smallest part (all but the last)
DEFAULT_PART_SIZE = 16 * 1024 * 1024
MAX_PRESIGN_SECONDS = 7 * 24 * 3600      # SigV4's limit
MAX_S3_KEY_BYTES = 1024                  # S3's limit on a whole object name, prefix included
_CHUNK = 1 << 20
_SPOOL_MEMORY = 8 * 1024 * 1024
_AUTH_CODES = frozenset({"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"})
_MISSING_KEY_CODES = frozenset({"NoSuchKey", "NoSuchObject", "ResourceNotFound"})


def parse_endpoint(endpoint: str) -> tuple[str, bool]:
    """``http(s)://host[:port]`` → (``host[:port]``, secure). Empty means AWS S3 over TLS."""
    if not endpoint:
        return "s3.amazonaws.com", True
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"PESO_S3_ENDPOINT {endpoint!r} must look like http://host:port or "
                          "https://host (the scheme picks TLS)")
    if parts.path.strip("/") or parts.query or parts.fragment or parts.username:
        raise ConfigError(f"PESO_S3_ENDPOINT {endpoint!r} must be scheme://host[:port] only")
    return parts.netloc, parts.scheme == "https"


def check_prefix(prefix: str) -> str:
    """A listing prefix: a key or the start of one (may end with '/'; may be empty)."""
    if not prefix:
        return ""
    if len(prefix) > MAX_KEY_LENGTH:
        raise ValidationError(f"prefix must be at most {MAX_KEY_LENGTH} characters",
                              field="prefix")
    body = prefix[:-1] if prefix.endswith("/") else prefix
    if not body:
        raise ValidationError(f"prefix {prefix!r} is not valid", field="prefix")
    # everything but a possibly partial last segment must be a valid key; so must the rest
    check_object_key(body)
    return prefix


class S3ObjectStore:
    def __init__(self, *, bucket: str, prefix: str = "", endpoint: str = "",
                 region: str = "us-east-1", access_key: str = "", secret_key: str = "",
                 part_size: int = DEFAULT_PART_SIZE, retries: int = 3,
                 connect_timeout: float = 10.0, read_timeout: float = 120.0) -> None:
        if part_size < MIN_PART_SIZE:
            raise ConfigError(f"S3 part size must be at least {MIN_PART_SIZE} bytes (5 MiB)")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            check_object_key(self.prefix)
        self.endpoint = endpoint
        self.region = region or "us-east-1"
        self.part_size = part_size
        self._host, self._secure = parse_endpoint(endpoint)
        self._access_key, self._secret_key = access_key, secret_key
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self._where = f"{self.url} at {endpoint or 'AWS S3'}"
        # Retries: connection failures and 5xx answers, with exponential backoff. Part
        # uploads send an in-memory body, so repeating one is safe; POSTs (create/complete
        # multipart) are repeated only when the connection could not be made at all.
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            maxsize=16,
            cert_reqs="CERT_REQUIRED",
            retries=urllib3.Retry(total=retries, connect=retries, read=retries,
                                  backoff_factor=0.2, status_forcelist=(500, 502, 503, 504),
                                  respect_retry_after_header=True),
        )
        self._client = Minio(self._host, access_key=access_key or None,
                             secret_key=secret_key or None, region=self.region,
                             secure=self._secure, http_client=self._http)
        self._fs: pyarrow.fs.FileSystem | None = None

    # --- lifecycle -------------------------------------------------------------------------
    def open(self) -> None:
        """Create the bucket if it is missing (a concurrent creator is fine)."""
        with self._errors("open the bucket"):
            if self._client.bucket_exists(self.bucket):
                return
            try:
                self._client.make_bucket(self.bucket)
            except S3Error as exc:
                if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise

    def close(self) -> None:
        self._http.clear()

    def health(self) -> None:
        with self._errors("check the bucket"):
            exists = self._client.bucket_exists(self.bucket)
        if not exists:
            raise StoreUnavailableError(f"S3 bucket {self.bucket!r} does not exist "
                                        f"({self._where})")

    # --- reads -----------------------------------------------------------------------------
    def _name(self, key: str) -> str:
        key = check_object_key(key)
        name = f"{self.prefix}/{key}" if self.prefix else key
        if len(name.encode()) > MAX_S3_KEY_BYTES:
            raise ValidationError(
                f"object key {key[:60]!r}… is too long for S3 behind the prefix "
                f"{self.prefix!r}: keys may have at most "
                f"{MAX_S3_KEY_BYTES - len(self.prefix.encode()) - 1} bytes here", field="key")
        return name

    def _key(self, name: str) -> str:
        return name[len(self.prefix) + 1:] if self.prefix else name

    def stat(self, key: str) -> ObjectInfo | None:
        name = self._name(key)
        with self._errors("stat", key, missing_ok=True) as missing:
            obj = self._client.stat_object(self.bucket, name)
        if missing:
            return None
        meta = obj.metadata or {}
        return ObjectInfo(key=key, size=int(obj.size or 0), modified=_utc(obj.last_modified),
                          sha256=meta.get(SHA256_HEADER) or None)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        full = check_prefix(prefix)
        if self.prefix:
            full = f"{self.prefix}/{full}"
        with self._errors("list", prefix):
            for obj in self._client.list_objects(self.bucket, prefix=full or None,
                                                 recursive=True):
                name = obj.object_name or ""
                if obj.is_dir or not name:
                    continue
                yield ObjectInfo(key=self._key(name), size=int(obj.size or 0),
                                 modified=_utc(obj.last_modified))

    def open_read(self, key: str) -> BinaryIO:
        name = self._name(key)
        with self._errors("read", key):
            response = self._client.get_object(self.bucket, name)
        return cast(BinaryIO, io.BufferedReader(_ResponseReader(response, self, key), _CHUNK))

    # --- writes ----------------------------------------------------------------------------
    def put_file(self, key: str, path: str) -> ObjectInfo:
        name = self._name(key)
        digest, size = _file_sha256(path)
        with open(path, "rb") as fh:
            return self._upload(key, name, cast(BinaryIO, fh), size, digest)

    def put_stream(self, key: str, stream: BinaryIO, *, size: int | None = None) -> ObjectInfo:
        name = self._name(key)
        digest = hashlib.sha256()
        count = 0
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY, prefix="peso-s3-") as spool:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                spool.write(chunk)
                count += len(chunk)
            if size is not None and count != size:
                raise ValidationError(f"object {key!r}: the stream held {count} bytes, not the "
                                      f"{size} announced; nothing was stored", field="size")
            spool.seek(0)
            return self._upload(key, name, cast(BinaryIO, spool), count, digest.hexdigest())

    def _upload(self, key: str, name: str, data: BinaryIO, size: int,
                digest: str) -> ObjectInfo:
        content_type = ("application/vnd.apache.parquet" if key.endswith(".parquet")
                        else "application/octet-stream")
        try:
            with self._errors("upload", key):
                self._client.put_object(self.bucket, name, data, length=size,
                                        part_size=self.part_size, content_type=content_type,
                                        metadata={SHA256_HEADER: digest})
        except BaseException:
            # minio aborts a failed multipart upload itself, but not on KeyboardInterrupt and
            # not when the abort request fails too; never leave parts behind knowingly.
            self._abort_uploads_of(name)
            raise
        info = self.stat(key)
        if info is None:
            raise StoreUnavailableError(f"object {key!r} vanished right after its upload "
                                        f"({self._where})")
        return ObjectInfo(key=key, size=info.size, modified=info.modified,
                          sha256=info.sha256 or digest)

    def delete(self, key: str) -> bool:
        name = self._name(key)
        if self.stat(key) is None:
            return False
        with self._errors("delete", key):
            self._client.remove_object(self.bucket, name)
        return True

    # --- URLs and the Arrow escape hatch ---------------------------------------------------
    def presign_get(self, key: str, *, expires_seconds: int = 3600) -> str | None:
        name = self._name(key)
        with self._errors("presign", key):
            return self._client.presigned_get_object(self.bucket, name,
                                                     expires=_expiry(expires_seconds))

    def presign_put(self, key: str, *, expires_seconds: int = 3600) -> str:
        """A time-limited upload URL (PUT the bytes to it). The object gets no sha256."""
        name = self._name(key)
        with self._errors("presign", key):
            return self._client.presigned_put_object(self.bucket, name,
                                                     expires=_expiry(expires_seconds))

    def arrow_filesystem(self) -> tuple[pyarrow.fs.FileSystem, str]:
        if self._fs is None:
            import pyarrow.fs

            keys: dict[str, Any] = ({"access_key": self._access_key,
                                     "secret_key": self._secret_key}
                                    if self._access_key else {"anonymous": True})
            self._fs = pyarrow.fs.S3FileSystem(
                **keys, region=self.region, scheme="https" if self._secure else "http",
                endpoint_override=self._host if self.endpoint else None,
                connect_timeout=10, request_timeout=60,
                retry_strategy=pyarrow.fs.AwsStandardS3RetryStrategy(max_attempts=3))
        base = f"{self.bucket}/{self.prefix}/" if self.prefix else f"{self.bucket}/"
        return self._fs, base

    # --- housekeeping ----------------------------------------------------------------------
    def abort_incomplete_uploads(self, prefix: str = "") -> int:
        """Abort multipart uploads under ``prefix`` that never completed (e.g. left by a killed
        process); return how many. Their parts are invisible but take space until then."""
        full = check_prefix(prefix)
        if self.prefix:
            full = f"{self.prefix}/{full}"
        with self._errors("abort incomplete uploads", prefix):
            return self._abort_matching(full, exact=False)

    def _abort_uploads_of(self, name: str) -> None:
        try:
            self._abort_matching(name, exact=True)
        except (MinioException, urllib3.exceptions.HTTPError) as exc:
            log.warning("could not abort an incomplete upload of %s in %s: %s; run "
                        "abort_incomplete_uploads later to reclaim its parts",
                        name, self._where, exc)

    def _abort_matching(self, prefix: str, *, exact: bool) -> int:
        # minio-py has no public call for these two S3 APIs (ListMultipartUploads,
        # AbortMultipartUpload); its own put_object uses the same private methods.
        client: Any = self._client
        aborted = 0
        key_marker = upload_marker = None
        while True:
            result = client._list_multipart_uploads(
                self.bucket, prefix=prefix or None, key_marker=key_marker,
                upload_id_marker=upload_marker)
            for upload in result.uploads:
                if exact and upload.object_name != prefix:
                    continue
                client._abort_multipart_upload(self.bucket, upload.object_name,
                                               upload.upload_id)
                aborted += 1
            if not result.is_truncated:
                return aborted
            key_marker, upload_marker = result.next_key_marker, result.next_upload_id_marker

    # --- errors ----------------------------------------------------------------------------
    @contextmanager
    def _errors(self, what: str, key: str | None = None, *,
                missing_ok: bool = False) -> Iterator[_Missing]:
        """Map minio/urllib3 failures to PesoErrors. With ``missing_ok`` a missing object is
        reported by the yielded flag instead of raising."""
        missing = _Missing()
        subject = f"object {key!r} in {self._where}" if key is not None else self._where
        try:
            yield missing
        except S3Error as exc:
            if exc.code in _MISSING_KEY_CODES and key is not None:
                if missing_ok:
                    missing.found = True
                    return
                raise NotFoundError(f"object {key!r} does not exist") from exc
            if exc.code == "NoSuchBucket":
                raise StoreUnavailableError(f"S3 bucket {self.bucket!r} does not exist "
                                            f"({self._where})") from exc
            if exc.code in _AUTH_CODES:
                raise StoreUnavailableError(
                    f"S3 refused to {what} {subject}: {exc.code} (check PESO_S3_ACCESS_KEY "
                    "and PESO_S3_SECRET_KEY)") from exc
            raise StoreUnavailableError(f"S3 could not {what} {subject}: {exc.code}: "
                                        f"{exc.message}") from exc
        except MinioException as exc:
            raise StoreUnavailableError(f"S3 could not {what} {subject}: {exc}") from exc
        except urllib3.exceptions.HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc
            raise StoreUnavailableError(f"cannot reach S3 to {what} {subject}: "
                                        f"{type(reason).__name__}: {reason}") from exc


class _Missing:
    found = False

    def __bool__(self) -> bool:
        return self.found


class _ResponseReader(io.RawIOBase):
    """A GET response as a raw stream; closing it returns the connection to the pool."""

    def __init__(self, response: Any, store: S3ObjectStore, key: str) -> None:
        self._response, self._store, self._key = response, store, key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with self._store._errors("read", self._key):
            data = self._response.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._response.close()
            self._response.release_conn()
        super().close()


def _file_sha256(path: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _expiry(seconds: int) -> timedelta:
    if not isinstance(seconds, int) or not 1 <= seconds <= MAX_PRESIGN_SECONDS:
        raise ValidationError(f"expiry must be 1..{MAX_PRESIGN_SECONDS} seconds, not {seconds!r}",
                              field="expires")
    return timedelta(seconds=seconds)


def _utc(stamp: datetime | None) -> datetime:
    if stamp is None:
        return datetime.now(UTC)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
