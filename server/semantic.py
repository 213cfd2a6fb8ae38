"""Semantic search: hybrid ranking (full text + embeddings) behind the GraphQL ``search`` field.

One ``SemanticIndex`` per embedder configuration and process. It keeps every store's vectors
in step with the datasets (the store queues a dataset whenever its name, description, tags or
latest fields change; ``refresh`` embeds what is queued), and ranks a query by weighted
reciprocal rank fusion of two lists:

- the full-text matches (``GraphStore.search``: every query word, prefix-matched), and
- the ``PESO_SEMANTIC_CANDIDATES`` nearest datasets by cosine similarity of embeddings
  (``GraphStore.nearest_datasets``) at or above ``PESO_SEMANTIC_MIN_SIMILARITY``,

score = (1 - w) / (60 + full-text rank) + w / (60 + embedding rank), w = PESO_SEMANTIC_WEIGHT,
a list a dataset is absent from adding nothing. Rank fusion needs no calibration between bm25
and cosine scales (which differ per backend and per model). The fused head holds the first
``PESO_SEMANTIC_CANDIDATES`` of each list; later pages continue with the remaining full-text
matches in their own order, so paging stays stable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import weakref
from collections.abc import Sequence

from server.embedders import Embedder, build_embedder
from server.errors import PesoError
from server.models import EmbeddingTask, SearchHit
from server.settings import Settings
from server.storage.graph import SEARCH_WINDOW, GraphStore

log = logging.getLogger("peso.semantic")

RRF_K = 60               # the usual rank-fusion constant (Cormack et al., 2009)
REFRESH_BATCH = 256      # datasets embedded per refresh step (at search time, and per loop)
MAX_FIELDS = 60          # field names of one dataset put in its text

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def words(name: str) -> str:
    """``bank_marketingFull`` → ``bank marketing full``: names as an embedder reads words."""
    return " ".join(w.lower() for w in _WORD.findall(name))


def dataset_text(task: EmbeddingTask) -> str:
    """What is embedded for one dataset: its name as words, description, tags, field names."""
    parts = [f"{words(task.name)} ({words(task.namespace)})"]
    if task.description:
        parts.append(task.description)
    if task.tags:
        parts.append("Tags: " + ", ".join(words(t) or t for t in task.tags))
    if task.fields:
        parts.append("Fields: " + ", ".join(words(f) or f for f in task.fields[:MAX_FIELDS]))
    return ". ".join(parts)


class SemanticIndex:
    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._ready: weakref.WeakSet[GraphStore] = weakref.WeakSet()
        self._drains: weakref.WeakKeyDictionary[GraphStore, asyncio.Task[int]] = \
            weakref.WeakKeyDictionary()

    async def ready(self, graph: GraphStore) -> None:
        """Tell the store which model its vectors are (once per store and process)."""
        if graph not in self._ready:
            if await graph.prepare_embeddings(model=self.embedder.model,
                                              dimensions=self.embedder.dimensions):
                log.info("embedding model is now %s (%d dimensions): every dataset is queued "
                         "for embedding", self.embedder.model, self.embedder.dimensions)
            self._ready.add(graph)

    async def refresh(self, graph: GraphStore, *, limit: int = REFRESH_BATCH) -> int:
        """Embed up to ``limit`` queued datasets; return how many were handed out."""
        await self.ready(graph)
        tasks = await graph.pending_embeddings(limit=limit)
        if not tasks:
            return 0
        vectors = await self.embedder.embed([dataset_text(t) for t in tasks])
        await graph.store_embeddings([(t.dataset_id, t.ticket, v)
                                      for t, v in zip(tasks, vectors, strict=True)])
        return len(tasks)

    async def refresh_all(self, graph: GraphStore, *, batch: int = REFRESH_BATCH) -> int:
        """Embed everything queued; return how many datasets were embedded."""
        done = 0
        while (n := await self.refresh(graph, limit=batch)) > 0:
            done += n
        return done

    def drain_in_background(self, graph: GraphStore) -> None:
        """Embed the rest of the queue in a task (one per store), e.g. after a bulk load."""
        running = self._drains.get(graph)
        if running is not None and not running.done():
            return

        async def drain() -> int:
            try:
                return await self.refresh_all(graph)
            except PesoError as exc:
                log.warning("semantic search: embedding the queued datasets stopped: %s",
                            exc.message)
                return 0
        self._drains[graph] = asyncio.get_running_loop().create_task(drain())

    async def stop(self, graph: GraphStore) -> None:
        task = self._drains.pop(graph, None)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def search(self, graph: GraphStore, settings: Settings, text: str, *, first: int,
                     offset: int = 0) -> tuple[list[SearchHit], int]:
        """Hybrid search (see the module docstring): ``(hits, total)`` like
        ``GraphStore.search``; ``total`` may count a dataset twice when more than
        PESO_SEMANTIC_CANDIDATES datasets match the words and one of the later ones is also
        among the nearest."""
        if await self.refresh(graph) == REFRESH_BATCH:
            self.drain_in_background(graph)
        k, w = settings.semantic_candidates, settings.semantic_weight
        [query_vector] = await self.embedder.embed([text])
        # the two lists at once: both stores answer from threads or the network
        nearest, (lexical, lexical_total) = await asyncio.gather(
            graph.nearest_datasets(query_vector, k=k) if w > 0 else _nothing(),
            graph.search(text, first=k, offset=0))
        near = [h for h in nearest if h.score >= settings.semantic_min_similarity]
        head = fused_head(lexical, near, weight=w)
        near_ids = {h.dataset.id for h in near}
        lexical_ids = {h.dataset.id for h in lexical}
        total = lexical_total + len(near_ids - lexical_ids)
        end = min(offset + first, SEARCH_WINDOW)
        if end <= len(head) or lexical_total <= len(lexical):
            return head[offset:end], total
        # past the fused head: the remaining full-text matches, in their order, minus those
        # already in the head (the nearest ones among them)
        want = end - len(head) + len(near_ids)
        more, _ = await graph.search(text, first=min(want, SEARCH_WINDOW - k), offset=k)
        rest = [h for h in more if h.dataset.id not in near_ids]
        return (head + rest)[offset:end], total


async def _nothing() -> list[SearchHit]:
    return []


def fused_head(lexical: Sequence[SearchHit], near: Sequence[SearchHit], *, weight: float
               ) -> list[SearchHit]:
    """Weighted reciprocal rank fusion of the two lists, best first (ties by name); a dataset
    only in a list whose weight is 0 is left out."""
    scores: dict[str, float] = {}
    by_id: dict[str, SearchHit] = {}
    for share, ranked in ((1.0 - weight, lexical), (weight, near)):
        if share <= 0:
            continue
        for rank, hit in enumerate(ranked):
            by_id.setdefault(hit.dataset.id, hit)
            scores[hit.dataset.id] = scores.get(hit.dataset.id, 0.0) + share / (RRF_K + rank + 1)
    return sorted((SearchHit(by_id[i].dataset, s) for i, s in scores.items()),
                  key=lambda h: (-h.score, h.dataset.namespace, h.dataset.name))


# --- one index per embedder configuration and process ---------------------------------------
_indexes: dict[tuple[str, str, str], SemanticIndex] = {}


async def index_for(settings: Settings) -> SemanticIndex:
    """The process's index for these settings' embedder, built on first use (the local model
    loads in ~0.6 s). ConfigError / StoreUnavailableError when no embedder can be built."""
    key = (settings.embeddings_url, settings.embeddings_model, settings.embeddings_api_key)
    found = _indexes.get(key)
    if found is None:
        found = _indexes.setdefault(key, SemanticIndex(await build_embedder(settings)))
    return found


async def stop(graph: GraphStore) -> None:
    """Stop any background embedding of ``graph`` (the app's shutdown)."""
    for index in list(_indexes.values()):
        await index.stop(graph)
