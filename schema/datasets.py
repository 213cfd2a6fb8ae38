"""Datasets: look-ups, the filtered/sorted list, and the mutations that shape a dataset."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types.nodes import SelectedField, Selection

from loaders.contract import parse_contract
from schema.context import Info
from schema.dataloaders import Loaders, preload
from schema.enums import DatasetLayer, DatasetOrderField, EntityKind, OrderDirection, OwnerKind
from schema.payloads import DatasetPayload, attempt
from schema.relay import check_first, decode_after, tagged_cursor
from schema.types import Connection, Dataset, connection
from server import models
from server.errors import ValidationError
from server.ids import (
    check_label,
    check_lineage_name,
    check_lineage_namespace,
    check_name,
    check_namespace,
    check_text,
    normalize_tag,
)


@strawberry.input(description="Narrow `datasets`; every given field must match.")
class DatasetFilter:
    namespace: str | None = None
    source: str | None = strawberry.field(default=None, description="Source name.")
    tag: str | None = None
    entity_kind: EntityKind | None = strawberry.field(
        default=None, description="Datasets describing at least one entity of this kind.")
    text: str | None = strawberry.field(
        default=None, description="Words matched against names, descriptions, tags, fields.")
    layer: DatasetLayer | None = None


@strawberry.input
class DatasetOrder:
    field: DatasetOrderField = DatasetOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input(description="A dataset's natural key.")
class DatasetRef:
    namespace: str
    name: str


@strawberry.input
class RegisterDatasetInput:
    namespace: str
    name: str
    description: str | None = None
    source: str | None = strawberry.field(default=None, description="An existing source name.")
    tags: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class TagInput:
    namespace: str
    name: str
    tag: str


@strawberry.input
class DescribeDatasetInput:
    namespace: str
    name: str
    description: str | None


@strawberry.input
class SetContractInput:
    namespace: str
    name: str
    contract: JSON | None = strawberry.field(
        description="The validation contract (the format `peso load --contract` reads); "
                    "null removes it.")


@strawberry.input
class AddOwnerInput:
    namespace: str
    name: str
    owner: str
    kind: OwnerKind = OwnerKind.TEAM
    email: str | None = None


def dataset_key(namespace: str, name: str) -> models.DatasetKey:
    """The key of a dataset Peso creates: the strict grammar of server.ids."""
    return models.DatasetKey(check_namespace(namespace), check_name(name))


def existing_dataset_key(namespace: str, name: str) -> models.DatasetKey:
    """The key of a dataset a mutation changes: it may have arrived from OpenLineage with a
    URI namespace (``postgres://db:5432``) and a path-like name, so the lineage grammar
    applies (still no control characters, NUL bytes, '..' segments or over-long names)."""
    return models.DatasetKey(check_lineage_namespace(namespace), check_lineage_name(name))


def node_fields(info: Info) -> set[str]:
    """The fields asked of a connection's nodes (``edges { node { … } }``; ``nodes`` too,
    should a connection have it), fragments included: what a page resolver may load for
    all its nodes at once. A node field's own fields are there too, as ``field.subfield``
    (``latestVersion.fields``)."""
    found: set[str] = set()
    for top in info.selected_fields:
        for part in _fields(top.selections):
            if part.name == "nodes":
                found |= _asked(part.selections)
            elif part.name == "edges":
                for node in _fields(part.selections):
                    if node.name == "node":
                        found |= _asked(node.selections)
    return found


def object_fields(info: Info) -> set[str]:
    """The fields asked of the object a resolver returns (fragments included), with their
    own as ``field.subfield``: what ``preload_relations`` may load for it at once."""
    found: set[str] = set()
    for top in info.selected_fields:
        found |= _asked(top.selections)
    return found


def _fields(selections: Sequence[Selection]) -> Iterator[SelectedField]:
    for sel in selections:
        if isinstance(sel, SelectedField):
            yield sel
        else:   # a fragment spread or inline fragment: its own selections
            yield from _fields(sel.selections)


def _asked(selections: Sequence[Selection]) -> set[str]:
    """The names selected, and their own selections' as ``name.subname``."""
    found: set[str] = set()
    for f in _fields(selections):
        found.add(f.name)
        found.update(f"{f.name}.{sub.name}" for sub in _fields(f.selections))
    return found


async def preload_relations(loaders: Loaders, page: Sequence[models.Dataset],
                            wanted: set[str]) -> None:
    """What the fields in ``wanted`` will read of these datasets, loaded now (one batch per
    relation, the schemas of the latest versions after them), so that ``Dataset.source``,
    ``tags``, ``latestVersion`` and ``DatasetVersion.fields`` answer plainly (``then``)."""
    ids = [d.id for d in page]
    await preload(*(batch for field, batch in (
        ("source", (loaders.source, [d.source_id for d in page if d.source_id])),
        ("tags", (loaders.tags, ids)),
        ("latestVersion", (loaders.latest_version, ids))) if field in wanted))
    if "latestVersion.fields" in wanted:   # the versions' schemas, in one more read
        versions = await loaders.latest_version.load_many(ids)
        await preload((loaders.fields, [v.id for v in versions if v is not None]))


@strawberry.type
class DatasetQuery:
    @strawberry.field(description="One dataset by namespace and name (null if absent).")
    async def dataset(self, info: Info, namespace: str, name: str) -> Dataset | None:
        found = await info.context.graph.get_dataset(namespace, name)
        if found is None:
            return None
        loaders = info.context.loaders
        loaders.dataset.prime(found.id, found)
        # its source, tags and latest version (and that version's schema) in one step, as a
        # page's: the answer is then one compiled tree (schema/execution.py)
        await preload_relations(loaders, [found], object_fields(info))
        return Dataset.from_model(found)

    @strawberry.field(description="Live datasets, filtered and sorted, in pages of `first` "
                                  "(at most PESO_MAX_PAGE_SIZE).")
    async def datasets(self, info: Info, first: int | None = None, after: str | None = None,
                       filter: DatasetFilter | None = None,
                       order_by: DatasetOrder | None = None) -> Connection[Dataset]:
        size = check_first(first, info.context.settings.max_page_size)
        flt, order = filter or DatasetFilter(), order_by or DatasetOrder()
        tag = f"datasets:{order.field.value}:{order.direction.value}"
        model_filter = models.DatasetFilter(
            namespace=flt.namespace, source=flt.source,
            tag=normalize_tag(flt.tag) if flt.tag is not None else None,
            entity_kind=models.EntityKind(flt.entity_kind.value) if flt.entity_kind else None,
            text=check_text(flt.text, field="filter.text", limit=500),
            layer=models.DatasetLayer(flt.layer.value) if flt.layer else None)
        page = await info.context.graph.list_datasets(model_filter, models.PageRequest(
            first=size, after=decode_after(after, 2, tag),
            sort=models.DatasetSort(order.field.value),
            descending=order.direction is OrderDirection.DESC))
        loaders = info.context.loaders
        for d in page.items:
            loaders.dataset.prime(d.id, d)
        await preload_relations(loaders, page.items, node_fields(info))
        return connection([Dataset.from_model(d) for d in page.items],
                          [tagged_cursor(tag, c) for c in page.cursors], has_next=page.has_next,
                          has_previous=after is not None, total=page.total)


@strawberry.type
class DatasetMutation:
    @strawberry.mutation(description="Create a dataset (or update its description, source and "
                                     "tags); versions arrive by loading files.")
    async def register_dataset(self, info: Info, input: RegisterDatasetInput
                               ) -> DatasetPayload:
        graph, actor = info.context.graph, info.context.actor

        async def run() -> models.Dataset:
            key = dataset_key(input.namespace, input.name)
            tags = [normalize_tag(t) for t in input.tags]
            ds = await graph.upsert_dataset(
                namespace=key.namespace, name=key.name, actor=actor,
                description=check_text(input.description, field="description"),
                source_name=check_label(input.source, field="source") if input.source else None)
            for tag in tags:
                await graph.add_tag(key, tag, actor=actor)
            return ds
        found, errors = await attempt(run())
        return DatasetPayload(dataset=Dataset.from_model(found) if found else None, errors=errors)

    @strawberry.mutation(description="Soft-delete: hidden from lists, search and lineage; "
                                     "kept in history and the audit log.")
    async def delete_dataset(self, info: Info, input: DatasetRef) -> DatasetPayload:
        async def run() -> models.Dataset:
            key = existing_dataset_key(input.namespace, input.name)
            return await info.context.graph.delete_dataset(key.namespace, key.name,
                                                           actor=info.context.actor)
        found, errors = await attempt(run())
        return DatasetPayload(dataset=Dataset.from_model(found) if found else None, errors=errors)

    @strawberry.mutation
    async def tag_dataset(self, info: Info, input: TagInput) -> DatasetPayload:
        async def run() -> models.Dataset:
            key, tag = existing_dataset_key(input.namespace, input.name), normalize_tag(input.tag)
            return await info.context.graph.add_tag(key, tag, actor=info.context.actor)
        found, errors = await attempt(run())
        return DatasetPayload(dataset=Dataset.from_model(found) if found else None, errors=errors)

    @strawberry.mutation
    async def untag_dataset(self, info: Info, input: TagInput) -> DatasetPayload:
        async def run() -> models.Dataset:
            key, tag = existing_dataset_key(input.namespace, input.name), normalize_tag(input.tag)
            return await info.context.graph.remove_tag(key, tag, actor=info.context.actor)
        found, errors = await attempt(run())
        return DatasetPayload(dataset=Dataset.from_model(found) if found else None, errors=errors)

    @strawberry.mutation
    async def describe_dataset(self, info: Info, input: DescribeDatasetInput
                               ) -> DatasetPayload:
        async def run() -> models.Dataset:
            key = existing_dataset_key(input.namespace, input.name)
            text = check_text(input.description, field="description")
            return await info.context.graph.set_description(key.namespace, key.name, text,
                                                            actor=info.context.actor)
        found, errors = await attempt(run())
        return DatasetPayload(dataset=Dataset.from_model(found) if found else None, errors=errors)

    @strawberry.mutation(description="Store a dataset's validation contract, applied to its "
                                     "later loads and collected events.")
    async def set_dataset_contract(self, info: Info, input: SetContractInput
                                   ) -> DatasetPayload:
        graph, actor = info.context.graph, info.context.actor

        async def run() -> models.Dataset:
            contract: dict[str, Any] | None = None
            if input.contract is not None:
                if not isinstance(input.contract, dict):
                    raise ValidationError("contract must be a JSON object", field="contract")
                contract = parse_contract(input.contract, label="contract").as_dict()
            key = existing_dataset_key(input.namespace, input.name)
            return await graph.set_contract(key.namespace, key.name, contract, actor=actor)
        found, errors = await attempt(run())
        return DatasetPayload(dataset=Dataset.from_model(found) if found else None, errors=errors)

    @strawberry.mutation
    async def add_owner(self, info: Info, input: AddOwnerInput) -> DatasetPayload:
        graph = info.context.graph

        async def run() -> models.Dataset:
            key = existing_dataset_key(input.namespace, input.name)
            await graph.add_owner(key, name=check_label(input.owner, field="owner"),
                                  kind=models.OwnerKind(input.kind.value),
                                  email=check_text(input.email, field="email", limit=320),
                                  actor=info.context.actor)
            found = await graph.get_dataset(key.namespace, key.name)
            assert found is not None  # add_owner just proved it live
            return found
        found, errors = await attempt(run())
        return DatasetPayload(dataset=Dataset.from_model(found) if found else None, errors=errors)
