"""Peso's own jobs as OpenLineage runs: ``peso.load`` (``peso load``, ``loadFile``) and
``peso.migrate`` (``peso migrate``).

- peso.load: START (job and run only: nothing is registered yet, and a failed load registers
  nothing), then COMPLETE with the raw dataset ``<name>.raw`` as input and the curated one as
  output, both with a schema facet, the output with outputStatistics and a columnLineage
  facet (each curated field from the raw field of the same name) — or FAIL with an
  errorMessage facet. A re-run of identical content is a run too (it completes quickly).
- peso.migrate: recorded in Peso's own catalog (PESO_GRAPH_URL), or in the source when that
  is the target (the target must stay a pure copy of the source): inputs the source graph and
  object store, outputs the target's, each a dataset named ``catalog`` / ``objects`` in a
  namespace that is the store's URL without credentials.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from urllib.parse import quote, urlsplit

from server.models import DatasetVersion, SchemaField
from server.openlineage.producer import DatasetRef, Emitter, Field, ProducedRun, _custom
from server.settings import Settings
from server.storage.graph import GraphStore

LOAD_JOB = "peso.load"
MIGRATE_JOB = "peso.migrate"
_URI_SAFE = ":/?#[]@!$&'()*+,;=%~-._"


class LoadRun:
    def __init__(self, run: ProducedRun, graph: GraphStore) -> None:
        self.run, self.graph = run, graph

    async def completed(self, namespace: str, name: str, raw_name: str,
                        version: DatasetVersion) -> None:
        [stored] = await self.graph.get_fields([version.id])
        fields = [_field(f) for f in stored]
        raw = DatasetRef(namespace, raw_name, fields=fields)
        curated = DatasetRef(namespace, name, fields=fields, rows=version.row_count,
                             size=version.byte_size,
                             derived=[(f.name, raw, f.name) for f in fields])
        await self.run.complete(inputs=[raw], outputs=[curated])

    async def unchanged(self, version: DatasetVersion) -> None:
        """A concurrent load of the same content registered it first: this run wrote
        nothing. COMPLETE without outputs, marked, so it cannot pass for a new load."""
        await self.run.complete(run_facets={"pesoLoad": _custom(
            unchanged=True, version=version.version,
            note="identical content was already registered; nothing was written")})

    async def failed(self, error: BaseException) -> None:
        await self.run.fail(error)


def _field(f: SchemaField) -> Field:
    return Field(f.name, f.arrow_type, f.description)


class LoadLineage:
    """Handed to ``loaders.pipeline.load_file`` by ``peso load`` and ``loadFile``."""

    def __init__(self, graph: GraphStore, settings: Settings | None, *, actor: str) -> None:
        """``settings`` None: record in the catalog only, forward nowhere (``peso demo``)."""
        self.graph = graph
        self.emitter = Emitter(graph, forward_url=settings.openlineage_url if settings else "",
                               actor=actor)

    async def started(self, namespace: str, name: str, file: str) -> LoadRun:
        run = self.emitter.run(LOAD_JOB, "Load a file into the catalog: keep the raw upload, "
                                         "clean and type it, write curated Parquet.")
        await run.start()
        return LoadRun(run, self.graph)


def store_namespace(url: str) -> str:
    """A store URL as a lineage namespace: no user, password, query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return quote(f"{parts.scheme}://{netloc}{parts.path}", safe=_URI_SAFE)


class MigrateRun:
    def __init__(self, run: ProducedRun, inputs: list[DatasetRef],
                 outputs: list[DatasetRef]) -> None:
        self.run, self.inputs, self.outputs = run, inputs, outputs
        self.failed = False

    async def fail(self, error: BaseException | str) -> None:
        self.failed = True
        await self.run.fail(error, self.inputs, self.outputs)


@contextlib.asynccontextmanager
async def migrate_run(settings: Settings, *, from_graph: str, to_graph: str,
                      from_objects: str, to_objects: str) -> AsyncIterator[MigrateRun]:
    """Report a ``peso migrate`` as a run: START on entry, COMPLETE on a clean exit, FAIL
    (with the error) when the block raises. The block may call ``fail(...)`` itself
    (verification failed) and return normally.

    The run is recorded in Peso's own catalog (PESO_GRAPH_URL) only when that catalog is
    neither the source nor the target: a run written into the source during the copy would
    make the source move on under the copy (a re-run would then find differing records), and
    the target must stay a pure copy. The events still go to PESO_OPENLINEAGE_URL."""
    from server.settings import parse_graph_url
    from server.storage import factory

    own = parse_graph_url(settings.graph_url)
    copied = own in (parse_graph_url(from_graph), parse_graph_url(to_graph))
    graph = None if copied else factory.graph_store(settings)
    if graph is not None:
        await graph.open()
    try:
        emitter = Emitter(graph, forward_url=settings.openlineage_url, actor="cli")
        run = MigrateRun(
            emitter.run(MIGRATE_JOB, "Copy a whole catalog (graph and objects) to other "
                                     "stores and verify it."),
            [DatasetRef(store_namespace(from_graph), "catalog"),
             DatasetRef(store_namespace(from_objects), "objects")],
            [DatasetRef(store_namespace(to_graph), "catalog"),
             DatasetRef(store_namespace(to_objects), "objects")])
        await run.run.start(run.inputs, run.outputs)
        try:
            yield run
        except BaseException as exc:
            if not run.failed:
                await run.fail(exc)
            raise
        if not run.failed:
            await run.run.complete(run.inputs, run.outputs)
    finally:
        if graph is not None:
            await graph.close()
