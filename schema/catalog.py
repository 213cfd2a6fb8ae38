"""Sources and entities: who publishes the data, and what the data is about."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from schema.context import Info
from schema.datasets import existing_dataset_key
from schema.enums import EntityKind, SourceKind
from schema.payloads import DatasetPayload, EntityPayload, SourcePayload, attempt
from schema.relay import check_first, decode_after, tagged_cursor
from schema.types import Connection, Dataset, Entity, Source, connection
from server import models
from server.errors import ValidationError
from server.ids import check_label, check_text, from_global_id


@strawberry.input
class UpsertSourceInput:
    name: str
    kind: SourceKind = SourceKind.OTHER
    url: str | None = None
    license: str | None = None
    description: str | None = None


@strawberry.input
class UpsertEntityInput:
    kind: EntityKind
    name: str
    description: str | None = None
    identifiers: JSON | None = strawberry.field(
        default=None, description="String keys to string values, e.g. {\"domain\": \"x.com\"}.")


@strawberry.input
class LinkEntityInput:
    namespace: str
    name: str
    entity_id: strawberry.ID
    role: str | None = None


def _identifiers(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > 50 or not all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= 100 and len(v) <= 1000
            for k, v in value.items()):
        raise ValidationError("identifiers must be an object of at most 50 string keys "
                              "(≤100 chars) to string values (≤1000 chars)", field="identifiers")
    return {k: v for k, v in value.items() if "\x00" not in k + v}


def entity_raw_id(entity_id: str) -> str:
    type_name, raw = from_global_id(entity_id)
    if type_name != "Entity":
        raise ValidationError(f"id {entity_id[:80]!r} is a {type_name}, not an Entity",
                              field="entityId")
    return raw


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="Sources by name, in pages.")
    async def sources(self, info: Info, first: int | None = None,
                      after: str | None = None) -> Connection[Source]:
        size = check_first(first, info.context.settings.max_page_size)
        page = await info.context.graph.list_sources(first=size,
                                                     after=decode_after(after, 2, "sources"))
        return connection([Source.from_model(s) for s in page.items],
                          [tagged_cursor("sources", c) for c in page.cursors],
                          has_next=page.has_next, has_previous=after is not None,
                          total=page.total)

    @strawberry.field(description="Entities by name, optionally of one kind or humanness.")
    async def entities(self, info: Info, kind: EntityKind | None = None,
                       is_human: bool | None = None, first: int | None = None,
                       after: str | None = None) -> Connection[Entity]:
        size = check_first(first, info.context.settings.max_page_size)
        page = await info.context.graph.list_entities(
            kind=models.EntityKind(kind.value) if kind else None, is_human=is_human,
            first=size, after=decode_after(after, 2, "entities"))
        return connection([Entity.from_model(e) for e in page.items],
                          [tagged_cursor("entities", c) for c in page.cursors],
                          has_next=page.has_next, has_previous=after is not None,
                          total=page.total)


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(description="Create or update a source, keyed by name.")
    async def upsert_source(self, info: Info, input: UpsertSourceInput
                            ) -> SourcePayload:
        async def run() -> models.Source:
            return await info.context.graph.upsert_source(
                name=check_label(input.name, field="name"),
                kind=models.SourceKind(input.kind.value),
                url=check_text(input.url, field="url", limit=2000),
                license=check_text(input.license, field="license", limit=200),
                description=check_text(input.description, field="description"),
                actor=info.context.actor)
        found, errors = await attempt(run())
        return SourcePayload(source=Source.from_model(found) if found else None, errors=errors)

    @strawberry.mutation(description="Create or update an entity, keyed by kind and name.")
    async def upsert_entity(self, info: Info, input: UpsertEntityInput
                            ) -> EntityPayload:
        async def run() -> models.Entity:
            return await info.context.graph.upsert_entity(
                kind=models.EntityKind(input.kind.value),
                name=check_label(input.name, field="name"),
                description=check_text(input.description, field="description"),
                identifiers=_identifiers(input.identifiers), actor=info.context.actor)
        found, errors = await attempt(run())
        return EntityPayload(entity=Entity.from_model(found) if found else None, errors=errors)

    @strawberry.mutation(description="Record that a dataset describes an entity (DESCRIBES).")
    async def link_entity(self, info: Info, input: LinkEntityInput
                          ) -> DatasetPayload:
        graph = info.context.graph

        async def run() -> models.Dataset:
            key = existing_dataset_key(input.namespace, input.name)
            role = check_label(input.role, field="role", limit=100) if input.role else None
            await graph.link_entity(key, entity_raw_id(input.entity_id), role=role,
                                    actor=info.context.actor)
            found = await graph.get_dataset(key.namespace, key.name)
            assert found is not None  # link_entity just proved it live
            return found
        found, errors = await attempt(run())
        return DatasetPayload(dataset=Dataset.from_model(found) if found else None, errors=errors)
