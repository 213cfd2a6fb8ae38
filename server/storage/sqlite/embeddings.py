"""Embeddings for semantic search on SQLite, mixed into ``SQLiteGraphStore``.

Vectors live in ``dataset_embeddings`` (float32 blobs, unit length). Nearest-neighbour search is
exact: each store process keeps every vector in one numpy matrix and answers a query with one
matrix-vector product (about 5 ms for 100,000 256-wide vectors, bench/semantic_search.py), so
no ANN index has to be kept in step with the table. The matrix is brought up to date at each
query from the rows whose ``seq`` is newer than what it holds (another process may have stored
them), and rebuilt when the model changes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from server.errors import ConfigError, ValidationError
from server.models import EmbeddingTask, SearchHit
from server.storage.sqlite import rows, sql

if TYPE_CHECKING:
    import numpy as np

    from server.storage.sqlite.db import Database


def _numpy() -> Any:
    try:
        import numpy
    except ImportError as exc:  # pragma: no cover - numpy ships with peso[semantic]
        raise ConfigError("semantic search on SQLite needs numpy: pip install 'peso[semantic]'"
                          ) from exc
    return numpy


class _Matrix:
    """Every stored vector of one model generation, in memory, refreshed incrementally."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generation = -1
        self.seq = 0
        self.rids: np.ndarray | None = None
        self.vectors: np.ndarray | None = None
        self.row_of: dict[int, int] = {}

    def refresh(self, c: sqlite3.Connection, generation: int, dimensions: int) -> None:
        np = _numpy()
        if generation != self.generation:
            self.generation, self.seq, self.row_of = generation, 0, {}
            self.rids = np.zeros(0, dtype=np.int64)
            self.vectors = np.zeros((0, dimensions), dtype=np.float32)
        if int(c.execute(sql.EMBEDDING_STATE).fetchone()[0]) <= self.seq:
            return
        assert self.rids is not None
        assert self.vectors is not None
        new_rids: list[int] = []
        new_vecs: list[bytes] = []
        for r in c.execute(sql.EMBEDDING_SINCE, (self.seq,)):
            rid, blob = int(r[0]), bytes(r[1])
            at = self.row_of.get(rid)
            if at is not None:  # re-embedded: overwrite in place
                self.vectors[at] = np.frombuffer(blob, dtype="<f4")
            else:
                self.row_of[rid] = len(self.row_of)
                new_rids.append(rid)
                new_vecs.append(blob)
        self.seq = int(c.execute(sql.EMBEDDING_STATE).fetchone()[0])
        if new_rids:
            added = np.frombuffer(b"".join(new_vecs), dtype="<f4").reshape(-1, dimensions)
            self.rids = np.concatenate([self.rids, np.asarray(new_rids, dtype=np.int64)])
            self.vectors = np.concatenate([self.vectors, added])


class EmbeddingsMixin:
    db: Database
    _matrix: _Matrix

    async def prepare_embeddings(self, *, model: str, dimensions: int) -> bool:
        if dimensions < 1:
            raise ValidationError("embedding width must be positive", field="dimensions")

        def run(c: sqlite3.Connection) -> bool:
            row = c.execute(sql.EMBEDDING_MODEL).fetchone()
            if row is not None and row["model"] == model and row["dimensions"] == dimensions:
                return False
            c.execute(sql.EMBEDDING_SET_MODEL, (model, dimensions))
            c.execute(sql.EMBEDDING_DROP_ALL)
            c.execute(sql.EMBEDDING_QUEUE_ALL)
            return True
        return await self.db.write(run)

    async def pending_embeddings(self, *, limit: int) -> list[EmbeddingTask]:
        def run(c: sqlite3.Connection) -> list[EmbeddingTask]:
            out = []
            for r in c.execute(sql.EMBEDDING_PENDING, (limit,)).fetchall():
                tags = tuple(t[0] for t in c.execute(sql.TAG_NAMES_OF, (r["id"],)))
                fields = tuple(f[0] for f in c.execute(sql.LATEST_FIELD_NAMES, (r["id"],)))
                out.append(EmbeddingTask(dataset_id=r["id"], ticket=r["ticket"],
                                         namespace=r["namespace"], name=r["name"],
                                         description=r["description"], tags=tags,
                                         fields=fields))
            return out
        return await self.db.read(run)

    async def store_embeddings(self, items: Sequence[tuple[str, str, Sequence[float]]]
                               ) -> int:
        np = _numpy()

        def run(c: sqlite3.Connection) -> int:
            row = c.execute(sql.EMBEDDING_MODEL).fetchone()
            if row is None:
                raise ValidationError("no embedding model prepared (prepare_embeddings first)")
            width = int(row["dimensions"])
            seq = int(c.execute(sql.EMBEDDING_NEXT_SEQ).fetchone()[0])
            stored = 0
            for dataset_id, ticket, vector in items:
                v = np.asarray(vector, dtype=np.float32).reshape(-1)
                if v.shape[0] != width:
                    raise ValidationError(f"embedding of dataset {dataset_id} has {v.shape[0]} "
                                          f"dimensions, the prepared model {width}",
                                          field="vector")
                found = c.execute(sql.EMBEDDING_TICKET, (dataset_id, ticket)).fetchone()
                if found is None:
                    continue  # changed again (or deleted) since it was handed out
                norm = float(np.linalg.norm(v))
                v = v / norm if norm > 0 else v
                c.execute(sql.EMBEDDING_UPSERT, (found[0], seq, v.astype("<f4").tobytes()))
                c.execute(sql.EMBEDDING_UNQUEUE, (found[0],))
                stored += 1
            return stored
        return await self.db.write(run)

    async def nearest_datasets(self, vector: Sequence[float], *, k: int) -> list[SearchHit]:
        np = _numpy()
        if k < 1:
            return []
        q = np.asarray(vector, dtype=np.float32).reshape(-1)
        norm = float(np.linalg.norm(q))
        if norm == 0:
            return []
        q = q / norm
        matrix = self._matrix

        def run(c: sqlite3.Connection) -> list[SearchHit]:
            model = c.execute(sql.EMBEDDING_MODEL).fetchone()
            if model is None:
                return []
            if q.shape[0] != int(model["dimensions"]):
                raise ValidationError(f"query vector has {q.shape[0]} dimensions, the stored "
                                      f"model {model['dimensions']}", field="vector")
            with matrix.lock:
                matrix.refresh(c, int(model["generation"]), int(model["dimensions"]))
                vectors, rids = matrix.vectors, matrix.rids
            assert vectors is not None
            assert rids is not None
            if len(rids) == 0:
                return []
            scores = vectors @ q
            want = min(len(rids), k * 2 + 16)  # headroom for deleted datasets
            top = np.argpartition(-scores, want - 1)[:want] if want < len(rids) \
                else np.arange(len(rids))
            top = top[np.argsort(-scores[top], kind="stable")]
            by_rid = {int(rids[i]): float(scores[i]) for i in top}
            found = {int(r["rid"]): rows.dataset(r) for r in c.execute(
                sql.live_datasets_by_rids(len(by_rid)), list(by_rid))}
            hits = [SearchHit(found[rid], score) for rid, score in by_rid.items() if rid in found]
            hits.sort(key=lambda h: (-h.score, h.dataset.namespace, h.dataset.name))
            return hits[:k]
        return await self.db.read(run)
