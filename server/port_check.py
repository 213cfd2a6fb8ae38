"""Before ``peso serve`` starts anything: can it listen on host:port? A busy port is one clear
line (naming the port and how to choose another), not a uvicorn traceback after the banner."""

from __future__ import annotations

import errno
import socket


def listen_problem(host: str, port: int) -> str | None:
    """None when a socket can be bound to ``host:port`` now (bound the way uvicorn binds,
    SO_REUSEADDR set, then closed at once); else what is wrong, in one line."""
    if port == 0:   # the OS picks a free port
        return None
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        return f"cannot listen on {shown}: the host does not resolve ({exc.strerror})"
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (f"port {port} on {host} is already in use; choose another with "
                        f"--port N or PESO_PORT=N")
            return f"cannot listen on {shown}: {exc.strerror or exc}"
    return None
