"""The catalog health report (server/health.py): counts that move when the catalog changes
(a failed run, a load failing its contract, a described dataset), editions stored per day
and read back with their diff, over GraphQL (`catalogHealth`) and `peso report`."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from loaders.pipeline import LoadRequest, load_file
from server.cli import main
from server.health import edition
from server.models import DatasetKey, OwnerKind
from tests.conftest import gql
from tests.helpers import call, messages, q, stores, write_csv
from tests.lineage_events import new_run_id, run_event

OBJECT_BACKENDS = ("local", "s3")   # editions are objects: on a folder and on S3 (moto)

HEALTH = """
query($date: String) {
  catalogHealth(date: $date) {
    date staleDays markdown diff lists datasetsByLayer growthByWeek
    counts { datasets versions sources storageBytes stale failedRuns withoutDescription
             withoutOwner unownedPiiColumns contractFailures }
  }
}"""


def health(client: TestClient, day: str | None = None) -> dict[str, Any]:
    report: dict[str, Any] = q(client, HEALTH, date=day)["catalogHealth"]
    return report


def load_csv(client: TestClient, tmp: Path, name: str,
             contract: dict[str, Any] | None = None) -> None:
    graph, objects = stores(client)
    path = write_csv(tmp / f"{name}.csv", ["id", "email", "age"],
                     [[1, "a@x.io", 34], [2, "b@x.io", 12]])
    work = client.app.state.settings.data_dir / "tmp"  # type: ignore[attr-defined]
    work.mkdir(parents=True, exist_ok=True)
    call(client, load_file, LoadRequest(path=path, namespace="crm", name=name,
                                        contract=contract),
         graph=graph, objects=objects, actor="test", tmp_dir=work)


def test_counts_follow_the_catalog(client: TestClient, tmp_path: Path) -> None:
    empty = health(client)["counts"]
    assert empty["datasets"] == 0
    assert empty["failedRuns"] == 0

    load_csv(client, tmp_path, "people")
    load_csv(client, tmp_path, "minors", contract={"on_violation": "warn",
                                                   "columns": {"age": {"min": 18}}})
    run = new_run_id()
    response = client.post("/api/v1/lineage", json=run_event("nightly", run, "FAIL"))
    assert response.status_code < 300, response.text
    report = health(client)
    c = report["counts"]
    assert c["datasets"] == 4                   # each load: a raw and a curated dataset
    assert report["datasetsByLayer"] == {"curated": 2, "raw": 2}
    assert c["versions"] == 4
    assert list(report["growthByWeek"].values())[-1] == 4   # all created this week
    assert len(report["growthByWeek"]) == 8
    assert c["storageBytes"] > 0
    assert c["withoutDescription"] == 2
    assert c["withoutOwner"] == 4
    assert c["unownedPiiColumns"] == 4          # the email column of each
    assert c["contractFailures"] == 1
    assert report["lists"]["contract_failures"] == ["crm/minors"]
    assert c["failedRuns"] == 1
    assert report["lists"]["failed_runs"][0]["run"] == run
    assert c["stale"] == 0
    assert "| Latest versions failing their contract | 1 |" in report["markdown"]

    graph, _ = stores(client)
    call(client, graph.add_owner, DatasetKey("crm", "people"), name="CRM team",
         kind=OwnerKind.TEAM, actor="test")
    c = health(client)["counts"]
    assert c["withoutOwner"] == 3
    assert c["unownedPiiColumns"] == 3


def test_editions_by_day_with_diff(client: TestClient, tmp_path: Path) -> None:
    graph, objects = stores(client)
    now = datetime.now(UTC)
    yesterday = now - timedelta(days=1)
    call(client, edition, graph, objects, stale_days=30, now=yesterday)  # stores yesterday's
    load_csv(client, tmp_path, "people")
    today = call(client, edition, graph, objects, stale_days=30, now=now)
    assert today["diff"] == {"since": yesterday.date().isoformat(),
                             "counts": {**dict.fromkeys(today["counts"], 0),
                                        "datasets": 2, "versions": 2,
                                        "storage_bytes": today["counts"]["storage_bytes"],
                                        "without_description": 1, "without_owner": 2,
                                        "unowned_pii_columns": 2}}
    past = health(client, yesterday.date().isoformat())
    assert past["date"] == yesterday.date().isoformat()
    assert past["counts"]["datasets"] == 0
    # stale: with a clock 31 days on, the dataset loaded today is overdue
    later = call(client, edition, graph, objects, stale_days=30,
                 now=now + timedelta(days=31), save=False)
    assert later["counts"]["stale"] == 2
    assert later["lists"]["stale"] == ["crm/people", "crm/people.raw"]


def test_missing_and_malformed_dates_are_clear_errors(client: TestClient) -> None:
    missing = messages(gql(client, HEALTH, {"date": "2001-01-01"}))
    assert "no catalog health report was stored for 2001-01-01" in missing[0]
    assert "is not YYYY-MM-DD" in messages(gql(client, HEALTH, {"date": "yesterday"}))[0]


def test_peso_report_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    for name in list(os.environ):
        if name.startswith("PESO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PESO_DATA_DIR", str(tmp_path / "data"))
    csv = write_csv(tmp_path / "c.csv", ["id", "name"], [[1, "x"]])
    assert main(["load", str(csv), "--dataset", "crm/customers", "--json"]) == 0
    capsys.readouterr()
    assert main(["report"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# Catalog health, ")
    assert "| Datasets | 2 |" in text
    assert main(["report", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["datasets"] == 2
    stored = tmp_path / "data" / "objects" / "reports" / "health" / f"{report['date']}.json"
    assert stored.is_file()
    assert main(["report", "--date", "1999-01-01"]) == 1
    assert "no catalog health report was stored for 1999-01-01" in capsys.readouterr().err

    # a load that fails changes the numbers: one more failed run, named in the list
    assert "| Failed or aborted runs | 0 |" in text
    broken = tmp_path / "broken.csv"
    broken.write_text("id,name\n")   # a header only: refused without --allow-empty
    assert main(["load", str(broken), "--dataset", "crm/broken"]) != 0
    capsys.readouterr()
    assert main(["report"]) == 0
    after = capsys.readouterr().out
    assert "| Failed or aborted runs | 1 |" in after
    assert "| Datasets | 2 |" in after   # the failed load registered nothing
    assert "## Failed or aborted runs" in after


def test_periodicities_are_read_as_periods() -> None:
    from server.freshness import overdue, period

    assert period("R/P1D") == timedelta(days=1)
    assert period("R/PT1H") == timedelta(hours=1)
    assert period("R/P0.5M") == timedelta(days=15.22)
    assert period("weekly") == timedelta(weeks=1)
    assert period("http://purl.org/cld/freq/monthly") == timedelta(days=30.44)
    for nothing in ("irregular", "", None, "R/P", "every now and then"):
        assert period(nothing) is None
    now = datetime(2026, 12, 7, tzinfo=UTC)
    assert overdue("R/P1D", "2026-12-01", now) == timedelta(days=4)
    assert overdue("R/P1Y", "2026-12-01", now) is None
    assert overdue("R/P1D", "not a date", now) is None


def test_overdue_entity_kinds_and_pii_waiting_for_review(client: TestClient,
                                                         tmp_path: Path) -> None:
    from server.models import EntityKind
    from server.models_suggestions import NewSuggestion, SuggestionKind

    graph, _ = stores(client)
    stale = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
    fresh = datetime.now(UTC).date().isoformat()
    for name, every, modified in (("daily-late", "R/P1D", stale), ("daily-ok", "R/P1D", fresh),
                                  ("yearly", "R/P1Y", stale), ("irregular", "irregular", stale)):
        event = {"eventTime": datetime.now(UTC).isoformat(), "producer": "https://peso.test",
                 "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json"
                              "#/$defs/DatasetEvent",
                 "dataset": {"namespace": "portal", "name": name, "facets": {"peso_harvest": {
                     "_producer": "https://peso.test", "_schemaURL": "https://peso.test/f",
                     "periodicity": every, "modified": modified}}}}
        answer = client.post("/api/v1/lineage", json=event)
        assert answer.status_code in (200, 201), answer.text
    load_csv(client, tmp_path, "people")
    person = call(client, graph.upsert_entity, kind=EntityKind.PERSON, name="customers",
                  actor="test")
    call(client, graph.link_entity, DatasetKey("crm", "people"), person.id, actor="test")
    dataset = call(client, graph.get_dataset, "crm", "people")
    [version] = call(client, graph.get_latest_versions, [dataset.id])
    call(client, graph.put_suggestions, [NewSuggestion(
        dataset_id=dataset.id, version_id=version.id, version=version.version,
        kind=SuggestionKind.SEMANTIC_TYPE, target="email",
        value={"semantic_type": "email", "pii": True}, confidence=0.9, evidence={},
        enricher="test", enricher_version="1")], actor="test")

    report = q(client, """{ catalogHealth { datasetsByEntityKind lists markdown
        counts { overdue piiPendingReview } } }""")["catalogHealth"]
    assert report["counts"] == {"overdue": 1, "piiPendingReview": 1}
    [late] = report["lists"]["overdue"]
    assert (late["dataset"], late["periodicity"]) == ("portal/daily-late", "R/P1D")
    # modified: the date 10 days ago (midnight), so 10 to 11 days ago, less a period and a
    # day of grace; rounded to 0.1 ("> 8" failed in the first 2.4 hours of a UTC day)
    assert 8.0 <= late["days_late"] <= 9.0
    assert report["datasetsByEntityKind"] == {EntityKind.PERSON.value: 1}
    assert "| Datasets overdue against their declared periodicity | 1 |" in report["markdown"]
    assert "- portal/daily-late: every R/P1D" in report["markdown"]
