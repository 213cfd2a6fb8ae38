"""Object store put/get throughput (MB/s) on the local folder and on S3 (moto's server on
127.0.0.1), through the real ObjectStore implementations.

    python bench/object_store_throughput.py [--mb 256] [--repeat 3]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from moto.server import ThreadedMotoServer

from bench.common import header, record
from server.storage.local import LocalObjectStore
from server.storage.objects import ObjectStore
from server.storage.s3 import S3ObjectStore

CHUNK = 1 << 20
QUICK_SECONDS = 15  # bench/run_all.py: this script has a --quick mode taking about this long


def measure(store: ObjectStore, source: Path, repeat: int) -> tuple[float, float]:
    size = source.stat().st_size / 1e6
    puts, gets = [], []
    for i in range(repeat):
        key = f"bench/blob-{i}.bin"
        start = time.perf_counter()
        store.put_file(key, str(source))
        puts.append(time.perf_counter() - start)
        start = time.perf_counter()
        with store.open_read(key) as fh:
            while fh.read(CHUNK):
                pass
        gets.append(time.perf_counter() - start)
        store.delete(key)
    return size / min(puts), size / min(gets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true",
                        help="a short run for bench/run_all.py: a 32 MiB object, 2 repeats")
    args = parser.parse_args()
    if args.quick:
        args.mb, args.repeat = 32, 2
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    tmp = Path(tempfile.mkdtemp(prefix="peso-objbench-"))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        source = tmp / "blob.bin"
        with source.open("wb") as fh:
            for _ in range(args.mb):
                fh.write(os.urandom(CHUNK))   # incompressible, like Parquet
        host, port = server.get_host_and_port()
        stores: list[tuple[str, ObjectStore]] = [
            ("local folder", LocalObjectStore(tmp / "objects")),
            ("s3 (moto)", S3ObjectStore(bucket="peso-bench", prefix="",
                                        endpoint=f"http://{host}:{port}", region="us-east-1",
                                        access_key="testing", secret_key="testing")),
        ]
        inp = {"generator": "os.urandom (incompressible, like Parquet)",
               "bytes": args.mb * CHUNK, "repeat": args.repeat, "best_of": args.repeat}
        for name, store in stores:
            backend = name.split()[0]
            header(f"object_store_throughput ({name})", input=inp, backend=backend,
                   workers=None)
            store.open()
            put, get = measure(store, source, args.repeat)
            store.close()
            print(f"{name:14s} put {put:8.1f} MB/s   get {get:8.1f} MB/s")
            for metric, value in ((f"{backend}_put", put), (f"{backend}_get", get)):
                record("object_store_throughput", metric, round(value, 1), "MB/s", input=inp,
                       backend=backend, workers=None)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
