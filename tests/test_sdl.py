"""The committed SDL (schema/schema.graphql) is the schema the code builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from schema import export
from schema.root import export_sdl

SDL = Path(__file__).resolve().parent.parent / "schema" / "schema.graphql"


def test_committed_sdl_matches_the_code() -> None:
    assert SDL.is_file(), f"{SDL} is missing: run `python -m schema.export`"
    committed = SDL.read_text(encoding="utf-8")
    assert committed == export_sdl(), (
        "schema/schema.graphql is stale: regenerate it with `python -m schema.export` "
        "and commit the result")


def test_export_check_reports_a_stale_file(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "schema.graphql"
    assert export.main(["--check", "--output", str(out)]) == 1  # missing counts as stale
    assert "python -m schema.export" in capsys.readouterr().err
    assert export.main(["--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == export_sdl()
    assert export.main(["--check", "--output", str(out)]) == 0
    out.write_text(export_sdl() + "# edited\n", encoding="utf-8")
    assert export.main(["--check", "--output", str(out)]) == 1
