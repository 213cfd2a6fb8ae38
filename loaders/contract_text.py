"""Reading a contract document: a YAML or JSON file or text, strictly.

YAML is read with the YAML 1.2 core schema's scalars: booleans are only ``true``/``false``
(``allowed: [GB, NO]`` stays two country codes) and dates stay text until the contract's
types convert them. Duplicate keys are refused, in YAML and in JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import yaml

from server.errors import LoadError

DEFAULT_LABEL = "contract"
SUFFIXES = (".yaml", ".yml", ".json")


def read_document(source: str | Path | Mapping[str, Any],
                  label: str | None = None) -> tuple[str, Any]:
    """(the name messages use, the parsed document) for a contract source; see
    ``loaders.contract_rules.parse_contract`` for what ``source`` may be."""
    if isinstance(source, str) and "\n" not in source and \
            source.strip().lower().endswith(SUFFIXES):
        source = Path(source.strip())
    if isinstance(source, Path):
        name = label or str(source)
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as exc:
            raise LoadError(f"{name}: cannot read the contract: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:
            raise LoadError(f"{name}: the contract is not UTF-8 text ({exc.reason})") from exc
        suffix = source.suffix.lower()
        if suffix == ".json":
            return name, _parse_json(text, name)
        if suffix in (".yaml", ".yml"):
            return name, _parse_yaml(text, name)
        return name, _parse_text(text, name)
    if isinstance(source, str):
        return label or DEFAULT_LABEL, _parse_text(source, label or DEFAULT_LABEL)
    if isinstance(source, Mapping):
        return label or DEFAULT_LABEL, source
    raise LoadError(f"{label or DEFAULT_LABEL}: expected a contract file, text or mapping, "
                    f"got {type(source).__name__}")


def _parse_text(text: str, name: str) -> Any:
    if text.lstrip().startswith("{"):
        try:
            return _parse_json(text, name)
        except LoadError as json_error:
            try:  # a YAML flow mapping also starts with "{"
                return yaml.load(text, Loader=_ContractLoader)  # noqa: S506 - a SafeLoader
            except yaml.YAMLError:
                raise json_error from None
    return _parse_yaml(text, name)


def _parse_json(text: str, name: str) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise LoadError(f"{name}: duplicate key {key!r}")
            out[key] = value
        return out

    def no_constants(token: str) -> Any:
        raise LoadError(f"{name}: {token} is not a JSON number")

    try:
        return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constants)
    except json.JSONDecodeError as exc:
        raise LoadError(f"{name}: invalid JSON at line {exc.lineno}, column {exc.colno}: "
                        f"{exc.msg}") from exc


def _parse_yaml(text: str, name: str) -> Any:
    try:
        return yaml.load(text, Loader=_ContractLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "malformed"
        raise LoadError(f"{name}: invalid YAML{where}: {problem}") from exc
    except yaml.YAMLError as exc:
        raise LoadError(f"{name}: invalid YAML: {exc}") from exc


class _ContractLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and duplicate keys refused."""

    def construct_mapping(self, node: yaml.MappingNode,
                          deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable):
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping", node.start_mark,
                        f"found duplicate key {key!r}", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


# YAML 1.2 core schema, not PyYAML's YAML 1.1: booleans are only true/false (``NO`` stays a
# country code) and there is no implicit timestamp (``2020-01-01`` stays text, converted by
# the column's declared type, so a bad date gets the contract's own message).
_BOOL_TAG = "tag:yaml.org,2002:bool"
_DROPPED = (_BOOL_TAG, "tag:yaml.org,2002:timestamp")
_ContractLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_ContractLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
