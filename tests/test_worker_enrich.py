"""The worker's `enrich` job (server/enrich/schedule.py): every new dataset version is enriched
by the background jobs, once; RAW uploads are left out; an idle catalog records no run; the
setting turns it off; and the real `peso worker --once` does it on a catalog `peso load`
filled. Real SQLite and local object stores, real marketing files through the loader."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from loaders.options import LoadOptions
from loaders.pipeline import LoadRequest, LoadResult, load_file
from server.enrich.schedule import JOB, new_versions
from server.models import RunState
from server.models_suggestions import SuggestionStatus
from server.scheduler import JOB_PREFIX, Scheduler
from server.settings import Settings
from server.storage.local import LocalObjectStore
from server.storage.sqlite.store import SQLiteGraphStore
from tests.conftest import MARKETING, make_settings, needs_corpus
from tests.serverproc import peso_env, run_peso

RETAIL = MARKETING / "uci_online_retail__OnlineRetail_first999rows.csv"
AD_CLICK = MARKETING / "ad_click__advertising.csv"
BANK = MARKETING / "uci_bank_marketing__bank.csv"


@dataclasses.dataclass
class World:
    graph: SQLiteGraphStore
    objects: LocalObjectStore
    settings: Settings
    tmp: Path

    def scheduler(self, **changes: Any) -> Scheduler:
        from server.jobs import SOURCES

        return Scheduler(self.graph, self.objects, dataclasses.replace(self.settings, **changes),
                         list(SOURCES))

    async def load(self, path: Path, name: str) -> LoadResult:
        return await load_file(LoadRequest(path=path, namespace="corpus", name=name,
                                           options=LoadOptions()),
                               graph=self.graph, objects=self.objects, actor="test",
                               tmp_dir=self.tmp)

    async def pending(self, dataset_id: str) -> int:
        page = await self.graph.list_suggestions(dataset_id=dataset_id,
                                                 status=SuggestionStatus.PENDING, first=1)
        return page.total


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    settings = make_settings(tmp_path)
    graph = SQLiteGraphStore(str(tmp_path / "catalog.db"))
    objects = LocalObjectStore(tmp_path / "objects")
    await graph.open()
    objects.open()
    try:
        yield World(graph, objects, settings, tmp_path)
    finally:
        objects.close()
        await graph.close()


async def enrich_runs(world: World) -> list[Any]:
    job = await world.graph.get_job("peso", JOB_PREFIX + JOB)
    return [] if job is None else (await world.graph.list_runs(job_id=job.id, first=20)).items


def statuses(outcomes: list[Any]) -> dict[str, str]:
    return {o.job: o.status for o in outcomes}


@needs_corpus
async def test_each_new_version_is_enriched_once(world: World) -> None:
    sched = world.scheduler()
    assert JOB not in statuses(await sched.tick())   # nothing loaded: no job, no run
    assert await enrich_runs(world) == []

    retail = await world.load(RETAIL, "retail")
    raw = await world.graph.get_dataset("corpus", "retail.raw")
    assert raw is not None
    raw_id, curated_id = raw.id, retail.curated.dataset.id
    assert [d for d, _ in await new_versions(world.graph, None)] == [curated_id]
    [outcome] = [o for o in await sched.tick() if o.job == JOB]
    assert outcome.status == "ran"
    assert outcome.summary.startswith("enriched 1 new versions: ")
    made = await world.pending(curated_id)
    assert made > 3
    assert f": {made} suggestions" in outcome.summary
    assert await world.pending(raw_id) == 0          # the RAW upload is left out
    [run] = await enrich_runs(world)
    assert run.state is RunState.COMPLETE
    assert run.facets["pesoWorker"]["summary"] == outcome.summary
    audit = await world.graph.list_audit(limit=200)
    assert {e.actor for e in audit if e.action == "suggestion.proposed"} == {"worker"}

    # nothing new: the job is not even listed, so an idle catalog records no run
    assert JOB not in statuses(await sched.tick())
    assert len(await enrich_runs(world)) == 1

    # a new dataset and a new version of the first: both enriched on the next tick
    ad = await world.load(AD_CLICK, "ad_click")
    second = await world.load(BANK, "retail")        # another file: version 2 of retail
    assert second.curated.version.version == 2
    assert statuses(await sched.tick())[JOB] == "ran"
    assert await world.pending(ad.curated.dataset.id) > 0
    v2 = await world.graph.list_suggestions(dataset_id=curated_id,
                                            status=SuggestionStatus.PENDING, first=100)
    assert {s.version for s in v2.items} >= {2}
    assert len(await enrich_runs(world)) == 2
    assert JOB not in statuses(await sched.tick())


@needs_corpus
async def test_the_setting_turns_it_off(world: World) -> None:
    retail = await world.load(RETAIL, "retail")
    assert JOB not in statuses(await world.scheduler(enrich_new_versions=False).tick())
    assert await world.pending(retail.curated.dataset.id) == 0
    assert await enrich_runs(world) == []


@needs_corpus
def test_peso_worker_once_enriches_what_peso_load_added(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = peso_env(data, PESO_ENRICH_NEW_VERSIONS="true")
    done = run_peso("load", str(RETAIL), "--dataset", "corpus/retail", data_dir=data, env=env)
    assert done.returncode == 0, done.stderr
    done = run_peso("worker", "--once", "--json", data_dir=data, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    jobs = {j["job"]: j for j in json.loads(done.stdout)["jobs"]}
    assert jobs[JOB]["status"] == "ran"
    assert jobs[JOB]["summary"].startswith("enriched 1 new versions")
    listed = run_peso("suggestions", "list", "corpus/retail", "--json", data_dir=data, env=env)
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) > 3
    again = run_peso("worker", "--once", "--json", data_dir=data, env=env, timeout=120)
    assert JOB not in {j["job"] for j in json.loads(again.stdout)["jobs"]}


async def test_a_collected_dataset_is_enriched_at_its_first_flush_only(world: World) -> None:
    from server.models import FieldSpec, NewVersion

    def flush(n: int) -> NewVersion:
        return NewVersion(namespace="web", name="clicks", content_hash=f"flush-{n}",
                          row_count=100 * n, byte_size=10 * n,
                          fields=[FieldSpec(name="event_id", arrow_type="int64")],
                          curated_key="collected/web/clicks", format="jsonl",
                          changes={"collected": {"flush": f"f{n}"}})

    [first] = await world.graph.register_versions([flush(1)], actor="collector")
    assert await new_versions(world.graph, None) == [(first.dataset.id, 1)]
    await world.graph.register_versions([flush(2)], actor="collector")
    assert await new_versions(world.graph, None) == []   # a flush every few seconds: skipped
