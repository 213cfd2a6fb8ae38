"""Search over dataset names, descriptions, tags and field names: full text, ranked together
with embeddings when semantic search is on (server/semantic.py)."""

from __future__ import annotations

import strawberry

from schema.context import Info
from schema.relay import PageInfo, check_first, offset_after, offset_cursor, page_info
from schema.types import Dataset
from server.embedders import semantic_enabled
from server.errors import ValidationError
from server.ids import check_text
from server.models import SearchHit
from server.semantic import index_for
from server.storage.graph import SEARCH_WINDOW


@strawberry.type
class SearchEdge:
    cursor: str
    score: float = strawberry.field(description="Relevance, higher is better: bm25 with "
                                    "semantic search off, the hybrid rank-fusion score with "
                                    "it on.")
    node: Dataset


@strawberry.type
class SearchConnection:
    edges: list[SearchEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class SearchQuery:
    @strawberry.field(description="Datasets matching every word of `query` (prefix match), "
                                  "best first; with semantic search on (PESO_SEMANTIC_SEARCH) "
                                  "also the datasets nearest in meaning, ranked together with "
                                  "them. `totalCount` counts every match; pages reach "
                                  "the first 5000 results, and a query matching more ranks "
                                  "5000 of its matches: the most recently registered on "
                                  "SQLite, the best-scoring on Neo4j.")
    async def search(self, info: Info, query: str, first: int | None = None,
                     after: str | None = None) -> SearchConnection:
        size = check_first(first, info.context.settings.max_page_size)
        start = offset_after(after)
        if start >= SEARCH_WINDOW:
            raise ValidationError(f"search pages reach the first {SEARCH_WINDOW} results; "
                                  "narrow the query", field="after")
        text = check_text(query, field="query", limit=500) or ""
        hits, total = await semantic_or_text(info, text, first=size, offset=start)
        for h in hits:
            info.context.loaders.dataset.prime(h.dataset.id, h.dataset)
        cursors = [offset_cursor(start + i + 1) for i in range(len(hits))]
        edges = [SearchEdge(cursor=c, score=h.score, node=Dataset.from_model(h.dataset))
                 for c, h in zip(cursors, hits, strict=True)]
        return SearchConnection(edges=edges, total_count=total,
                                page_info=page_info(
                                    cursors, start + len(hits) < min(total, SEARCH_WINDOW),
                                    start > 0))


async def semantic_or_text(info: Info, text: str, *, first: int, offset: int
                           ) -> tuple[list[SearchHit], int]:
    settings, graph = info.context.settings, info.context.graph
    if not text.strip() or not semantic_enabled(settings):
        return await graph.search(text, first=first, offset=offset)
    index = await index_for(settings)
    return await index.search(graph, settings, text, first=first, offset=offset)
