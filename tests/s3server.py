"""An S3 endpoint for tests: moto's S3 server on 127.0.0.1 (a free port), started once per
session, or a real MinIO when PESO_TEST_S3_ENDPOINT is set (+ PESO_TEST_S3_ACCESS_KEY and
PESO_TEST_S3_SECRET_KEY). Both speak the S3 wire protocol to the real ``minio`` client and to
``pyarrow.fs.S3FileSystem``; nothing here mocks the store.

``CuttingProxy`` sits between a store and the endpoint and cuts every connection after a
given number of request bytes, like a network that dies in the middle of an upload.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from server.storage.s3 import MIN_PART_SIZE, S3ObjectStore


@dataclass(frozen=True, slots=True)
class S3Endpoint:
    endpoint: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    real: bool = False   # a real MinIO/S3 rather than moto

    def store(self, bucket: str, *, prefix: str = "", endpoint: str | None = None,
              part_size: int = MIN_PART_SIZE, retries: int = 3) -> S3ObjectStore:
        return S3ObjectStore(bucket=bucket, prefix=prefix, endpoint=endpoint or self.endpoint,
                             region=self.region, access_key=self.access_key,
                             secret_key=self.secret_key, part_size=part_size, retries=retries)


def fresh_bucket() -> str:
    return f"peso-test-{uuid.uuid4().hex[:16]}"


def drop_bucket(store: S3ObjectStore) -> None:
    """Remove every object and incomplete upload, then the bucket (matters on a real MinIO)."""
    client: Any = store._client
    store.abort_incomplete_uploads()
    for obj in client.list_objects(store.bucket, recursive=True):
        client.remove_object(store.bucket, obj.object_name)
    client.remove_bucket(store.bucket)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Endpoint]:
    endpoint = os.environ.get("PESO_TEST_S3_ENDPOINT")
    if endpoint:
        yield S3Endpoint(endpoint, os.environ.get("PESO_TEST_S3_ACCESS_KEY", ""),
                         os.environ.get("PESO_TEST_S3_SECRET_KEY", ""), real=True)
        return
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log on stderr
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Endpoint(f"http://{host}:{port}", "testing", "testing")
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server: S3Endpoint) -> Iterator[Callable[..., S3ObjectStore]]:
    """A factory for opened S3 stores on one fresh bucket; the bucket is dropped afterwards."""
    bucket = fresh_bucket()
    made: list[S3ObjectStore] = []

    def make(**kwargs: Any) -> S3ObjectStore:
        store = s3_server.store(bucket, **kwargs)
        store.open()
        made.append(store)
        return store

    yield make
    if made:
        cleaner = s3_server.store(bucket)
        drop_bucket(cleaner)
        cleaner.close()
    for store in made:
        store.close()


class CuttingProxy:
    """A TCP proxy to ``target`` that, once ``cut_after`` request bytes have passed, closes
    every connection and refuses new ones: the network is gone from then on."""

    def __init__(self, target: str, *, cut_after: int) -> None:
        host, _, port = target.removeprefix("http://").partition(":")
        self._target = (host, int(port))
        self.cut_after = cut_after
        self.forwarded = 0
        self.cut = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self.cut.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False),
                             daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, counted: bool) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                if counted:
                    with self._lock:
                        allowed = max(0, self.cut_after - self.forwarded)
                        self.forwarded += len(data)
                    if len(data) > allowed:
                        dst.sendall(data[:allowed])
                        self.close()
                        return
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.cut.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() in _accept
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
