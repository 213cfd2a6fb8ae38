"""Structured logs: one JSON object per line when stderr is not a terminal (a container, a
service manager, a pipe), human-readable lines on a terminal; ``PESO_LOG_FORMAT`` forces
either. Every record carries the current request id (``server.requestctx``), so a masked
error a client reports ("requestId": "…") is one grep away from its traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from server.requestctx import current_request_id

# attributes every LogRecord has; anything else passed with extra={...} is logged as a field
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "request_id", "rid", "color_message"}


def install_record_factory() -> None:
    """Stamp every log record made in this process with the current request id (whichever
    handler or test harness ends up formatting it). Idempotent."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_peso", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current_request_id()
        return record
    factory._peso = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


install_record_factory()


class RequestIdFilter(logging.Filter):
    """Stamp each record with the current request id (or None)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        record.rid = f" [{request_id}]" if request_id else ""
        return super().format(record)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record (a test harness may
    swap it), not to the stream that was current when logging was set up."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def use_json(fmt: str, stream: TextIO) -> bool:
    if fmt == "json":
        return True
    if fmt == "text":
        return False
    isatty = getattr(stream, "isatty", None)
    return not (isatty is not None and isatty())


def setup(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Configure the root logger (and uvicorn's, which then propagate to it) once per
    process: one handler on stderr with the chosen format and the request-id filter."""
    out = stream or sys.stderr
    handler: logging.Handler = logging.StreamHandler(stream) if stream else StderrHandler()
    handler.setFormatter(JsonFormatter() if use_json(fmt, out) else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_peso", False):
            root.removeHandler(old)
    handler._peso = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
