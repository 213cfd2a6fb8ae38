"""Turn user-facing switches (CLI flags, GraphQL input) into LoadOptions, validating each."""

from __future__ import annotations

import codecs
from typing import cast

from loaders.options import (
    DEFAULT_NULL_TOKENS,
    CleaningOptions,
    DateOrder,
    LoadOptions,
    ReadOptions,
)
from loaders.sniff import FileFormat
from server.errors import ValidationError

DELIMITERS = {",": ",", ";": ";", "\t": "\t", "\\t": "\t", "tab": "\t", "|": "|"}


def build_options(*, fmt: str | None = None, delimiter: str | None = None,
                  encoding: str | None = None, sheet: str | None = None,
                  date_order: str | None = None, null_tokens: list[str] | None = None,
                  sentinels: list[str] | None = None, normalize_names: bool = True,
                  trim_whitespace: bool = True, infer_types: bool = True,
                  drop_duplicates: bool = False, allow_empty: bool = False) -> LoadOptions:
    if fmt is not None:
        try:
            fmt_enum: FileFormat | None = FileFormat(fmt.lower())
        except ValueError:
            raise ValidationError(f"format {fmt!r} is not one of: "
                                  + ", ".join(f.value for f in FileFormat),
                                  field="format") from None
    else:
        fmt_enum = None
    if delimiter is not None and delimiter not in DELIMITERS:
        raise ValidationError(f"delimiter {delimiter!r} is not one of , ; tab |",
                              field="delimiter")
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ValidationError(f"encoding {encoding!r} is unknown", field="encoding") from None
    order = (date_order or "auto").lower()
    if order not in ("auto", "dmy", "mdy"):
        raise ValidationError(f"date order {date_order!r} is not auto, dmy or mdy",
                              field="dateOrder")
    for token in (null_tokens or []) + (sentinels or []):
        if len(token) > 100 or "\x00" in token:
            raise ValidationError("null tokens and sentinels must be short text",
                                  field="nullTokens")
    return LoadOptions(
        read=ReadOptions(format=fmt_enum,
                         delimiter=DELIMITERS[delimiter] if delimiter is not None else None,
                         encoding=encoding, sheet=sheet),
        clean=CleaningOptions(
            normalize_names=normalize_names, trim_whitespace=trim_whitespace,
            null_tokens=tuple(null_tokens) if null_tokens is not None else DEFAULT_NULL_TOKENS,
            sentinels=tuple(sentinels or ()), infer_types=infer_types,
            date_order=cast(DateOrder, order), drop_duplicates=drop_duplicates),
        allow_empty=allow_empty)
