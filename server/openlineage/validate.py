"""Checking an OpenLineage event: tolerant where real producers are sloppy, strict where it
matters, against the JSON schemas bundled in ``spec/`` (nothing is fetched at run time).

1. **Defaults** (on a copy; each one named in the answer): a missing ``producer`` or
   ``schemaURL``; an ``eventTime`` without a timezone (read as UTC); a facet's missing
   ``_producer`` / ``_schemaURL``; a ``dataQualityMetrics`` input facet with ``rowCount`` but
   no ``columnMetrics`` (as fluentd's sample events send it) gets an empty one.
2. **The core schema** (RunEvent, DatasetEvent or JobEvent by shape), with UUIDs checked:
   a missing or malformed ``run.runId`` is refused, as are a missing ``eventTime``, job
   namespace or name, or dataset namespace or name.
3. **The facets Peso maps onto the graph**, each against its own facet schema (the core
   schema leaves facets open): ``FACETS`` below. A ``parent`` run facet naming only a job
   (Spark's application-level parent) is accepted; one whose ``run`` lacks a ``runId`` is not.
   Facets Peso does not map are kept as they are, unchecked.

Problems come back as ``Problem(path, message)``: ``outputs[0].facets.ownership.owners[0]``,
``'name' is a required property``.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

CORE_ID = "https://openlineage.io/spec/2-0-7/OpenLineage.json"
SPEC_2_0_2 = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
# The bundled core schema (upstream spec/OpenLineage.json, $id 2-0-7) is byte-identical to the
# 2-0-2 release but for its $id; the facet schemas $ref the core by the id they were written
# against. Each of these ids resolves to the bundled file.
CORE_ALIASES = tuple(f"https://openlineage.io/spec/{v}/OpenLineage.json" for v in (
    "1-0-2", "1-0-3", "1-0-4", "1-0-5", "2-0-0", "2-0-1", "2-0-2", "2-0-3", "2-0-4", "2-0-5",
    "2-0-6"))
DEFAULT_PRODUCER = "urn:peso:openlineage:unknown-producer"
MAX_PROBLEMS = 50
CACHE_SIZE = 4096   # facet / dataset-entry verdicts remembered (by their canonical JSON)

# (where, facet name) -> bundled facet schema (spec/facets/<Name>.json)
FACETS: dict[tuple[str, str], str] = {
    ("run", "parent"): "ParentRunFacet",
    ("run", "errorMessage"): "ErrorMessageRunFacet",
    ("run", "nominalTime"): "NominalTimeRunFacet",
    ("job", "documentation"): "DocumentationJobFacet",
    ("job", "ownership"): "OwnershipJobFacet",
    ("dataset", "schema"): "SchemaDatasetFacet",
    ("dataset", "columnLineage"): "ColumnLineageDatasetFacet",
    ("dataset", "ownership"): "OwnershipDatasetFacet",
    ("dataset", "documentation"): "DocumentationDatasetFacet",
    ("dataset", "dataSource"): "DatasourceDatasetFacet",
    ("dataset", "version"): "DatasetVersionDatasetFacet",
    ("dataset", "dataQualityAssertions"): "DataQualityAssertionsDatasetFacet",
    ("input", "dataQualityMetrics"): "DataQualityMetricsInputDatasetFacet",
    ("input", "dataQualityAssertions"): "DataQualityAssertionsDatasetFacet",
    ("output", "outputStatistics"): "OutputStatisticsOutputDatasetFacet",
}


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


@dataclass
class Checked:
    """The event with defaults applied, its kind, and which defaults were applied."""

    event: dict[str, Any]
    kind: str                                   # RunEvent | DatasetEvent | JobEvent
    defaulted: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _load(name: str) -> dict[str, Any]:
    text = (resources.files("server.openlineage") / "spec" / name).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _documents() -> list[tuple[str, dict[str, Any]]]:
    """(id, schema) of every bundled schema: the core under each id it is known by, then
    the facets Peso maps."""
    core = _load("OpenLineage.json")
    pairs = [(CORE_ID, core), *((alias, core) for alias in CORE_ALIASES)]
    for name in sorted(set(FACETS.values())):
        doc = _load(f"facets/{name}.json")
        pairs.append((doc["$id"], doc))
    return pairs


@functools.cache
def registry() -> Registry[Any]:
    return Registry().with_resources(
        (uri, Resource.from_contents(doc, default_specification=DRAFT202012))
        for uri, doc in _documents())


@functools.cache
def facet_id(name: str) -> str:
    return str(_load(f"facets/{name}.json")["$id"])


@functools.cache
def validator(ref: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": ref}, registry=registry(),
                                format_checker=FormatChecker(formats=("uuid",)))


@functools.cache
def _fast_registry() -> jsonschema_rs.Registry:
    return jsonschema_rs.Registry(_documents())


@functools.cache
def fast_validator(ref: str) -> jsonschema_rs.Validator:
    """The same schema compiled by jsonschema-rs (Rust), asked only "is it valid?". It checks
    every format it knows (``jsonschema`` above checks ``uuid`` only), so it is never more
    lenient: a value it passes has no problems; one it refuses goes to ``validator`` for
    the problems, worded as always (``tests/test_openlineage_validate.py`` holds the two to
    the same verdict on the corpus's events)."""
    return jsonschema_rs.validator_for({"$ref": ref}, registry=_fast_registry(),
                                       validate_formats=True)


def schema_errors(ref: str, instance: Any) -> Iterator[SchemaError]:
    """``validator(ref).iter_errors(instance)``, skipped when the fast validator passes it."""
    if fast_validator(ref).is_valid(instance):
        return iter(())
    return validator(ref).iter_errors(instance)


def kind_of(event: dict[str, Any]) -> str:
    """By shape: a RunEvent has a ``run``; a JobEvent a ``job`` and no ``run`` (an
    ``eventType`` key does not make it a RunEvent: producers send one on JobEvents too)."""
    if "run" in event:
        return "RunEvent"
    if "dataset" in event:
        return "DatasetEvent"
    return "JobEvent" if "job" in event else "RunEvent"


def path_text(parts: Iterator[Any] | Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(event)"


def _leaves(error: SchemaError) -> Iterator[SchemaError]:
    """The errors that say what is wrong (inside anyOf/oneOf/allOf wrappers)."""
    if error.context:
        for sub in error.context:
            yield from _leaves(sub)
    else:
        yield error


def _problems(errors: Iterator[SchemaError], prefix: list[Any]) -> list[Problem]:
    found = {Problem(path_text([*prefix, *leaf.absolute_path]), leaf.message)
             for error in errors for leaf in _leaves(error)}
    return sorted(found, key=lambda p: (p.path, p.message))


def parse_time(text: str) -> datetime | None:
    """ISO-8601 (a trailing Z included); None when it does not parse."""
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None


def _in_range(stamp: datetime) -> bool:
    """False for a time at the edges of the date range whose UTC form overflows (year 1
    at +23:59, 9999-12-31 at -23:59), which would otherwise be a 500 further on."""
    try:
        (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        return False
    return True


def check(raw: Any, *, owned: bool = False) -> Checked:
    """Apply the defaults, then validate; ``problems`` empty means the event is good. The
    defaults go on a copy, unless the caller ``owned`` the value (JSON it parsed itself for
    this, as the HTTP endpoint does: the copy would be equal and nobody else holds it)."""
    if not isinstance(raw, dict):
        return Checked({}, "RunEvent", problems=[Problem("(event)", "an OpenLineage event is "
                                                                    "a JSON object")])
    event = raw if owned else _json_copy(raw)
    kind = kind_of(event)
    out = Checked(event, kind)
    if not isinstance(event.get("producer"), str) or not event.get("producer"):
        event["producer"] = DEFAULT_PRODUCER
        out.defaulted.append("producer")
    if not isinstance(event.get("schemaURL"), str) or not event.get("schemaURL"):
        event["schemaURL"] = f"{SPEC_2_0_2}#/$defs/{kind}"
        out.defaulted.append("schemaURL")
    stamp = event.get("eventTime")
    if isinstance(stamp, str):
        parsed = parse_time(stamp)
        if parsed is None:
            out.problems.append(Problem("eventTime", f"{stamp[:80]!r} is not an ISO-8601 "
                                                     "date-time"))
        elif not _in_range(parsed):
            out.problems.append(Problem("eventTime", f"{stamp[:80]!r} is outside the dates "
                                                     "Peso stores (years 1 to 9999 in UTC)"))
        elif parsed.tzinfo is None:
            event["eventTime"] = parsed.replace(tzinfo=UTC).isoformat()
            out.defaulted.append("eventTime timezone (UTC)")
    for where, _, facets in facet_groups(event):
        _default_facets(out, where, facets, str(event["producer"]))
    view = _core_view(event)
    parts: dict[str, list[Any]] = {}
    for role in ("inputs", "outputs"):   # each dataset entry on its own (cached) below
        if isinstance(view.get(role), list):
            parts[role], view[role] = view[role], []
    out.problems += _problems(schema_errors(f"{CORE_ID}#/$defs/{kind}", view), [])
    for role, entries in parts.items():
        ref = f"{CORE_ID}#/$defs/{'InputDataset' if role == 'inputs' else 'OutputDataset'}"
        for i, entry in enumerate(entries):
            out.problems += [Problem(path_text([role, i, *rel]), message)
                             for rel, message in _verdict(ref, entry)]
    if not out.problems:
        for where, path, facets in facet_groups(event):
            out.problems += _check_facets(where, path, facets)
    del out.problems[MAX_PROBLEMS:]
    return out


def _json_copy(raw: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a JSON value: dumped and parsed in C, several times faster than
    ``copy.deepcopy``'s walk (an event is parsed JSON; anything else falls back to it)."""
    try:
        copied: dict[str, Any] = json.loads(json.dumps(raw, allow_nan=True))
    except (TypeError, ValueError):
        return copy.deepcopy(raw)
    return copied


def _core_view(event: dict[str, Any]) -> dict[str, Any]:
    """The event as the core schema sees it: to it every facet is a BaseFacet (``_producer``,
    ``_schemaURL``, ``_deleted``), so the facets' own fields are left out of this pass — the
    facets Peso maps are checked whole against their own schemas next. Same verdict, a
    fraction of the work on facet-heavy events (bench/openlineage_ingest.py)."""
    view = copy.copy(event)
    for key in ("run", "job", "dataset"):
        if isinstance(view.get(key), dict):
            view[key] = copy.copy(view[key])
    for role in ("inputs", "outputs"):
        if isinstance(view.get(role), list):
            view[role] = [copy.copy(d) if isinstance(d, dict) else d for d in view[role]]
    for _, path, facets in facet_groups(view):
        holder: Any = view
        for part in path[:-1]:
            holder = holder[part]
        holder[path[-1]] = {name: {k: v for k, v in f.items() if k in _BASE} if isinstance(
            f, dict) else f for name, f in facets.items()}
    return view


_BASE = ("_producer", "_schemaURL", "_deleted")


def facet_groups(event: dict[str, Any]) -> Iterator[tuple[str, list[Any], dict[str, Any]]]:
    """Every facets object of an event: (where, its path, the object)."""
    def group(holder: Any, key: str, where: str, path: list[Any]
              ) -> Iterator[tuple[str, list[Any], dict[str, Any]]]:
        if isinstance(holder, dict) and isinstance(holder.get(key), dict):
            yield where, [*path, key], holder[key]

    yield from group(event.get("run"), "facets", "run", ["run"])
    yield from group(event.get("job"), "facets", "job", ["job"])
    yield from group(event.get("dataset"), "facets", "dataset", ["dataset"])
    for role, extra in (("inputs", "inputFacets"), ("outputs", "outputFacets")):
        items = event.get(role)
        for i, ds in enumerate(items if isinstance(items, list) else []):
            yield from group(ds, "facets", "dataset", [role, i])
            yield from group(ds, extra, "input" if role == "inputs" else "output", [role, i])


def _default_facets(out: Checked, where: str, facets: dict[str, Any], producer: str) -> None:
    for name, facet in facets.items():
        if not isinstance(facet, dict):
            continue
        known = FACETS.get((where, name))
        if "_producer" not in facet:
            facet["_producer"] = producer
            _note(out, "facet _producer")
        if "_schemaURL" not in facet:
            facet["_schemaURL"] = (f"{facet_id(known)}#/$defs/{known}" if known
                                   else f"{SPEC_2_0_2}#/$defs/BaseFacet")
            _note(out, "facet _schemaURL")
        if (where, name) == ("input", "dataQualityMetrics") and "columnMetrics" not in facet \
                and type(facet.get("rowCount")) is int:
            facet["columnMetrics"] = {}
            _note(out, "dataQualityMetrics.columnMetrics")


def _note(out: Checked, what: str) -> None:
    if what not in out.defaulted:
        out.defaulted.append(what)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _verdict(ref: str, value: Any) -> tuple[tuple[tuple[Any, ...], str], ...]:
    """The problems of one JSON value against ``ref`` (relative paths, messages): none when
    the fast validator passes it, as it passes most (asking it costs a small fraction of
    writing the value out as the cache's key); else worded by ``_cached``."""
    try:
        if fast_validator(ref).is_valid(value):
            return ()
    except ValueError:   # not plain JSON (a datetime in a caller's own dict): as its text
        pass
    return _cached(ref, _canonical(value))


@functools.lru_cache(maxsize=CACHE_SIZE)
def _cached(ref: str, text: str) -> tuple[tuple[tuple[Any, ...], str], ...]:
    """The problems of one JSON value against ``ref``, remembered: producers send the same
    schema, column-lineage and dataset entries run after run."""
    found = {(tuple(leaf.absolute_path), leaf.message)
             for error in schema_errors(ref, json.loads(text))
             for leaf in _leaves(error)}
    return tuple(sorted(found, key=lambda p: (path_text(p[0]), p[1])))


def _check_facets(where: str, path: list[Any], facets: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for name, facet in sorted(facets.items()):
        known = FACETS.get((where, name))
        if known is None or (isinstance(facet, dict) and facet.get("_deleted") is True):
            continue
        found = [Problem(path_text([*path, *rel]), message) for rel, message in
                 _verdict(facet_id(known), {name: facet})]
        if name == "parent" and isinstance(facet, dict) and "run" not in facet:
            found = [p for p in found if p.message != "'run' is a required property"]
        problems += found
    return problems
