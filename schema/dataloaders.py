"""Per-request DataLoaders: one batched store call per kind of thing per tick, not one per row."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader
from strawberry.exceptions import WrongNumberOfResultsReturned

from server.models import (
    Dataset,
    DatasetVersion,
    Entity,
    Job,
    Owner,
    Page,
    Run,
    RunDataset,
    RunRole,
    SchemaField,
    Source,
    Tag,
)
from server.models_suggestions import Suggestion, SuggestionKind, SuggestionStatus
from server.storage.graph import GraphStore

K = TypeVar("K")
T = TypeVar("T")
R = TypeVar("R")

# (dataset id, status, kind, page size): a dataset's first page of suggestions
SuggestionsKey = tuple[str, SuggestionStatus | None, SuggestionKind | None, int]


@dataclass
class Loaders:
    dataset: DataLoader[str, Dataset | None]
    source: DataLoader[str, Source | None]
    entity: DataLoader[str, Entity | None]
    version: DataLoader[str, DatasetVersion | None]
    latest_version: DataLoader[str, DatasetVersion | None]
    versions: DataLoader[str, list[DatasetVersion]]
    fields: DataLoader[str, list[SchemaField]]
    tags: DataLoader[str, list[Tag]]
    owners: DataLoader[str, list[Owner]]
    entities: DataLoader[str, list[tuple[Entity, str | None]]]
    job: DataLoader[str, Job | None]
    job_by_key: DataLoader[tuple[str, str], Job | None]   # (namespace, name)
    run: DataLoader[str, Run | None]
    run_datasets: DataLoader[str, list[RunDataset]]
    job_datasets: DataLoader[str, list[tuple[str, RunRole]]]
    dataset_facets: DataLoader[str, dict[str, Any]]
    job_runs: DataLoader[tuple[str, int], Page[Run]]   # (job id, page size): first page
    suggestions: DataLoader[SuggestionsKey, Page[Suggestion]]


def make_loaders(graph: GraphStore) -> Loaders:
    return Loaders(
        dataset=DataLoader(graph.get_datasets),
        source=DataLoader(graph.get_sources),
        entity=DataLoader(graph.get_entities),
        version=DataLoader(graph.get_versions),
        latest_version=DataLoader(graph.get_latest_versions),
        versions=DataLoader(graph.list_versions),
        fields=DataLoader(graph.get_fields),
        tags=DataLoader(graph.get_tags),
        owners=DataLoader(graph.get_owners),
        entities=DataLoader(graph.get_dataset_entities),
        job=DataLoader(graph.get_jobs),
        job_by_key=DataLoader(graph.get_jobs_by_key),
        run=DataLoader(graph.get_runs),
        run_datasets=DataLoader(graph.get_run_datasets),
        job_datasets=DataLoader(graph.get_job_datasets),
        dataset_facets=DataLoader(graph.get_dataset_facets),
        job_runs=DataLoader(partial(_job_runs, graph)),
        suggestions=DataLoader(partial(_suggestions, graph)),
    )


async def _job_runs(graph: GraphStore, keys: list[tuple[str, int]]) -> list[Page[Run]]:
    """First pages of runs for (job, size) keys: one store read per distinct page size."""
    found: dict[tuple[str, int], Page[Run]] = {}
    for size in sorted({size for _, size in keys}):
        ids = list(dict.fromkeys(job for job, s in keys if s == size))
        found.update(((job, size), page) for job, page in
                     zip(ids, await graph.list_job_runs(ids, first=size), strict=True))
    return [found[key] for key in keys]


async def _suggestions(graph: GraphStore, keys: list[SuggestionsKey]
                       ) -> list[Page[Suggestion]]:
    """First pages of suggestions: one store read per distinct (status, kind, page size)."""
    found: dict[SuggestionsKey, Page[Suggestion]] = {}
    for status, kind, size in sorted({k[1:] for k in keys}, key=str):
        ids = list(dict.fromkeys(k[0] for k in keys if k[1:] == (status, kind, size)))
        pages = await graph.list_dataset_suggestions(ids, status=status, kind=kind, first=size)
        found.update(((i, status, kind, size), page)
                     for i, page in zip(ids, pages, strict=True))
    return [found[key] for key in keys]


def then(loader: DataLoader[K, T], key: K, shape: Callable[[T], R]) -> R | Awaitable[R]:
    """``shape(value)`` of the loader's value for ``key``: a plain value when the loader
    already holds it (``preload``), so graphql-core completes the field without a coroutine
    or a task, else an awaitable (the usual batched load). A failed load takes the awaitable
    way, so its error is reported on the field as always."""
    future = loader.cache_map.get(key)
    if future is not None and future.done() and not future.cancelled() \
            and future.exception() is None:
        return shape(future.result())

    async def later() -> R:
        return shape(await loader.load(key))
    return later()


async def preload(*batches: tuple[DataLoader[Any, Any], Iterable[Any]]) -> None:
    """Load each loader's keys now, in one batch per loader, so that the fields of a page's
    nodes read them with ``then`` synchronously. A failure is left in the loader: the field
    that asks for that key reports it, as it would have without the preload.

    The batch functions are called directly and their values put in the loaders' caches,
    as the loaders' own batch would (a key already cached is not loaded again): a page's
    ~200 keys then cost no future, done-callback and gather each."""
    direct: list[tuple[DataLoader[Any, Any], list[Any]]] = []
    queued: list[Awaitable[Any]] = []
    for loader, keys in batches:
        if not loader.cache or loader.max_batch_size:   # not Peso's loaders: their own way
            queued.append(loader.load_many(list(dict.fromkeys(keys))))
            continue
        wanted = [k for k in dict.fromkeys(keys) if not _cached(loader, k)]
        if wanted:
            direct.append((loader, wanted))
    found = await asyncio.gather(*(loader.load_fn(keys) for loader, keys in direct), *queued,
                                 return_exceptions=True)
    for (loader, keys), values in zip(direct, found, strict=False):
        _settle(loader, keys, values)


def _cached(loader: DataLoader[Any, Any], key: Any) -> bool:
    future = loader.cache_map.get(key)
    return future is not None and not future.cancelled()


def _settle(loader: DataLoader[Any, Any], keys: list[Any], values: Any) -> None:
    """What strawberry.dataloader.dispatch_batch does with a batch's outcome, into the
    loader's cache: a value per key, or the batch's error (or a value that is an error)
    for the field that asks to report."""
    if isinstance(values, BaseException) and not isinstance(values, Exception):
        raise values   # a cancellation (the query timeout) or an interpreter exit
    if not isinstance(values, Exception):
        values = list(values)
        if len(values) != len(keys):
            values = WrongNumberOfResultsReturned(expected=len(keys), received=len(values))
    for i, key in enumerate(keys):
        value = values if isinstance(values, Exception) else values[i]
        future: asyncio.Future[Any] = loader.loop.create_future()
        if isinstance(value, BaseException):
            future.set_exception(value)
            future.exception()   # retrieved: a field that asks re-raises it; no GC warning
        else:
            future.set_result(value)
        loader.cache_map.set(key, future)
