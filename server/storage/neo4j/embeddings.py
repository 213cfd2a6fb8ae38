"""Embeddings for semantic search on Neo4j: one ``(:DatasetEmbedding {dataset_id, vector})``
node per dataset under Neo4j's native vector index (HNSW, cosine), kept apart from the
``Dataset`` node so that the 256+ floats never travel with ordinary dataset reads. A dataset
waiting for (re-)embedding carries ``embedding_ticket`` (set by ``base.reindex``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.errors import ValidationError
from server.models import EmbeddingTask, SearchHit
from server.storage.neo4j import cypher as ce
from server.storage.neo4j import records
from server.storage.neo4j.base import INDEX_WAIT_SECONDS, Neo4jBase, Tx, _consume, one, rows

_STORE_BATCH = 500


class EmbeddingsMixin(Neo4jBase):
    async def prepare_embeddings(self, *, model: str, dimensions: int) -> bool:
        if dimensions < 1 or dimensions > 4096:  # Neo4j 5's vector index takes 1..4096
            raise ValidationError("embedding width must be 1..4096", field="dimensions")

        async def current(tx: Tx) -> dict[str, object] | None:
            return await one(tx, ce.EMBEDDING_MODEL)
        found = await self._read(current)
        if found is not None and found["model"] == model and found["dimensions"] == dimensions:
            return False
        driver = self._require()
        async with driver.session(database=self.database) as session:  # schema: auto-commit
            await self._call(_consume(session.run(ce.DROP_VECTOR_INDEX)))
            await self._call(_consume(session.run(ce.create_vector_index(dimensions))))
            await self._call(_consume(session.run(ce.AWAIT_INDEXES, seconds=INDEX_WAIT_SECONDS)))

        async def reset(tx: Tx) -> None:
            for statement in (ce.EMBEDDING_DROP_ALL, ce.EMBEDDING_QUEUE_ALL):
                await (await tx.run(statement)).consume()
            await (await tx.run(ce.EMBEDDING_SET_MODEL, model=model,
                                dimensions=dimensions)).consume()
        await self._write(reset)
        return True

    async def pending_embeddings(self, *, limit: int) -> list[EmbeddingTask]:
        async def work(tx: Tx) -> list[EmbeddingTask]:
            return [EmbeddingTask(dataset_id=r["id"], ticket=r["ticket"],
                                  namespace=r["namespace"], name=r["name"],
                                  description=r["description"], tags=tuple(r["tags"]),
                                  fields=tuple(r["fields"]))
                    for r in await rows(tx, ce.EMBEDDING_PENDING, limit=limit)]
        return await self._read(work)

    async def store_embeddings(self, items: Sequence[tuple[str, str, Sequence[float]]]
                               ) -> int:
        async def width(tx: Tx) -> int | None:
            found = await one(tx, ce.EMBEDDING_MODEL)
            return int(found["dimensions"]) if found else None
        dims = await self._read(width)
        if dims is None:
            raise ValidationError("no embedding model prepared (prepare_embeddings first)")
        batch: list[dict[str, Any]] = []
        for dataset_id, ticket, vector in items:
            v = [float(x) for x in vector]
            if len(v) != dims:
                raise ValidationError(f"embedding of dataset {dataset_id} has {len(v)} "
                                      f"dimensions, the prepared model {dims}", field="vector")
            batch.append({"id": dataset_id, "ticket": ticket, "vector": v})
        stored = 0
        for start in range(0, len(batch), _STORE_BATCH):
            part = batch[start:start + _STORE_BATCH]

            async def work(tx: Tx, part: list[dict[str, Any]] = part) -> int:
                found = await one(tx, ce.EMBEDDING_STORE, items=part)
                return int(found["n"]) if found else 0
            stored += await self._write(work)
        return stored

    async def nearest_datasets(self, vector: Sequence[float], *, k: int) -> list[SearchHit]:
        if k < 1:
            return []
        q = [float(x) for x in vector]
        if not any(q):
            return []

        async def work(tx: Tx) -> list[SearchHit]:
            model = await one(tx, ce.EMBEDDING_MODEL)
            if model is None:
                return []
            if len(q) != int(model["dimensions"]):
                raise ValidationError(f"query vector has {len(q)} dimensions, the stored "
                                      f"model {model['dimensions']}", field="vector")
            found = await rows(tx, ce.EMBEDDING_NEAREST, k=k * 2 + 16, vector=q, limit=k)
            return [SearchHit(records.dataset(r["d"]), 2.0 * float(r["score"]) - 1.0)
                    for r in found]
        return await self._read(work)
