"""OpenLineage schema-facet types → Arrow types.

A schema facet's ``type`` is whatever the producer's engine calls it: ``varchar`` (Postgres,
dbt), ``VARCHAR(16777216)`` and ``NUMBER(38,0)`` (Snowflake), ``INT64`` (BigQuery), ``long`` and
``decimal(10,2)`` (Spark), ``timestamptz``... Peso's ``Field.arrowType`` is an Arrow type
everywhere else, so the declared type is mapped here when its meaning is clear, and always kept
verbatim as the field's ``sourceType`` (``metadata["source_type"]``). A type this table does not
know (``struct``, ``geography``, an engine's own) keeps an empty ``arrowType``: unknown, never
guessed.

A declared type that already is an Arrow type name (``int8``, ``int64``, ``double``,
``large_string``, ``timestamp[us]``) keeps its Arrow meaning: Postgres' ``int8`` (a 64-bit
integer) is therefore read as Arrow's 8-bit ``int8``; its ``sourceType`` says what was written.
"""

from __future__ import annotations

import functools
import re

import pyarrow as pa

SOURCE_TYPE_KEY = "source_type"
MAX_TYPE_LENGTH = 200  # longer declared types are not parsed (kept as the source type only)

_SIMPLE: dict[str, str] = {
    # text
    **dict.fromkeys(("varchar", "char", "character", "character varying", "nvarchar", "nchar",
                     "text", "string", "str", "clob", "uuid", "json", "jsonb", "variant",
                     "enum", "citext", "bpchar", "name", "tinytext", "mediumtext",
                     "longtext", "utf8"), "string"),
    # integers
    **dict.fromkeys(("tinyint", "byte"), "int8"),
    **dict.fromkeys(("smallint", "short", "int2", "smallserial"), "int16"),
    **dict.fromkeys(("int", "integer", "int4", "mediumint", "serial"), "int32"),
    **dict.fromkeys(("bigint", "long", "bigserial", "int64", "serial8"), "int64"),
    # floating point
    **dict.fromkeys(("real", "float4", "float32", "float"), "float"),
    **dict.fromkeys(("double", "double precision", "float8", "float64"), "double"),
    # logical
    **dict.fromkeys(("bool", "boolean", "bit", "logical"), "bool"),
    # time
    "date": "date32[day]",
    **dict.fromkeys(("datetime", "timestamp", "timestamp_ntz", "timestamp without time zone",
                     "datetime2", "smalldatetime"), "timestamp[us]"),
    **dict.fromkeys(("timestamptz", "timestamp with time zone", "timestamp_tz",
                     "timestamp_ltz", "datetimeoffset"), "timestamp[us, tz=UTC]"),
    **dict.fromkeys(("time", "time without time zone"), "time64[us]"),
    # bytes
    **dict.fromkeys(("binary", "varbinary", "bytea", "blob", "bytes", "image", "longblob"),
                    "binary"),
}
_DECIMAL = re.compile(r"^(?:decimal|numeric|number|dec|bignumeric)"
                      r"\s*(?:\(\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?\))?$")
_PARAMETERS = re.compile(r"\s*\(\s*[\d\s,]+\)")  # varchar(255), timestamp(6) with time zone
_ARRAY = re.compile(r"^(?:array|list)\s*<\s*(.+)\s*>$")
_MAP = re.compile(r"^map\s*<\s*([^,<>]+)\s*,\s*(.+)\s*>$")


# How pyarrow renders the types that have no alias (``str(pa.decimal128(5, 2))``): Peso's own
# events (peso.load) declare their fields' Arrow types this way, and they must read back as
# themselves, or every load would look like a schema change.
_ARROW_RENDERED = re.compile(r"""^(?:
    decimal(?:32|64|128|256)\(\d+,\ -?\d+\)
  | timestamp\[(?:s|ms|us|ns)(?:,\ tz=[^\]]+)?\]
  | time(?:32|64)\[(?:s|ms|us|ns)\] | date32\[day\] | date64\[ms\] | duration\[(?:s|ms|us|ns)\]
  | fixed_size_binary\[\d+\] | month_day_nano_interval | string_view | binary_view
  | (?:large_)?list(?:_view)?<[^:<>]+:\ .+> | fixed_size_list<[^:<>]+:\ .+>\[\d+\]
  | struct<(?:[^:<>]+:\ .+)?> | map<.+,\ .+> | dictionary<values=.+> | (?:dense|sparse)_union<.*>
  | extension<.+> | run_end_encoded<.+>
)$""", re.X)


def _is_arrow_name(declared: str) -> bool:
    try:
        pa.type_for_alias(declared)
    except (ValueError, KeyError):
        return False
    return True


@functools.lru_cache(maxsize=4096)
def arrow_type_of(declared: str) -> str | None:
    """The Arrow type string for a declared field type, or None when it is not clear.
    Remembered (a pure function of the text): producers declare the same few types in every
    schema facet, and asking pyarrow about a type it does not name raises each time."""
    text = " ".join(declared.strip().split())
    if not text or len(text) > MAX_TYPE_LENGTH:
        return None
    if _ARROW_RENDERED.match(text):
        return text
    if _is_arrow_name(text):
        return str(pa.type_for_alias(text))
    low = text.lower()
    if low in _SIMPLE:
        return _SIMPLE[low]
    if low.endswith("[]"):  # Postgres arrays: text[]
        inner = arrow_type_of(text[:-2])
        return f"list<item: {inner}>" if inner else None
    decimal = _DECIMAL.match(low)
    if decimal:
        precision = int(decimal.group(1) or 38)
        scale = int(decimal.group(2) or 0)
        if not 1 <= precision <= 76 or not 0 <= scale <= precision:
            return None
        kind = "decimal128" if precision <= 38 else "decimal256"
        return f"{kind}({precision}, {scale})"
    array = _ARRAY.match(low)
    if array:
        inner = arrow_type_of(array.group(1))
        return f"list<item: {inner}>" if inner else None
    mapping = _MAP.match(low)
    if mapping:
        key, value = arrow_type_of(mapping.group(1)), arrow_type_of(mapping.group(2))
        return f"map<{key}, {value}>" if key and value else None
    return _SIMPLE.get(" ".join(_PARAMETERS.sub(" ", low).split()))
