"""Embedders for semantic search: text in, unit-length float vectors out.

Two implementations of one small interface (``Embedder``):

- ``LocalEmbedder``: WordLlama (``wordllama`` on PyPI, the ``peso[semantic]`` extra), whose
  wheel ships its 256-wide ``l2_supercat`` weights and tokenizer: it loads from the installed
  package with downloads disabled, so it never reaches the network (tests/test_semantic_search.py
  runs it in a process with no network at all). ~0.6 s to load, ~10,000 texts/s on one core.
- ``OpenAIEmbedder``: any OpenAI-compatible ``POST {url}/embeddings`` endpoint (OpenAI, Ollama,
  vLLM, LiteLLM, llama.cpp server...), chosen by ``PESO_EMBEDDINGS_URL``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import httpx

from server.errors import ConfigError, StoreUnavailableError
from server.settings import Settings

LOCAL_MODEL = "wordllama/l2_supercat_256"
REMOTE_BATCH = 64           # texts per request to an embeddings endpoint
REMOTE_TIMEOUT_SECONDS = 30.0
MAX_TEXT_CHARS = 2000       # what one dataset's text is cut to before embedding


class Embedder(Protocol):
    model: str        # stored with the vectors: a different model re-embeds everything
    dimensions: int

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector per text, in order."""


def _unit(v: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in v))
    return [float(x) / norm for x in v] if norm > 0 else [float(x) for x in v]


def local_model_available() -> bool:
    try:
        import wordllama  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return False
    return True


class LocalEmbedder:
    """WordLlama from the installed package only (``disable_download=True``)."""

    def __init__(self) -> None:
        try:
            import wordllama
            from wordllama import WordLlama
        except ImportError as exc:
            raise ConfigError("the local embedding model needs the semantic extra: "
                              "pip install 'peso[semantic]' (or set PESO_EMBEDDINGS_URL)"
                              ) from exc
        # the wheel holds weights/ and tokenizers/; pointing the cache at the package folder
        # makes WordLlama find both there instead of trying to download them
        package = Path(wordllama.__file__).parent
        try:
            self._model: Any = WordLlama.load(config="l2_supercat", dim=256,
                                              cache_dir=package, disable_download=True)
        except FileNotFoundError as exc:
            raise ConfigError(f"the installed wordllama package lacks its bundled weights "
                              f"({exc}); reinstall peso[semantic]") from exc
        self.model = LOCAL_MODEL
        self.dimensions = 256

    def embed_sync(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        import numpy as np
        m = np.asarray(self._model.embed([t[:MAX_TEXT_CHARS] for t in texts], norm=False,
                                         batch_size=256), dtype=np.float32)
        norms = np.linalg.norm(m, axis=1, keepdims=True)
        m = (m / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        out: list[list[float]] = m.tolist()
        return out

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return await asyncio.to_thread(self.embed_sync, list(texts))


class OpenAIEmbedder:
    """``POST {url}/embeddings`` with ``{"model", "input": [...]}``; reads ``data[i].embedding``
    (by ``index``). The width is learnt from the first answer (``probe``)."""

    def __init__(self, url: str, model: str, api_key: str = "", *,
                 timeout: float = REMOTE_TIMEOUT_SECONDS) -> None:
        self.url = url.rstrip("/") + "/embeddings"
        self.model = f"openai:{model}"
        self._name = model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = timeout
        self.dimensions = 0

    async def probe(self) -> None:
        if self.dimensions == 0:
            self.dimensions = len((await self._post(["dimension probe"]))[0])

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for start in range(0, len(texts), REMOTE_BATCH):
            out.extend(await self._post([t[:MAX_TEXT_CHARS] for t in
                                         texts[start:start + REMOTE_BATCH]]))
        return out

    async def _post(self, texts: list[str]) -> list[list[float]]:
        where = f"embeddings endpoint {self.url}"
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                resp = await client.post(self.url, headers=self._headers,
                                         json={"model": self._name, "input": texts})
        except httpx.HTTPError as exc:
            raise StoreUnavailableError(f"{where} did not answer: {exc}") from exc
        if resp.status_code != 200:
            raise StoreUnavailableError(f"{where} answered HTTP {resp.status_code}: "
                                        f"{resp.text[:200]}")
        try:
            data = sorted(resp.json()["data"], key=lambda d: int(d["index"]))
            vectors = [[float(x) for x in d["embedding"]] for d in data]
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreUnavailableError(f"{where} sent a malformed answer (expected "
                                        f"data[].embedding): {exc}") from exc
        if len(vectors) != len(texts):
            raise StoreUnavailableError(f"{where} returned {len(vectors)} embeddings for "
                                        f"{len(texts)} texts")
        widths = {len(v) for v in vectors}
        if len(widths) != 1 or (self.dimensions and widths != {self.dimensions}):
            raise StoreUnavailableError(f"{where} returned embeddings of widths "
                                        f"{sorted(widths)}, expected {self.dimensions or 'one'}")
        return [_unit(v) for v in vectors]


def semantic_enabled(settings: Settings) -> bool:
    """Whether ``search`` ranks with embeddings: PESO_SEMANTIC_SEARCH, ``auto`` meaning
    "an endpoint is configured or the local model is installed"."""
    if settings.semantic_search == "off":
        return False
    if settings.semantic_search == "on":
        return True
    return bool(settings.embeddings_url) or local_model_available()


async def build_embedder(settings: Settings) -> Embedder:
    """The configured embedder, ready (an endpoint's width probed); ConfigError when none can
    be built, StoreUnavailableError when the endpoint does not answer."""
    if settings.embeddings_url:
        remote = OpenAIEmbedder(settings.embeddings_url, settings.embeddings_model,
                                settings.embeddings_api_key)
        await remote.probe()
        return remote
    return await asyncio.to_thread(LocalEmbedder)
