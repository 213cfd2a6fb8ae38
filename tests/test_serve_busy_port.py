"""``peso serve`` on a port something else holds: one line on stderr naming the port and how
to choose another, exit code 2, and no banner (issue 10). A real subprocess, a real socket."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.helpers import after_location
from tests.serverproc import peso_env, run_peso


def test_a_busy_port_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        by_flag = run_peso("serve", "--host", "127.0.0.1", "--port", str(port),
                           data_dir=tmp_path, timeout=60)
        by_env = run_peso("serve", "--host", "127.0.0.1", data_dir=tmp_path, timeout=60,
                          env=peso_env(tmp_path, PESO_PORT=str(port)))
    for done in (by_flag, by_env):
        assert done.returncode == 2, done.stderr
        assert done.stdout == ""                      # no banner
        lines = after_location(done.stderr).strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert f"port {port}" in lines[0]
        assert "already in use" in lines[0]
        assert "--port" in lines[0]
        assert "PESO_PORT" in lines[0]
