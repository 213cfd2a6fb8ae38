"""Per-request DataLoaders: one batched store call per kind of thing per tick, not one per row."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from functools import cached_property, partial
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


class Loaders:
    """The request's DataLoaders, each made on first use: a request reads two or three of
    the eighteen kinds, and a DataLoader (with its cache) costs a few objects to build."""

    def __init__(self, graph: GraphStore) -> None:
        self._graph = graph

    @cached_property
    def dataset(self) -> DataLoader[str, Dataset | None]:
        return DataLoader(self._graph.get_datasets)

    @cached_property
    def source(self) -> DataLoader[str, Source | None]:
        return DataLoader(self._graph.get_sources)

    @cached_property
    def entity(self) -> DataLoader[str, Entity | None]:
        return DataLoader(self._graph.get_entities)

    @cached_property
    def version(self) -> DataLoader[str, DatasetVersion | None]:
        return DataLoader(self._graph.get_versions)

    @cached_property
    def latest_version(self) -> DataLoader[str, DatasetVersion | None]:
        return DataLoader(self._graph.get_latest_versions)

    @cached_property
    def versions(self) -> DataLoader[str, list[DatasetVersion]]:
        return DataLoader(self._graph.list_versions)

    @cached_property
    def fields(self) -> DataLoader[str, list[SchemaField]]:
        return DataLoader(self._graph.get_fields)

    @cached_property
    def tags(self) -> DataLoader[str, list[Tag]]:
        return DataLoader(self._graph.get_tags)

    @cached_property
    def owners(self) -> DataLoader[str, list[Owner]]:
        return DataLoader(self._graph.get_owners)

    @cached_property
    def entities(self) -> DataLoader[str, list[tuple[Entity, str | None]]]:
        return DataLoader(self._graph.get_dataset_entities)

    @cached_property
    def job(self) -> DataLoader[str, Job | None]:
        return DataLoader(self._graph.get_jobs)

    @cached_property
    def job_by_key(self) -> DataLoader[tuple[str, str], Job | None]:   # (namespace, name)
        return DataLoader(self._graph.get_jobs_by_key)

    @cached_property
    def run(self) -> DataLoader[str, Run | None]:
        return DataLoader(self._graph.get_runs)

    @cached_property
    def run_datasets(self) -> DataLoader[str, list[RunDataset]]:
        return DataLoader(self._graph.get_run_datasets)

    @cached_property
    def job_datasets(self) -> DataLoader[str, list[tuple[str, RunRole]]]:
        return DataLoader(self._graph.get_job_datasets)

    @cached_property
    def dataset_facets(self) -> DataLoader[str, dict[str, Any]]:
        return DataLoader(self._graph.get_dataset_facets)

    @cached_property
    def job_runs(self) -> DataLoader[tuple[str, int], Page[Run]]:   # (job id, size): page 1
        return DataLoader(partial(_job_runs, self._graph))

    @cached_property
    def suggestions(self) -> DataLoader[SuggestionsKey, Page[Suggestion]]:
        return DataLoader(partial(_suggestions, self._graph))


def make_loaders(graph: GraphStore) -> Loaders:
    return Loaders(graph)


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


class NotReady(Exception):
    """``ready`` found no loaded value: the field's resolver answers the ordinary way."""


def _loaded(loader: DataLoader[K, T], key: K) -> asyncio.Future[T] | None:
    """The loader's settled, successful future for ``key``, if it holds one."""
    future = loader.cache_map.get(key)
    if future is not None and future.done() and not future.cancelled() \
            and future.exception() is None:
        return future
    return None


def ready(loader: DataLoader[K, T], key: K, shape: Callable[[T], R]) -> R:
    """``shape(value)`` of the loader's value for ``key`` when it already holds it
    (``preload``), else NotReady: what a field's ready reader (``schema.execution``) answers
    with, so that a compiled tree reads it without the resolver's frames."""
    future = _loaded(loader, key)
    if future is None:
        raise NotReady
    return shape(future.result())


def then(loader: DataLoader[K, T], key: K, shape: Callable[[T], R]) -> R | Awaitable[R]:
    """``shape(value)`` of the loader's value for ``key``: a plain value when the loader
    already holds it (``preload``), so graphql-core completes the field without a coroutine
    or a task, else an awaitable (the usual batched load). A failed load takes the awaitable
    way, so its error is reported on the field as always."""
    future = _loaded(loader, key)
    if future is not None:
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
