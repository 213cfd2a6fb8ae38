"""Time-limited download URLs for stored objects.

On S3 the store presigns a GET. The local folder has no URL of its own, so the Peso server
serves ``/objects/<key>?expires=…&signature=…``: an HMAC-SHA256 over the key and the expiry
with a server secret (PESO_SIGNING_KEY, or a random key kept in ``<data dir>/signing.key``).
A URL cannot be altered to reach another key or outlive its expiry.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from server.collect.parts import is_folder_key
from server.errors import PesoError
from server.ids import check_object_key
from server.settings import Settings
from server.storage.local import LocalObjectStore
from server.storage.objects import ObjectStore

ROUTE = "/objects/{key:path}"


def signing_key(settings: Settings) -> bytes:
    if settings.signing_key:
        return settings.signing_key.encode()
    path = settings.data_dir / "signing.key"
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    fd, tmp = tempfile.mkstemp(prefix=".signing-", dir=path.parent)  # created 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        # link() is atomic and refuses an existing name: of two processes creating the key
        # at once, one wins and both use the winner's key, never a half-written one
        os.link(tmp, path)
    except FileExistsError:
        return path.read_bytes().strip()
    finally:
        os.unlink(tmp)
    return key


def _signature(key: bytes, object_key: str, expires: int) -> str:
    return hmac.new(key, f"{object_key}\n{expires}".encode(), hashlib.sha256).hexdigest()


def download_url(objects: ObjectStore, settings: Settings, key: str, *, base_url: str,
                 expires_in: int | None = None) -> str | None:
    """A URL that downloads ``key`` until it expires; presigned on S3, signed route here."""
    if is_folder_key(key):   # a collected dataset: a folder of parts, no single file
        return None
    seconds = expires_in or settings.download_url_seconds
    seconds = max(1, min(seconds, settings.download_url_seconds))
    url = objects.presign_get(key, expires_seconds=seconds)
    if url is not None:
        return url
    expires = int(time.time()) + seconds
    sig = _signature(signing_key(settings), key, expires)
    return (f"{base_url.rstrip('/')}/objects/{quote(key)}?expires={expires}"
            f"&signature={sig}")


async def serve_object(request: Request) -> Response:
    """The signed route for the local store: 403 unless the signature and expiry hold."""
    settings: Settings = request.app.state.settings
    objects: ObjectStore = request.app.state.objects
    key = request.path_params["key"]
    try:
        check_object_key(key)
        expires = int(request.query_params.get("expires", ""))
    except (PesoError, ValueError):
        return JSONResponse({"error": "invalid object key or expiry"}, status_code=400)
    given = request.query_params.get("signature", "")
    wanted = _signature(signing_key(settings), key, expires)
    if not hmac.compare_digest(given, wanted):
        return JSONResponse({"error": "bad signature"}, status_code=403)
    if expires < time.time():
        return JSONResponse({"error": "this download URL has expired"}, status_code=403)
    if not isinstance(objects, LocalObjectStore):
        return JSONResponse({"error": "not served here: use the store's presigned URL"},
                            status_code=404)
    path = Path(objects.root) / key
    if not path.is_file():
        return JSONResponse({"error": "no such object"}, status_code=404)
    return FileResponse(path, filename=path.name, media_type="application/octet-stream")
