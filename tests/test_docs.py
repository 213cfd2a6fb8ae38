"""README is tested like code (the datasette way): it must list every setting, every `peso`
command and every GraphQL root field, its GraphQL examples must validate against the schema,
and its set-up section must hold exactly the two commands CI runs."""

from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path

import graphql
import pytest

from server.cli import build_parser
from server.settings import SETTINGS

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
CI_RUN = REPO / ".ci" / "run"
WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"
SDL = REPO / "schema" / "schema.graphql"

SERVE_COMMAND = "python -m pip install -e . && peso serve --demo"
TEST_COMMAND = ("python -m pip install -e '.[dev]' && npm ci --prefix tests/http_audit "
                "&& python -m pytest")

FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@cache
def readme() -> str:
    return README.read_text(encoding="utf-8")


def section(title: str) -> str:
    """The text under the `## title` heading, up to the next level-2 heading."""
    found = re.search(rf"^## {re.escape(title)}[ \t]*\n(.*?)(?=^## |\Z)", readme(),
                      re.MULTILINE | re.DOTALL)
    assert found, f"README has no '## {title}' section"
    return found.group(1)


def table_rows(text: str) -> list[list[str]]:
    """Cells of every markdown table row in ``text`` (header and separator rows dropped)."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not (line.startswith("|") and line.endswith("|")):
            continue
        cells = [c.strip() for c in line[1:-1].split("|")]
        if all(re.fullmatch(r":?-{3,}:?", c) for c in cells):
            continue
        rows.append(cells)
    return rows[1:] if rows else rows  # the first row is the header


def code(cell: str) -> str | None:
    """The text of a cell that begins with a `code span`."""
    found = re.match(r"`([^`]*)`", cell)
    return found.group(1) if found else None


def fenced(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(text)]


@cache
def sdl_schema() -> graphql.GraphQLSchema:
    return graphql.build_schema(SDL.read_text(encoding="utf-8"))


# --- configuration --------------------------------------------------------------------------

def config_table() -> dict[str, list[str]]:
    rows = table_rows(section("Configuration"))
    return {name: row for row in rows if (name := code(row[0]))}


def test_every_setting_is_in_the_configuration_table() -> None:
    table = config_table()
    missing = [s.env for s in SETTINGS if s.env not in table]
    assert not missing, f"README's configuration table lacks {missing}"


def test_the_configuration_table_lists_only_real_settings() -> None:
    known = {s.env for s in SETTINGS}
    unknown = set(config_table()) - known
    assert not unknown, f"README documents settings that server/settings.py lacks: {unknown}"


@pytest.mark.parametrize("doc", SETTINGS, ids=lambda s: s.env)
def test_configuration_defaults_match_the_code(doc: object) -> None:
    from server.settings import SettingDoc

    assert isinstance(doc, SettingDoc)
    row = config_table()[doc.env]
    assert len(row) == 3, row
    expected = f"`{doc.default}`" if doc.default else "(empty)"
    assert row[1] == expected, f"{doc.env}: README says {row[1]}, the code says {expected}"
    assert row[2], f"{doc.env} has no meaning in README"


# --- command line ---------------------------------------------------------------------------

def subcommands() -> dict[str, list[str]]:
    """`peso` subcommands and their long options, from the real argument parser."""
    parser = build_parser()
    [sub] = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    commands = {}
    for name, subparser in sub.choices.items():
        options = [opt for action in subparser._actions for opt in action.option_strings
                   if opt.startswith("--") and opt != "--help"]
        commands[name] = options
    return commands


def command_table() -> dict[str, str]:
    rows = table_rows(section("Command line"))
    found = {}
    for row in rows:
        cell = code(row[0])
        if cell and cell.startswith("peso "):
            found[cell.split()[1]] = row[0]
    return found


def test_every_command_is_in_readme() -> None:
    table = command_table()
    missing = [name for name in subcommands() if name not in table]
    assert not missing, f"README's command table lacks `peso {missing}`"


def test_the_command_table_lists_only_real_commands() -> None:
    unknown = set(command_table()) - set(subcommands())
    assert not unknown, f"README documents `peso` commands that do not exist: {unknown}"


def test_every_command_option_is_in_readme() -> None:
    table = command_table()
    for name, options in subcommands().items():
        for option in options:
            assert option in table[name], f"README's row for `peso {name}` lacks {option}"


# --- GraphQL --------------------------------------------------------------------------------

def root_fields() -> dict[str, str]:
    schema = sdl_schema()
    fields = {}
    for kind, type_ in (("Query", schema.query_type), ("Mutation", schema.mutation_type),
                        ("Subscription", schema.subscription_type)):
        for name in (type_.fields if type_ else {}):
            fields[name] = kind
    return fields


def root_field_table() -> dict[str, str]:
    rows = table_rows(section("GraphQL API"))
    return {name: row[1] for row in rows if (name := code(row[0]))}


def test_every_root_field_is_in_readme() -> None:
    fields, table = root_fields(), root_field_table()
    assert "dataset" in fields  # the SDL was read
    assert "addLineage" in fields
    missing = [f"{kind}.{name}" for name, kind in fields.items() if name not in table]
    assert not missing, f"README's GraphQL table lacks {missing}"
    wrong = [name for name, kind in fields.items() if table.get(name, kind) != kind]
    assert not wrong, f"README's GraphQL table has the wrong kind for {wrong}"


def test_the_root_field_table_lists_only_real_fields() -> None:
    unknown = set(root_field_table()) - set(root_fields())
    assert not unknown, f"README documents root fields the schema lacks: {unknown}"


def test_graphql_examples_validate_against_the_schema() -> None:
    examples = [body for lang, body in fenced(readme()) if lang == "graphql"]
    assert len(examples) >= 4, "README should show GraphQL examples"
    for body in examples:
        document = graphql.parse(body)
        errors = graphql.validate(sdl_schema(), document)
        assert not errors, f"README example does not validate: {errors}\n{body}"


# --- set-up commands and CI -----------------------------------------------------------------

def setup_commands() -> list[str]:
    blocks = fenced(section("Set up"))
    assert len(blocks) == 2, f"the set-up section must hold exactly two commands, not {blocks}"
    commands = []
    for _lang, body in blocks:
        lines = [line for line in body.splitlines() if line.strip()]
        assert len(lines) == 1, f"a set-up command must be one line: {body!r}"
        commands.append(lines[0].strip())
    return commands


def test_readme_has_exactly_the_two_setup_commands() -> None:
    assert setup_commands() == [SERVE_COMMAND, TEST_COMMAND]


def test_setup_commands_parse_as_shell() -> None:
    for command in setup_commands():
        assert shlex.split(command)


def test_ci_runs_readmes_test_command() -> None:
    text = CI_RUN.read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines()]
    assert setup_commands()[1] in lines, ".ci/run must run README's test command verbatim"
    assert lines[0].startswith("#!")
    assert "bash" in lines[0]
    assert "set -euo pipefail" in lines
    assert CI_RUN.stat().st_mode & 0o111, ".ci/run must be executable"


def test_the_github_workflow_runs_readmes_test_command() -> None:
    import yaml

    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    runs = [step.get("run", "") for job in workflow["jobs"].values()
            for step in job.get("steps", [])]
    assert any(setup_commands()[1] in run.splitlines() for run in runs), \
        "a CI job must run README's test command verbatim"


def test_readme_links_resolve() -> None:
    for target in re.findall(r"\]\(([^)#:]+)\)", readme()):
        assert (REPO / target).exists(), f"README links to {target}, which does not exist"
