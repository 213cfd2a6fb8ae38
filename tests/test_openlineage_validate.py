"""server.openlineage.validate: the fast validator (jsonschema-rs) only ever skips the
problem search for values the reference validator (jsonschema) finds no problem in — on the
corpus's real events, their dataset entries and facets, and on broken variants of them."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from server.openlineage.validate import (
    CORE_ID,
    FACETS,
    _core_view,
    check,
    facet_groups,
    facet_id,
    fast_validator,
    kind_of,
    validator,
)
from tests.conftest import CORPUS

REPO = CORPUS / "openlineage" / "openlineage_repo"
FILES = sorted(REPO.glob("*events/*.json")) if REPO.is_dir() else []   # valid and invalid
UUID = "0176a8c2-fe01-7439-87e6-56a1a1b4029f"
RUN_IDS = ["not-a-uuid", "{" + UUID + "}", "urn:uuid:" + UUID, UUID.upper(), UUID[:-1],
           UUID.replace("-", ""), "", 7, None]


def events() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in FILES:
        loaded = json.loads(path.read_text(encoding="utf-8"))
        for i, event in enumerate(loaded if isinstance(loaded, list) else [loaded]):
            if isinstance(event, dict):
                yield f"{path.parent.name}/{path.name}[{i}]", event


def variants(event: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The event, then broken copies: bad run ids, times, names, shapes and facet types."""
    yield event
    for run_id in RUN_IDS:
        if isinstance(event.get("run"), dict):
            bad = copy.deepcopy(event)
            bad["run"]["runId"] = run_id
            yield bad
    for key, value in (("eventTime", "yesterday"), ("eventTime", 5), ("producer", ""),
                       ("schemaURL", "not a url"), ("inputs", {}), ("outputs", [7])):
        bad = copy.deepcopy(event)
        bad[key] = value
        yield bad
    if isinstance(event.get("job"), dict):
        bad = copy.deepcopy(event)
        bad["job"].pop("name", None)
        yield bad
    for _, path, facets in facet_groups(event):
        for name in facets:
            bad = copy.deepcopy(event)
            holder: Any = bad
            for part in path:
                holder = holder[part]
            holder[name] = {"_producer": 5, "fields": "none", "owners": [{}]}
            yield bad


def refs_and_values(event: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """What the checker validates: the event by kind, its dataset entries, its facets."""
    yield f"{CORE_ID}#/$defs/{kind_of(event)}", event
    for role, ref in (("inputs", "InputDataset"), ("outputs", "OutputDataset")):
        for entry in event.get(role) or [] if isinstance(event.get(role), list) else []:
            yield f"{CORE_ID}#/$defs/{ref}", entry
    for where, _, facets in facet_groups(event):
        for name, facet in facets.items():
            known = FACETS.get((where, name))
            if known is not None:
                yield facet_id(known), {name: facet}


@pytest.mark.skipif(not REPO.is_dir(), reason=f"corpus not found at {REPO}")
@pytest.mark.parametrize(("label", "event"), list(events()), ids=[n for n, _ in events()])
def test_the_fast_validator_passes_only_what_has_no_problems(label: str,
                                                             event: dict[str, Any]) -> None:
    refused = 0
    for variant in variants(event):
        for ref, value in refs_and_values(variant):
            if fast_validator(ref).is_valid(value):
                problems = [e.message for e in validator(ref).iter_errors(value)]
                assert not problems, (label, ref, problems)
            else:
                refused += 1
    assert refused, f"{label}: no broken variant was refused (the test checks nothing)"


def test_a_refused_event_names_the_same_problems_as_before() -> None:
    """The problems still come from the reference validator, worded as ever."""
    event = {"eventType": "START", "eventTime": "2026-12-07T10:00:00Z",
             "run": {"runId": "not-a-uuid"}, "job": {"namespace": "ns"},
             "producer": "p", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json"}
    problems = {(p.path, p.message) for p in check(event).problems}
    assert ("run.runId", "'not-a-uuid' is not a 'uuid'") in problems
    assert ("job", "'name' is a required property") in problems


def test_a_good_event_has_no_problems() -> None:
    event = {"eventType": "COMPLETE", "eventTime": "2026-12-07T10:00:00Z",
             "run": {"runId": UUID}, "job": {"namespace": "ns", "name": "job"},
             "inputs": [{"namespace": "ns", "name": "a"}],
             "outputs": [{"namespace": "ns", "name": "b", "facets": {"schema": {
                 "fields": [{"name": "id", "type": "INTEGER"}]}}}],
             "producer": "https://example.com/p",
             "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json"}
    checked = check(event)
    assert checked.problems == []
    # the core pass sees the facets as base facets, with the defaults applied (_producer,
    # _schemaURL): the fast validator passes that, so the reference one was not needed
    assert fast_validator(f"{CORE_ID}#/$defs/RunEvent").is_valid(_core_view(checked.event))


def test_an_event_built_in_python_is_checked_as_its_json() -> None:
    """A caller's own dict (not parsed JSON) may hold values JSON cannot: the fast validator
    refuses to read them, so the entry and facet are checked as their JSON text, as ever —
    the same verdict, the same problems."""
    stamp = datetime(2026, 12, 7, 10, tzinfo=UTC)
    schema = {"fields": [{"name": "id", "type": "INTEGER", "description": stamp}]}
    event = {"eventType": "COMPLETE", "eventTime": "2026-12-07T10:00:00Z",
             "run": {"runId": UUID}, "job": {"namespace": "ns", "name": "job"},
             "outputs": [{"namespace": "ns", "name": "b", "facets": {"schema": schema}}],
             "producer": "https://example.com/p",
             "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json"}
    assert check(event).problems == []
    broken = copy.deepcopy(event)
    broken["outputs"][0]["facets"]["schema"]["fields"][0]["name"] = 7
    assert [(p.path, p.message) for p in check(broken).problems] == [
        ("outputs[0].facets.schema.fields[0].name", "7 is not of type 'string'")]


def test_defaults_go_on_a_copy_unless_the_caller_owns_the_event() -> None:
    event = {"eventType": "START", "eventTime": "2026-12-07T10:00:00",
             "run": {"runId": UUID, "facets": {"nominalTime": {
                 "nominalStartTime": "2026-12-07T10:00:00Z"}}},
             "job": {"namespace": "ns", "name": "job"}}
    sent = copy.deepcopy(event)
    checked = check(event)
    assert event == sent   # the caller's value is left as it was
    assert set(checked.defaulted) >= {"producer", "schemaURL", "eventTime timezone (UTC)",
                                      "facet _producer", "facet _schemaURL"}
    owned = check(event, owned=True)   # JSON the caller parsed for this (the HTTP body)
    assert owned.event is event
    assert event == checked.event
    assert (owned.defaulted, owned.problems) == (checked.defaulted, [])
