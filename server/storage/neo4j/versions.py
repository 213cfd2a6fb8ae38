"""Versions, fields and lineage on Neo4j."""

from __future__ import annotations

from collections.abc import Sequence

from server.errors import ConflictError, ValidationError
from server.ids import new_id
from server.models import (
    DatasetKey,
    DatasetVersion,
    Direction,
    LineageEdge,
    LineageGraph,
    NewVersion,
    RegisteredVersion,
    SchemaField,
)
from server.storage.batching import grouped
from server.storage.neo4j import cypher, records
from server.storage.neo4j.base import (
    Neo4jBase,
    Tx,
    audit,
    dataset_by_id,
    iso,
    listed,
    live_dataset,
    now,
    one,
    reindex,
    rows,
    run,
)
from server.storage.neo4j.datasets import ensure_dataset


async def register_one(tx: Tx, item: NewVersion, actor: str) -> RegisteredVersion:
    dataset_id = await ensure_dataset(tx, item.namespace, item.name, item.layer,
                                      item.description, item.source_name, actor)
    await run(tx, cypher.DATASET_LOCK, id=dataset_id)  # serialise numbering per dataset
    found = await one(tx, cypher.VERSION_LATEST_OF, id=dataset_id)
    latest = records.version(found["v"]) if found else None
    if latest is not None and latest.content_hash == item.content_hash:
        return RegisteredVersion(await dataset_by_id(tx, dataset_id), latest, created=False)
    number = (latest.version if latest else 0) + 1
    version_id = item.version_id or new_id()
    stamp = iso(now())
    await run(tx, cypher.VERSION_CREATE, dataset_id=dataset_id, id=version_id, version=number,
              content_hash=item.content_hash, row_count=item.row_count,
              byte_size=item.byte_size, raw_key=item.raw_key, curated_key=item.curated_key,
              format=item.format, now=stamp, created_by=actor,
              quality=records.to_json_or_none(item.quality),
              changes=records.to_json_or_none(item.changes),
              quarantine_key=item.quarantine_key)
    if item.fields:
        await run(tx, cypher.FIELDS_CREATE, version_id=version_id, fields=[
            {"id": new_id(), "position": pos, "name": f.name, "arrow_type": f.arrow_type,
             "nullable": f.nullable, "description": f.description,
             "metadata": records.to_json(f.metadata), "semantic_type": f.semantic_type,
             "pii": f.pii, "stats": records.to_json(f.stats)}
            for pos, f in enumerate(item.fields)])
    if item.contract is not None:
        await run(tx, cypher.DATASET_SET_CONTRACT, id=dataset_id,
                  contract=records.to_json(item.contract), now=stamp)
    await run(tx, cypher.DATASET_SET_LATEST, id=dataset_id, version_id=version_id, now=stamp)
    await audit(tx, actor, "version.added", "DatasetVersion", version_id,
                {"dataset": f"{item.namespace}/{item.name}", "version": number,
                 "rows": item.row_count, "content_hash": item.content_hash})
    await reindex(tx, dataset_id)
    created = await one(tx, cypher.VERSIONS_BY_IDS, ids=[version_id])
    assert created is not None
    return RegisteredVersion(await dataset_by_id(tx, dataset_id), records.version(created["v"]),
                             created=True)


async def put_lineage(tx: Tx, downstream: DatasetKey, upstream: DatasetKey,
                      transformation: str | None, job: str | None, actor: str) -> LineageEdge:
    if downstream == upstream:
        raise ConflictError(f"dataset {downstream} cannot be derived from itself")
    down, up = await live_dataset(tx, downstream), await live_dataset(tx, upstream)
    before = await one(tx, cypher.LINEAGE_GET, down=down.id, up=up.id)
    if before is None or (before["transformation"], before["job"]) != (transformation, job):
        await run(tx, cypher.LINEAGE_UPSERT, down=down.id, up=up.id,
                  transformation=transformation, job=job, now=iso(now()))
        await audit(tx, actor, "lineage.added", "Dataset", down.id,
                    {"upstream": str(upstream), "transformation": transformation, "job": job})
    edge = await one(tx, cypher.LINEAGE_GET, down=down.id, up=up.id)
    assert edge is not None
    return records.edge(edge)


class VersionsMixin(Neo4jBase):
    async def register_versions(
        self, items: Sequence[NewVersion], *,
        lineage: Sequence[tuple[DatasetKey, DatasetKey, str | None]] = (), actor: str,
    ) -> list[RegisteredVersion]:
        async def work(tx: Tx) -> list[RegisteredVersion]:
            out = [await register_one(tx, item, actor) for item in items]
            for downstream, upstream, transformation in lineage:
                await put_lineage(tx, downstream, upstream, transformation, "peso.load", actor)
            return out
        return await self._write(work)

    async def get_versions(self, ids: Sequence[str]) -> list[DatasetVersion | None]:
        return await self._get_by_ids(cypher.VERSIONS_BY_IDS, "v", records.version, ids)

    async def list_versions(self, dataset_ids: Sequence[str]) -> list[list[DatasetVersion]]:
        if not dataset_ids:
            return []

        async def work(tx: Tx) -> list[DatasetVersion]:
            return [records.version(m) for m in
                    await listed(tx, cypher.VERSIONS_OF_DATASETS, ids=list(dataset_ids))]
        return grouped([(v.dataset_id, v) for v in await self._read(work)], dataset_ids)

    async def get_latest_versions(self, dataset_ids: Sequence[str]
                                  ) -> list[DatasetVersion | None]:
        if not dataset_ids:
            return []

        async def work(tx: Tx) -> list[DatasetVersion]:
            return [records.version(m) for m in
                    await listed(tx, cypher.LATEST_VERSIONS_OF_DATASETS, ids=list(dataset_ids))]
        found = {v.dataset_id: v for v in await self._read(work)}
        return [found.get(i) for i in dataset_ids]

    async def get_fields(self, version_ids: Sequence[str]) -> list[list[SchemaField]]:
        if not version_ids:
            return []

        async def work(tx: Tx) -> list[SchemaField]:
            return [records.field(m) for m in
                    await listed(tx, cypher.FIELDS_OF_VERSIONS, ids=list(version_ids))]
        return grouped([(f.version_id, f) for f in await self._read(work)], version_ids)

    # --- lineage ---------------------------------------------------------------------------
    async def put_lineage(self, downstream: DatasetKey, upstream: DatasetKey, *,
                          transformation: str | None = None, job: str | None = None,
                          actor: str) -> LineageEdge:
        async def work(tx: Tx) -> LineageEdge:
            return await put_lineage(tx, downstream, upstream, transformation, job, actor)
        return await self._write(work)

    async def get_lineage(self, dataset_id: str, *, direction: Direction,
                          depth: int) -> LineageGraph:
        if type(depth) is not int or depth < 0:
            raise ValidationError(f"lineage depth must be a non-negative integer, not {depth!r}")
        walks = []
        if depth > 0:  # validated again (1..max) by the builder before it is formatted in
            if direction in (Direction.UPSTREAM, Direction.BOTH):
                walks.append((Direction.UPSTREAM, cypher.lineage_walk(
                    Direction.UPSTREAM, depth, self.max_lineage_depth)))
            if direction in (Direction.DOWNSTREAM, Direction.BOTH):
                walks.append((Direction.DOWNSTREAM, cypher.lineage_walk(
                    Direction.DOWNSTREAM, depth, self.max_lineage_depth)))

        async def work(tx: Tx) -> LineageGraph:
            start = await rows(tx, cypher.DATASETS_BY_IDS, ids=[dataset_id])
            if not start or records.dataset(start[0]["d"]).deleted_at is not None:
                return LineageGraph([], [])  # a deleted start hides its whole neighbourhood
            depths: dict[str, int] = {dataset_id: 0}
            for way, query in walks:
                for r in await rows(tx, query, id=dataset_id):
                    if r["id"] == dataset_id:
                        continue
                    if way is Direction.UPSTREAM:
                        depths[r["id"]] = -int(r["depth"])
                    else:
                        depths.setdefault(r["id"], int(r["depth"]))
            ids = list(depths)
            datasets = {d.id: d for d in (records.dataset(r["d"]) for r in
                                          await rows(tx, cypher.DATASETS_BY_IDS, ids=ids))}
            edges = [records.edge(r) for r in
                     await rows(tx, cypher.LINEAGE_EDGES_AMONG, ids=ids)]
            return records.lineage_graph(datasets, depths, edges)
        return await self._read(work)
