"""The load report: what a load read, skipped and wrote, step by step (the DataHub model)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from server.errors import LoadError


@dataclass
class StepReport:
    step: str
    seconds: float = 0.0
    status: str = "ok"          # ok | failed | skipped
    detail: str | None = None


@dataclass
class LoadReport:
    file: str
    dataset: str
    rows_read: int = 0
    rows_skipped: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    bytes_read: int = 0
    created: bool = False
    version: int | None = None
    version_id: str | None = None
    raw_key: str | None = None
    curated_key: str | None = None
    quarantine_key: str | None = None
    cleaning: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, Any] | None = None
    steps: list[StepReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @contextmanager
    def step(self, name: str) -> Iterator[StepReport]:
        """Time a step; a LoadError raised inside is labelled with the step's name."""
        rec = StepReport(name)
        self.steps.append(rec)
        start = time.perf_counter()
        try:
            yield rec
        except LoadError as exc:
            rec.status, rec.detail = "failed", exc.message
            raise LoadError(f"[{name}] {exc.message}", field=exc.field) from exc
        except BaseException:
            rec.status = "failed"
            raise
        finally:
            rec.seconds = round(time.perf_counter() - start, 6)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
