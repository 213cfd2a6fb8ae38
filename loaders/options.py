"""What a load may be told: how to read the file and which cleaning steps to run.

Every cleaning step can be switched off, and each one that ran is recorded in the load report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from loaders.sniff import FileFormat

DEFAULT_NULL_TOKENS: tuple[str, ...] = ("", "NA", "N/A", "n/a", "null", "NULL", "-")
DateOrder = Literal["auto", "dmy", "mdy"]


@dataclass(frozen=True, slots=True)
class ReadOptions:
    format: FileFormat | None = None   # force a format instead of detecting it
    delimiter: str | None = None       # CSV: force the delimiter (',', ';', '\t', '|')
    encoding: str | None = None        # text: force the encoding (utf-8, utf-16, latin-1…)
    sheet: str | None = None           # Excel: the sheet to read (default: the first)
    batch_rows: int = 65_536           # rows per batch for JSON and Excel
    block_bytes: int = 8 << 20         # bytes per CSV block (memory per batch)
    native_types: bool = True          # CSV: let Arrow parse plain numbers/ISO dates typed


@dataclass(frozen=True, slots=True)
class CleaningOptions:
    normalize_names: bool = True       # snake_case, de-duplicated; originals kept in metadata
    trim_whitespace: bool = True
    null_tokens: tuple[str, ...] = DEFAULT_NULL_TOKENS
    sentinels: tuple[str, ...] = ()    # dataset-specific "missing" markers: unknown, -1, 999…
    infer_types: bool = True           # integers, decimals, currency, %, booleans, dates
    date_order: DateOrder = "auto"     # resolve d/m vs m/d from the data, or say which
    drop_duplicates: bool = False      # drop exact duplicate rows


@dataclass(frozen=True, slots=True)
class LoadOptions:
    read: ReadOptions = field(default_factory=ReadOptions)
    clean: CleaningOptions = field(default_factory=CleaningOptions)
    allow_empty: bool = False          # register a file with no data rows (a header only)
