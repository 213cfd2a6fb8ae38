"""DCAT-US 1.1 (Project Open Data) ``data.json`` → records, validated one record at a time.

A record that breaks the POD v1.1 rules is refused with the rule and the field, and the rest of
the file still loads. With ``PESO_HARVEST_POD_SCHEMA_DIR`` naming a folder holding POD's JSON
schema files (``dataset.json``, ``distribution.json``, ``organization.json``, ``vcard.json``;
https://github.com/project-open-data/project-open-data.github.io/tree/master/v1.1/schema), each
record is validated against that schema with ``jsonschema``; without it, against the schema's
required fields and their types, checked here.

The document is read as a stream (``ijson``): one ``dataset`` record is in memory at a time,
never the whole parsed document, so a portal's 100 MB catalog costs its records, not ten times
its size in Python objects.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import ijson
import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from loaders.harvest.records import Distribution, HarvestRecord, Refusal

POD_BASE = "https://project-open-data.cio.gov/v1.1/schema/"
REQUIRED = ("title", "description", "keyword", "modified", "publisher", "contactPoint",
            "identifier", "accessLevel")
ACCESS_LEVELS = ("public", "restricted public", "non-public")


def pod_validator(schema_dir: Path) -> jsonschema.Draft4Validator:
    """POD's dataset schema, its sibling files resolved by their relative $refs."""
    resources = []
    for path in sorted(schema_dir.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        resources.append((POD_BASE + path.name,
                          Resource.from_contents(doc, default_specification=DRAFT4)))
    registry: Registry[Any] = Registry().with_resources(resources)
    dataset = json.loads((schema_dir / "dataset.json").read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(dataset, registry=registry,
                                      format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def _builtin_problems(item: dict[str, Any]) -> list[str]:
    problems = [f"'{key}' is a required property" for key in REQUIRED if key not in item]
    for key in ("title", "description", "identifier", "modified"):
        if key in item and not (isinstance(item[key], str) and item[key].strip()):
            problems.append(f"{key}: must be a non-empty string")
    keywords = item.get("keyword")
    if "keyword" in item and not (isinstance(keywords, list) and keywords
                                  and all(isinstance(k, str) and k for k in keywords)):
        problems.append("keyword: must be a non-empty array of non-empty strings")
    if "accessLevel" in item and item["accessLevel"] not in ACCESS_LEVELS:
        problems.append(f"accessLevel: must be one of {', '.join(ACCESS_LEVELS)}")
    publisher = item.get("publisher")
    if "publisher" in item and not (isinstance(publisher, dict)
                                    and isinstance(publisher.get("name"), str)):
        problems.append("publisher: must be an object with a name")
    contact = item.get("contactPoint")
    if "contactPoint" in item and not (isinstance(contact, dict) and "fn" in contact
                                       and "hasEmail" in contact):
        problems.append("contactPoint: must be an object with fn and hasEmail")
    if "distribution" in item and not isinstance(item["distribution"], list | None):
        problems.append("distribution: must be an array")
    return problems


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    return tuple(v.strip() for v in value if isinstance(v, str) and v.strip()) \
        if isinstance(value, list) else ()


def _distribution(d: Any) -> Distribution | None:
    if not isinstance(d, dict):
        return None
    download = _text(d.get("downloadURL"))
    url = download or _text(d.get("accessURL"))
    if url is None:
        return None
    size = d.get("byteSize")
    return Distribution(url=url, media_type=_text(d.get("mediaType")),
                        format=_text(d.get("format")),
                        byte_size=size if isinstance(size, int) and size >= 0 else None,
                        title=_text(d.get("title")), access=download is None)


def to_record(item: dict[str, Any]) -> HarvestRecord:
    publisher: dict[str, Any] = item["publisher"] if isinstance(item.get("publisher"), dict) \
        else {}
    contact: dict[str, Any] = item["contactPoint"] if isinstance(item.get("contactPoint"),
                                                                 dict) else {}
    email = _text(contact.get("hasEmail"))
    if email and email.lower().startswith("mailto:"):
        email = email[len("mailto:"):]
    return HarvestRecord(
        identifier=str(item["identifier"]).strip(), title=str(item["title"]).strip(),
        description=_text(item.get("description")), keywords=_strings(item.get("keyword")),
        themes=_strings(item.get("theme")), license=_text(item.get("license")),
        modified=_text(item.get("modified")), issued=_text(item.get("issued")),
        periodicity=_text(item.get("accrualPeriodicity")), temporal=_text(item.get("temporal")),
        spatial=_text(item.get("spatial")), landing_page=_text(item.get("landingPage")),
        publisher=_text(publisher.get("name")), contact_name=_text(contact.get("fn")),
        contact_email=email,
        distributions=tuple(d for d in map(_distribution, item.get("distribution") or [])
                            if d is not None))


def _items(source: IO[bytes], where: str) -> Iterator[Any]:
    """The members of the top-level ``dataset`` array, one at a time; ValueError when the
    document is not JSON or has no such array."""
    seen = 0
    try:
        for item in ijson.items(source, "dataset.item", use_float=True):
            seen += 1
            yield item
        if seen == 0:   # an empty array, or none at all?
            source.seek(0)
            if not any(isinstance(d, list) for d in ijson.items(source, "dataset")):
                raise ValueError(f"{where}: not a DCAT-US data.json (no 'dataset' array at "
                                 "the top)")
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        raise ValueError(f"{where}: not JSON ({exc})") from exc


def parse(body: bytes | IO[bytes], *, where: str, schema_dir: Path | None = None
          ) -> tuple[list[HarvestRecord], list[Refusal]]:
    """Records of a data.json document (bytes, or a binary file read as a stream), and the
    refusals (one per bad record)."""
    items = _items(io.BytesIO(body) if isinstance(body, bytes) else body, where)
    validator = pod_validator(schema_dir) if schema_dir else None
    records: list[HarvestRecord] = []
    refused: list[Refusal] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        label = f"dataset[{i}]"
        if not isinstance(item, dict):
            refused.append(Refusal(label, "not a JSON object"))
            continue
        if isinstance(item.get("identifier"), str):
            label += f" ({item['identifier'][:200]})"
        if validator is not None:
            problems = [f"{'/'.join(map(str, e.absolute_path)) or '(record)'}: {e.message}"
                        for e in sorted(validator.iter_errors(item), key=str)]
        else:
            problems = _builtin_problems(item)
        if problems:
            refused.append(Refusal(label, "; ".join(problems[:5])[:2000]))
            continue
        record = to_record(item)
        if record.identifier in seen:
            refused.append(Refusal(label, f"identifier {record.identifier!r} repeats an "
                                          "earlier record"))
            continue
        seen.add(record.identifier)
        records.append(record)
    return records, refused
