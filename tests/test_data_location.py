"""Where is my catalog? (issue 10, item 9): one default folder per user, whatever the working
directory; ``--data-dir`` before or after the command; the catalog named on the first line of
stderr; a warning when the catalog is empty but the old ``./peso-data`` holds one. Real
subprocesses of the real command line."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.helpers import after_location
from tests.serverproc import peso_command


def run_peso(*args: str, env: dict[str, str], cwd: Path,
             timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(peso_command(*args), env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, check=False)


def user_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PESO_")}
    env["XDG_DATA_HOME"] = str(home / "xdg")
    return env


def test_the_default_is_one_folder_per_user_whatever_the_working_directory(
        tmp_path: Path) -> None:
    env = user_env(tmp_path)
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    made = run_peso("token", "create", "--name", "ana", "--role", "reader", env=env, cwd=one)
    assert made.returncode == 0, made.stderr
    listed = run_peso("token", "list", "--json", env=env, cwd=two)
    assert listed.returncode == 0, listed.stderr
    assert '"ana"' in listed.stdout                      # the same catalog from another folder
    expected = (tmp_path / "xdg" / "peso" / "catalog.db").resolve()
    for done in (made, listed):
        assert done.stderr.splitlines()[0].startswith(f"peso: catalog {expected} (objects file://")
    assert not (one / "peso-data").exists()
    assert not (two / "peso-data").exists()


def test_data_dir_option_before_or_after_the_command(tmp_path: Path) -> None:
    env = user_env(tmp_path)
    cat = tmp_path / "cat"
    before = run_peso("--data-dir", str(cat), "token", "create", "--name", "bo", "--role",
                      "reader", env=env, cwd=tmp_path)
    after = run_peso("token", "list", "--json", "--data-dir", str(cat), env=env, cwd=tmp_path)
    assert before.returncode == 0, before.stderr
    assert after.returncode == 0, after.stderr
    assert '"bo"' in after.stdout
    assert after.stderr.startswith(f"peso: catalog {cat.resolve() / 'catalog.db'} ")
    assert (cat / "catalog.db").is_file()
    assert not (tmp_path / "xdg" / "peso" / "catalog.db").exists()


def test_an_empty_catalog_beside_an_old_peso_data_folder_warns(tmp_path: Path) -> None:
    env = user_env(tmp_path)
    work = tmp_path / "project"
    work.mkdir()
    old = run_peso("demo", env={**env, "PESO_DATA_DIR": str(work / "peso-data")}, cwd=work)
    assert old.returncode == 0, old.stderr
    fresh = run_peso("report", "--no-save", env=env, cwd=work)
    assert fresh.returncode == 0, fresh.stderr
    lines = after_location(fresh.stderr).splitlines()
    warning = lines[0]
    assert re.match(re.escape("peso: warning: this catalog has no datasets, but "
                              f"{(work / 'peso-data' / 'catalog.db').resolve()} holds ")
                    + r"\d+ datasets; ", warning), warning
    assert f"--data-dir {(work / 'peso-data').resolve()}" in warning
    # pointed at the old folder, or run elsewhere: no warning
    for kwargs in ({"env": {**env, "PESO_DATA_DIR": str(work / "peso-data")}, "cwd": work},
                   {"env": env, "cwd": tmp_path}):
        quiet = run_peso("report", "--no-save", **kwargs)  # type: ignore[arg-type]
        assert quiet.returncode == 0, quiet.stderr
        assert "warning" not in quiet.stderr


def test_credentials_never_appear_in_the_location_line(tmp_path: Path) -> None:
    env = user_env(tmp_path)
    env["PESO_OBJECTS_URL"] = "s3://bucket/prefix"
    env["PESO_GRAPH_URL"] = "neo4j://127.0.0.1:1"
    done = run_peso("report", "--no-save", env=env, cwd=tmp_path, timeout=60)
    assert done.stderr.splitlines()[0] == (
        "peso: catalog neo4j://127.0.0.1:1 (objects s3://bucket/prefix)")
    # a password in the URL is refused before anything could quote it
    env["PESO_GRAPH_URL"] = "neo4j://user:sekrit@127.0.0.1:1"
    refused = run_peso("report", "--no-save", env=env, cwd=tmp_path, timeout=60)
    assert refused.returncode == 1
    assert refused.stderr == ("peso: error: PESO_GRAPH_URL must not carry a user name or "
                              "password; set PESO_NEO4J_USER and PESO_NEO4J_PASSWORD instead\n")
