"""OpenLineage schema-facet types (issue 10, item 12): ``varchar`` was stored verbatim as an
Arrow type. The declared type is mapped to its Arrow meaning when that is clear and kept as the
field's ``sourceType`` always; an unknown type leaves ``arrowType`` empty, never guessed."""

from __future__ import annotations

import pyarrow as pa
import pytest
from starlette.testclient import TestClient

from server.openlineage.field_types import arrow_type_of
from tests.helpers import q
from tests.lineage_events import FACET_URL, PRODUCER, ds, new_run_id, run_event
from tests.openlineage_http import post_event, writer_headers


@pytest.mark.parametrize(("declared", "arrow"), [
    ("varchar", "string"), ("VARCHAR(16777216)", "string"), ("character varying(20)", "string"),
    ("text", "string"), ("STRING", "string"), ("uuid", "string"),
    ("integer", "int32"), ("INT", "int32"), ("bigint", "int64"), ("long", "int64"),
    ("INT64", "int64"), ("smallint", "int16"), ("int8", "int8"), ("tinyint", "int8"),
    ("double precision", "double"), ("FLOAT64", "double"), ("real", "float"),
    ("float", "float"), ("boolean", "bool"), ("BOOL", "bool"),
    ("decimal(10,2)", "decimal128(10, 2)"), ("NUMBER(38,0)", "decimal128(38, 0)"),
    ("numeric", "decimal128(38, 0)"), ("numeric(50, 4)", "decimal256(50, 4)"),
    ("date", "date32[day]"), ("timestamp", "timestamp[us]"),
    ("TIMESTAMP_NTZ(9)", "timestamp[us]"), ("timestamptz", "timestamp[us, tz=UTC]"),
    ("timestamp(6) with time zone", "timestamp[us, tz=UTC]"), ("bytea", "binary"),
    ("text[]", "list<item: string>"), ("array<bigint>", "list<item: int64>"),
    ("map<string, double>", "map<string, double>"), ("large_string", "large_string"),
    ("timestamp[ms]", "timestamp[ms]"),
])
def test_known_types_map_to_arrow(declared: str, arrow: str) -> None:
    assert arrow_type_of(declared) == arrow


@pytest.mark.parametrize("declared", ["struct<a:int>", "geography", "RECORD", "super",
                                      "numeric(90,2)", "decimal(5,9)", "varchar(abc)", "",
                                      "   ", "x" * 500, "array<geography>"])
def test_unclear_types_are_not_guessed(declared: str) -> None:
    assert arrow_type_of(declared) is None


def test_a_schema_facet_keeps_the_source_type_and_maps_the_arrow_type(
        client: TestClient) -> None:
    typed = ds("orders", fields=[])
    typed["facets"]["schema"] = {"_producer": PRODUCER, "_schemaURL": FACET_URL, "fields": [
        {"name": "id", "type": "bigint"}, {"name": "email", "type": "varchar"},
        {"name": "amount", "type": "NUMBER(12,2)"}, {"name": "where", "type": "geography"},
        {"name": "untyped"}]}
    done = post_event(client, run_event("etl.orders", new_run_id(), outputs=[typed]),
                      writer_headers(client))
    assert done.status_code == 201, done.text
    version = q(client, """{ dataset(namespace: "warehouse", name: "orders") {
        latestVersion { fields { name arrowType sourceType } } } }""")
    fields = version["dataset"]["latestVersion"]["fields"]
    assert fields == [
        {"name": "id", "arrowType": "int64", "sourceType": "bigint"},
        {"name": "email", "arrowType": "string", "sourceType": "varchar"},
        {"name": "amount", "arrowType": "decimal128(12, 2)", "sourceType": "NUMBER(12,2)"},
        {"name": "where", "arrowType": "", "sourceType": "geography"},
        {"name": "untyped", "arrowType": "", "sourceType": None}]


def test_a_type_longer_than_the_limit_is_a_clear_400(client: TestClient) -> None:
    typed = ds("orders", fields=[])
    typed["facets"]["schema"] = {"_producer": PRODUCER, "_schemaURL": FACET_URL,
                                 "fields": [{"name": "id", "type": "x" * 201}]}
    done = post_event(client, run_event("etl.orders", new_run_id(), outputs=[typed]),
                      writer_headers(client))
    assert done.status_code == 400
    assert "the type of field 'id' is longer than 200 characters" in done.text


@pytest.mark.parametrize("arrow", [
    pa.int64(), pa.string(), pa.large_string(), pa.float64(), pa.bool_(), pa.date32(),
    pa.decimal128(5, 2), pa.decimal256(50, 4), pa.timestamp("us"), pa.timestamp("ms", "UTC"),
    pa.timestamp("ns", "Europe/Paris"), pa.time64("us"), pa.duration("s"), pa.binary(),
    pa.list_(pa.string()), pa.large_list(pa.int32()), pa.list_(pa.int8(), 3),
    pa.struct([("a", pa.int64()), ("b", pa.list_(pa.string()))]),
    pa.map_(pa.string(), pa.float64()), pa.dictionary(pa.int32(), pa.string()),
    pa.binary(16), pa.month_day_nano_interval(), pa.null(),
], ids=str)
def test_an_arrow_type_reads_back_as_itself(arrow: pa.DataType) -> None:
    """Peso's own peso.load events declare Arrow types: anything else would look like a new
    schema on every load (and register a version without objects)."""
    assert arrow_type_of(str(arrow)) == str(arrow)
