"""Contract: the embeddings behind semantic search (prepare, queue, store, nearest), on every
graph backend. Vectors here are small hand-made ones, so the contract needs no model."""

from __future__ import annotations

import pytest

from server.errors import ValidationError
from server.models import FieldSpec
from server.storage.graph import GraphStore
from tests.contract.helpers import ACTOR, audit_mark, audit_since, dataset, key, new_version

DIMS = 4
VECTORS = {
    "mkt/campaigns": [1.0, 0.0, 0.0, 0.0],
    "crm/customers": [0.0, 1.0, 0.0, 0.0],
    "web/sessions": [0.6, 0.8, 0.0, 0.0],
}


async def _embed_pending(graph: GraphStore) -> dict[str, str]:
    """Store VECTORS for whatever is pending; return {key: ticket} of what was handed out."""
    tasks = await graph.pending_embeddings(limit=100)
    handed = {f"{t.namespace}/{t.name}": t.ticket for t in tasks}
    stored = await graph.store_embeddings(
        [(t.dataset_id, t.ticket, VECTORS[f"{t.namespace}/{t.name}"]) for t in tasks])
    assert stored == len(tasks)
    return handed


@pytest.fixture
async def catalog(graph: GraphStore) -> GraphStore:
    await dataset(graph, "mkt", "campaigns", description="Clicks per campaign")
    await dataset(graph, "crm", "customers", description="Loyalty members")
    await graph.register_versions([new_version(
        "web", "sessions", fields=[FieldSpec("session_id", "string")])], actor=ACTOR)
    return graph


async def test_prepare_queues_every_live_dataset_once(catalog: GraphStore) -> None:
    assert await catalog.prepare_embeddings(model="test-model", dimensions=DIMS) is True
    assert await catalog.prepare_embeddings(model="test-model", dimensions=DIMS) is False
    tasks = {f"{t.namespace}/{t.name}": t for t in await catalog.pending_embeddings(limit=100)}
    assert set(tasks) == set(VECTORS)
    assert tasks["mkt/campaigns"].description == "Clicks per campaign"
    assert tasks["web/sessions"].fields == ("session_id",)
    await _embed_pending(catalog)
    assert await catalog.pending_embeddings(limit=100) == []


async def test_nearest_by_cosine_best_first_and_no_audit(catalog: GraphStore) -> None:
    await catalog.prepare_embeddings(model="test-model", dimensions=DIMS)
    mark = await audit_mark(catalog)
    await _embed_pending(catalog)
    assert await audit_since(catalog, mark) == []  # a derived index, like full text
    hits = await catalog.nearest_datasets([1.0, 0.1, 0.0, 0.0], k=3)
    assert [str(h.dataset.key) for h in hits] == ["mkt/campaigns", "web/sessions",
                                                  "crm/customers"]
    assert hits[0].score == pytest.approx(0.995, abs=0.01)   # cosine, not the raw dot product
    assert hits[2].score == pytest.approx(0.0995, abs=0.01)
    assert [str(h.dataset.key) for h in await catalog.nearest_datasets(
        [0.0, 2.0, 0.0, 0.0], k=1)] == ["crm/customers"]


@pytest.mark.parametrize("change", ["description", "tag", "version", "deleted"])
async def test_a_change_queues_the_dataset_again(catalog: GraphStore, change: str) -> None:
    await catalog.prepare_embeddings(model="test-model", dimensions=DIMS)
    await _embed_pending(catalog)
    if change == "description":
        await catalog.set_description("crm", "customers", "Shoppers with points", actor=ACTOR)
    elif change == "tag":
        await catalog.add_tag(key("crm", "customers"), "gdpr", actor=ACTOR)
    elif change == "version":
        await catalog.register_versions([new_version(
            "crm", "customers", "h2", fields=[FieldSpec("points", "int64")])], actor=ACTOR)
    else:
        await catalog.delete_dataset("crm", "customers", actor=ACTOR)
    pending = await catalog.pending_embeddings(limit=100)
    if change == "deleted":  # gone from the queue and from the results
        assert pending == []
        hits = await catalog.nearest_datasets([0.0, 1.0, 0.0, 0.0], k=3)
        assert "crm/customers" not in {str(h.dataset.key) for h in hits}
        return
    assert [(t.namespace, t.name) for t in pending] == [("crm", "customers")]
    task = pending[0]
    if change == "description":
        assert task.description == "Shoppers with points"
    if change == "tag":
        assert task.tags == ("gdpr",)
    if change == "version":
        assert task.fields == ("points",)
    # the stale vector still answers until the new one is stored
    assert (await catalog.nearest_datasets([0.0, 1.0, 0.0, 0.0], k=1))[0].dataset.name \
        == "customers"
    assert await catalog.store_embeddings([(task.dataset_id, task.ticket,
                                            [0.0, 0.0, 1.0, 0.0])]) == 1
    assert (await catalog.nearest_datasets([0.0, 0.0, 1.0, 0.0], k=1))[0].dataset.name \
        == "customers"


async def test_a_stale_ticket_is_not_stored(catalog: GraphStore) -> None:
    """A change made while a vector was being computed must not be lost."""
    await catalog.prepare_embeddings(model="test-model", dimensions=DIMS)
    tasks = await catalog.pending_embeddings(limit=100)
    await catalog.set_description("mkt", "campaigns", "Changed meanwhile", actor=ACTOR)
    stored = await catalog.store_embeddings(
        [(t.dataset_id, t.ticket, VECTORS[f"{t.namespace}/{t.name}"]) for t in tasks])
    assert stored == 2
    [again] = await catalog.pending_embeddings(limit=100)
    assert (again.name, again.description) == ("campaigns", "Changed meanwhile")


async def test_a_new_model_drops_every_vector(catalog: GraphStore) -> None:
    await catalog.prepare_embeddings(model="test-model", dimensions=DIMS)
    await _embed_pending(catalog)
    assert await catalog.prepare_embeddings(model="other-model", dimensions=3) is True
    assert await catalog.nearest_datasets([1.0, 0.0, 0.0], k=3) == []
    assert len(await catalog.pending_embeddings(limit=100)) == 3
    assert len(await catalog.pending_embeddings(limit=2)) == 2


async def test_wrong_width_is_refused(catalog: GraphStore) -> None:
    await catalog.prepare_embeddings(model="test-model", dimensions=DIMS)
    [task, *_] = await catalog.pending_embeddings(limit=100)
    with pytest.raises(ValidationError, match="3 dimensions"):
        await catalog.store_embeddings([(task.dataset_id, task.ticket, [1.0, 0.0, 0.0])])
    with pytest.raises(ValidationError, match="dimensions"):
        await catalog.nearest_datasets([1.0, 0.0], k=3)
