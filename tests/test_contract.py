"""The VALIDATE step: contract parsing, each rule, schema checks, on_violation modes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loaders.contract import (
    ColumnType,
    Contract,
    OnViolation,
    Validator,
    decide,
    parse_contract,
)
from server.errors import LoadError

LABEL = "people.csv (mkt/people)"


def rb(**columns: Any) -> pa.RecordBatch:
    return pa.record_batch({k: v if isinstance(v, pa.Array) else pa.array(v)
                            for k, v in columns.items()})


def contract(columns: dict[str, Any], **top: Any) -> Contract:
    return parse_contract({"columns": columns, **top})


def run(columns: dict[str, Any], *batches: pa.RecordBatch, **kwargs: Any) -> Validator:
    v = Validator(contract(columns), batches[0].schema, **kwargs)
    first = 0
    for b in batches:
        v.validate(b, first)
        first += b.num_rows
    return v


def check(v: Validator, name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [c for c in v.report()["checks"] if c["name"] == name]
    assert len(found) == 1
    return found[0]


def failed_rows(v: Validator, name: str) -> list[int]:
    return [s["row"] for s in check(v, name)["samples"]]


def mask_of(columns: dict[str, Any], batch: pa.RecordBatch) -> list[bool]:
    v = Validator(contract(columns), batch.schema)
    mask = v.validate(batch, 0)
    assert mask.null_count == 0
    return list(mask.to_pylist())


# ----------------------------------------------------------------------------- rules


def test_required_fails_only_nulls_and_nan() -> None:
    b = rb(x=pa.array([1.0, None, float("nan"), 0.0]), s=["a", "", None, "b"])
    v = run({"x": {"required": True}, "s": {"required": True}}, b)
    assert check(v, "x.required")["failed"] == 2
    assert failed_rows(v, "x.required") == [2, 3]
    assert check(v, "s.required")["failed"] == 1  # "" is a value; the cleaner maps tokens
    assert check(v, "s.required")["samples"] == [{"row": 3, "value": None}]


def test_required_passes_a_full_column() -> None:
    v = run({"x": {"required": True}}, rb(x=[1, 2, 3]))
    assert check(v, "x.required") | {"samples": []} == check(v, "x.required")
    assert check(v, "x.required")["passed"] == 3
    assert v.report()["passed"] is True


def test_min_and_max_integers_inclusive_nulls_pass() -> None:
    b = rb(age=pa.array([18, 17, None, 120, 121], pa.int16()))
    assert mask_of({"age": {"type": "integer", "min": 18, "max": 120}}, b) == \
        [False, True, False, False, True]
    v = run({"age": {"type": "integer", "min": 18, "max": 120}}, b)
    assert check(v, "age.min")["samples"] == [{"row": 2, "value": 17}]
    assert check(v, "age.max")["samples"] == [{"row": 5, "value": 121}]
    assert check(v, "age.min")["passed"] == 4
    assert check(v, "age.max")["expected"] == 120


def test_min_max_numbers_across_int_float_decimal() -> None:
    dec = pa.array([Decimal("0.50"), Decimal("10.00"), None], pa.decimal128(10, 2))
    b = rb(f=[0.4, 2.5, None], i=[0, 1, 2], d=dec)
    v = run({"f": {"type": "number", "min": 0.5}, "i": {"type": "number", "max": 1.5},
             "d": {"type": "number", "min": 0.5, "max": 9}}, b)
    assert failed_rows(v, "f.min") == [1]
    assert failed_rows(v, "i.max") == [3]
    assert check(v, "d.min")["failed"] == 0
    assert check(v, "d.max")["samples"] == [{"row": 2, "value": "10.00"}]  # decimals as text


def test_min_max_dates_from_iso_strings() -> None:
    b = rb(signup=[date(2019, 12, 31), date(2020, 1, 1), None, date(2031, 1, 1)])
    v = run({"signup": {"type": "date", "min": "2020-01-01", "max": "2030-12-31"}}, b)
    assert check(v, "signup.min")["samples"] == [{"row": 1, "value": "2019-12-31"}]
    assert failed_rows(v, "signup.max") == [4]
    assert check(v, "signup.min")["expected"] == "2020-01-01"


def test_min_max_timestamps_with_time_zones() -> None:
    aware = pa.array([datetime(2024, 1, 1, 0, 30, tzinfo=UTC),
                      datetime(2024, 1, 2, tzinfo=UTC), None], pa.timestamp("s", tz="UTC"))
    naive = pa.array([datetime(2024, 1, 1, 0, 30), datetime(2024, 1, 2), None],
                     pa.timestamp("ms"))
    b = rb(aware=aware, naive=naive)
    v = run({"aware": {"type": "timestamp", "min": "2024-01-01T01:00:00"},      # read as UTC
             "naive": {"type": "timestamp", "min": "2024-01-01T02:00:00+02:00"}}, b)
    assert check(v, "aware.min")["samples"] == [{"row": 1, "value": "2024-01-01T00:30:00+00:00"}]
    assert failed_rows(v, "naive.min") == []   # 02:00+02:00 is midnight UTC


def test_min_max_strings_compare_lexicographically() -> None:
    b = rb(code=["B", "a", "Az", None, "C"])
    assert mask_of({"code": {"min": "B", "max": "Bz"}}, b) == [False, True, True, False, True]


def test_allowed_values_nulls_pass() -> None:
    b = rb(country=["GB", "US", None, "de"])
    assert mask_of({"country": {"allowed": ["GB", "DE", "FR"]}}, b) == \
        [False, True, False, True]


def test_allowed_integers_and_dictionary_columns() -> None:
    codes = pa.array(["x", "y", "x", None]).dictionary_encode()
    b = rb(n=[1, 2, 3, None], code=codes)
    v = run({"n": {"allowed": [1, 2]}, "code": {"type": "string", "allowed": ["x"]}}, b)
    assert failed_rows(v, "n.allowed") == [3]
    assert check(v, "code.allowed")["samples"] == [{"row": 2, "value": "y"}]


def test_allowed_yaml_reads_no_as_a_country_code() -> None:
    c = parse_contract("columns:\n  country: {allowed: [GB, NO, yes, on]}\n")
    assert c.columns[0].allowed == ("GB", "NO", "yes", "on")
    assert mask_of(c.as_dict()["columns"], rb(country=["NO", "SE"])) == [False, True]


def test_regex_is_a_full_match_in_re2_syntax() -> None:
    b = rb(email=["a@b.com", "<a@b.com>", None, "no-at", "é@b.com"])
    v = run({"email": {"regex": r"[^@\s]+@[^@\s]+\.[a-z]+"}}, b)
    assert failed_rows(v, "email.regex") == [2, 4]
    assert mask_of({"name": {"regex": r"\p{L}+"}}, rb(name=["Zoë", "R2D2", None])) == \
        [False, True, False]


def test_regex_passes_a_clean_column() -> None:
    v = run({"zip": {"type": "string", "regex": "[0-9]{5}"}}, rb(zip=["75001", "10115"]))
    assert check(v, "zip.regex")["failed"] == 0
    assert v.report()["passed"]


def test_unique_within_and_across_batches() -> None:
    first = rb(email=["a", "b", "a", None])
    second = rb(email=["c", "b", None, "c", "d"])
    v = run({"email": {"unique": True}}, first, second)
    c = check(v, "email.unique")
    assert c["failed"] == 3   # row 3 (a), row 6 (b), row 8 (c); nulls never repeat
    assert failed_rows(v, "email.unique") == [3, 6, 8]
    assert c["complete"] is True
    assert v.rows_checked == 9
    assert v.rows_failed == 3


def test_unique_past_its_memory_cap_says_so() -> None:
    batches = [rb(id=[1, 2]), rb(id=[3, 4, 1]), rb(id=[5, 3, 4])]
    v = run({"id": {"unique": True}}, *batches, unique_max_values=3)
    c = check(v, "id.unique")
    assert c["complete"] is False
    assert "row 3" in c["note"]
    assert failed_rows(v, "id.unique") == [5, 7]   # 1 and 3 are held; 4 came after the cap
    report = v.report()
    assert report["complete"] is False
    outcome = decide(report, "warn", label=LABEL)
    assert any("id.unique: not fully checked" in w for w in outcome.warnings)


# ----------------------------------------------------------------------------- schema


def test_missing_column_is_a_schema_failure() -> None:
    v = Validator(contract({"age": {"min": 18}, "email": {}}), rb(age=[20]).schema)
    [missing] = [c for c in v.check_schema() if not c.passed]
    assert missing.name == "email.present"
    assert "'email' is missing" in (missing.message or "")
    v.validate(rb(age=[20]), 0)
    report = v.report()
    assert report["passed"] is False
    assert report["rows_failed"] == 0
    for mode in ("fail", "quarantine"):
        with pytest.raises(LoadError, match=r"people.csv \(mkt/people\): .*'email' is missing"):
            decide(report, mode, label=LABEL)
    assert decide(report, "warn", label=LABEL).warnings


def test_rules_of_a_missing_column_are_reported_as_not_checked() -> None:
    v = Validator(contract({"age": {"required": True}}), rb(x=[1]).schema)
    assert v.validate(rb(x=[1]), 0).to_pylist() == [False]
    c = check(v, "age.required")
    assert c["complete"] is False
    assert c["note"].startswith("not checked")


def test_wrong_type_is_a_schema_failure() -> None:
    b = rb(age=["18", "x"])
    v = Validator(contract({"age": {"type": "integer", "min": 18}}), b.schema)
    [bad] = [c for c in v.check_schema() if not c.passed]
    assert (bad.name, bad.expected, bad.actual) == ("age.type", "integer", "string")
    assert v.validate(b, 0).to_pylist() == [False, False]   # its rules cannot run
    with pytest.raises(LoadError, match=r"age.*expected integer, got string"):
        decide(v.report(), label=LABEL)


@pytest.mark.parametrize(("declared", "arrow_type"), [
    ("string", pa.large_string()), ("integer", pa.uint8()), ("number", pa.decimal128(5, 2)),
    ("number", pa.float32()), ("boolean", pa.bool_()), ("date", pa.date64()),
    ("timestamp", pa.timestamp("ns", tz="Europe/Paris")), ("integer", pa.null())])
def test_type_compatibility(declared: str, arrow_type: pa.DataType) -> None:
    schema = pa.schema([pa.field("c", arrow_type)])
    assert Validator(contract({"c": {"type": declared}}), schema).schema_passed


def test_untyped_rule_that_cannot_apply_is_a_schema_failure() -> None:
    v = Validator(contract({"n": {"min": "a", "regex": "x"}}), rb(n=[1]).schema)
    failures = {c.name for c in v.check_schema() if not c.passed}
    assert failures == {"n.min", "n.regex"}


def test_extra_columns_refused_only_when_asked() -> None:
    schema = rb(age=[1], extra=[2]).schema
    assert Validator(contract({"age": {}}), schema).schema_passed
    v = Validator(contract({"age": {}}, allow_extra_columns=False), schema)
    [extra] = [c for c in v.check_schema() if not c.passed]
    assert extra.name == "extra_columns"
    assert extra.actual == ["extra"]
    with pytest.raises(LoadError, match="columns not in the contract: 'extra'"):
        decide(v.report(), label=LABEL)


def test_original_names_through_the_mapping() -> None:
    b = rb(signup_date=[date(2019, 1, 1)])
    v = Validator(contract({"Signup Date": {"type": "date", "min": "2020-01-01"}}), b.schema,
                  names={"Signup Date": "signup_date"})
    assert v.schema_passed
    assert v.validate(b, 10).to_pylist() == [True]
    assert check(v, "signup_date.min")["samples"] == [{"row": 11, "value": "2019-01-01"}]


def test_original_names_from_field_metadata() -> None:
    schema = pa.schema([pa.field("signup_date", pa.date32(),
                                 metadata={"original_name": "Signup Date"})])
    v = Validator(contract({"Signup Date": {"type": "date"}}), schema)
    assert v.schema_passed
    assert [c.name for c in v.check_schema()] == ["signup_date.present", "signup_date.type"]


def test_two_contract_columns_naming_one_column_are_refused() -> None:
    with pytest.raises(LoadError, match="both name the column 'age'"):
        Validator(contract({"Age": {}, "age": {}}), rb(age=[1]).schema, names={"Age": "age"})


# ----------------------------------------------------------------------------- modes


BAD = {"age": {"type": "integer", "min": 18}, "email": {"regex": ".+@.+", "unique": True}}


def bad_batch() -> pa.RecordBatch:
    return rb(age=[30, 12, 40, 5], email=["a@x", "b@x", "nope", "a@x"])


def test_fail_mode_raises_with_counts_and_sample_rows() -> None:
    v = Validator(contract(BAD), bad_batch().schema)
    v.validate(bad_batch(), 0)
    with pytest.raises(LoadError) as err:
        decide(v.report(), "fail", label=LABEL)
    msg = err.value.message
    assert msg.startswith("people.csv (mkt/people): 3 rows of 4 fail the contract: ")
    assert "age.min (≥ 18): 2 rows, e.g. row 2: 12, row 4: 5" in msg
    assert "email.unique (no repeated values): 1 row, e.g. row 4: 'a@x'" in msg
    assert "email.regex (matching /.+@.+/): 1 row, e.g. row 3: 'nope'" in msg
    assert err.value.field == "age"


def test_fail_mode_passes_clean_data() -> None:
    v = run(BAD, rb(age=[30], email=["a@x"]))
    outcome = decide(v.report(), label=LABEL)
    assert outcome.passed
    assert not outcome.quarantine
    assert outcome.warnings == ()


def test_quarantine_mode_splits_bad_rows_with_row_numbers_and_violations() -> None:
    v = Validator(contract(BAD, on_violation="quarantine"), bad_batch().schema)
    b = bad_batch()
    mask = v.validate(b, 100)
    good, bad = v.split(b, mask)
    assert good.to_pydict() == {"age": [30], "email": ["a@x"]}
    assert bad.schema == v.quarantine_schema
    assert bad.column("_row").to_pylist() == [102, 103, 104]
    assert bad.column("_violations").to_pylist() == \
        ["age.min", "email.regex", "age.min,email.unique"]
    outcome = decide(v.report(), label=LABEL)
    assert outcome.on_violation is OnViolation.QUARANTINE
    assert outcome.quarantine
    assert outcome.rows_failed == 3
    assert "3 rows quarantined" in outcome.warnings[0]


def test_split_takes_the_batch_just_validated() -> None:
    v = Validator(contract(BAD), bad_batch().schema)
    mask = v.validate(bad_batch(), 0)
    with pytest.raises(ValueError, match="last passed to validate"):
        v.split(bad_batch(), mask)


def test_warn_mode_keeps_rows_and_reports_failures() -> None:
    v = run(BAD, bad_batch())
    outcome = decide(v.report(), "warn", label=LABEL)
    assert not outcome.passed
    assert not outcome.quarantine
    assert outcome.rows_failed == 3
    assert any("age.min (≥ 18): 2 rows" in w for w in outcome.warnings)


def test_report_shape_is_json_safe() -> None:
    b = rb(d=[date(2019, 1, 1)], t=pa.array([datetime(2020, 1, 1)], pa.timestamp("us")),
           m=pa.array([Decimal("1.5")]), f=[float("inf")])
    v = run({"d": {"type": "date", "min": date(2020, 1, 1)},
             "t": {"type": "timestamp", "max": "2019-06-01T00:00:00"},
             "m": {"type": "number", "max": Decimal("1")}, "f": {"max": 1}},
            b, names=None)
    report = v.report()
    text = json.dumps(report, allow_nan=False)
    assert json.loads(text) == report
    assert set(report) == {"contract", "on_violation", "rows_checked", "rows_failed", "passed",
                           "complete", "checks", "schema_checks"}
    assert report["contract"]["columns"]["d"]["min"] == "2020-01-01"
    assert check(v, "t.max")["samples"] == [{"row": 1, "value": "2020-01-01T00:00:00"}]
    assert check(v, "f.max")["samples"] == [{"row": 1, "value": "inf"}]
    assert set(report["checks"][0]) == {"name", "column", "rule", "expected", "passed",
                                        "failed", "samples", "complete", "note"}


def test_samples_are_capped() -> None:
    v = run({"n": {"max": 0}}, rb(n=list(range(1, 20))), max_samples=5)
    assert check(v, "n.max")["failed"] == 19
    assert failed_rows(v, "n.max") == [1, 2, 3, 4, 5]


# ----------------------------------------------------------------------------- parsing


GOOD_YAML = """\
on_violation: quarantine        # fail | quarantine | warn
allow_extra_columns: false
columns:
  age:      {type: integer, required: true, min: 18, max: 120}
  email:    {type: string, required: true, unique: true, regex: '^[^@\\s]+@[^@\\s]+\\.[a-z]+$'}
  country:  {allowed: [GB, DE, FR]}
  signup:   {type: date, min: '2020-01-01'}
  balance:  {type: number}
"""


def test_parse_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "contract.yaml"
    path.write_text(GOOD_YAML)
    c = parse_contract(path)
    assert c.on_violation is OnViolation.QUARANTINE
    assert c.allow_extra_columns is False
    assert [col.name for col in c.columns] == ["age", "email", "country", "signup", "balance"]
    age, email, _, signup, balance = c.columns
    assert (age.type, age.required, age.min, age.max) == (ColumnType.INTEGER, True, 18, 120)
    assert email.unique
    assert email.regex == r"^[^@\s]+@[^@\s]+\.[a-z]+$"
    assert signup.min == date(2020, 1, 1)
    assert balance.rules == []
    assert parse_contract(str(path)).columns == c.columns       # a str naming a file
    assert c.label == str(path)


def test_parse_json_file_and_text(tmp_path: Path) -> None:
    doc = {"columns": {"age": {"type": "number", "min": 1.5}}, "on_violation": "warn"}
    path = tmp_path / "contract.json"
    path.write_text(json.dumps(doc))
    assert parse_contract(path).columns[0].min == 1.5
    assert parse_contract(json.dumps(doc)).on_violation is OnViolation.WARN
    assert parse_contract("{columns: {a: {}}}").columns[0].name == "a"   # YAML flow style
    assert parse_contract({"columns": {"a": None}}).columns[0].rules == []


YAML_ERRORS = [
    ("columns:\n  age: {type: number, min: x}\n", "columns.age.min: expected a number, got 'x'"),
    ("columns:\n  age: {type: integer, min: 1.5}\n",
     "columns.age.min: expected an integer, got 1.5"),
    ("colums:\n  age: {}\n", "colums: unknown key; did you mean 'columns'?"),
    ("columns:\n  age: {mni: 1}\n", "columns.age.mni: unknown key; did you mean 'min'?"),
    ("columns:\n  age: {foo: 1}\n", "columns.age.foo: unknown key; expected one of allowed, "
                                   "max, min, regex, required, type, unique"),
    ("columns:\n  age: {type: int}\n", "columns.age.type: expected one of string, integer, "
                                       "number, boolean, date, timestamp, got 'int'"),
    ("columns:\n  age: {min: 10, max: 5}\n", "columns.age.min: min (10) is greater than max (5)"),
    ("columns:\n  d: {type: date, min: '2021-01-01', max: '2020-01-01'}\n",
     "columns.d.min: min (2021-01-01) is greater than max (2020-01-01)"),
    ("columns:\n  c: {allowed: GB}\n", "columns.c.allowed: expected a non-empty list, got 'GB'"),
    ("columns:\n  c: {allowed: [GB, null]}\n", "columns.c.allowed[1]: null is never"),
    ("columns:\n  c: {type: string, allowed: [GB, 1]}\n",
     "columns.c.allowed[1]: expected a string, got 1"),
    ("columns:\n  c: {regex: '(a'}\n",
     "columns.c.regex: invalid regular expression '(a': missing ): (a"),
    ("columns:\n  c: {regex: '(?<=a)b'}\n", "columns.c.regex: invalid regular expression"),
    ("columns:\n  c: {type: integer, regex: 'a'}\n",
     "columns.c.regex: regex applies to string columns, not integer"),
    ("columns:\n  c: {required: yes}\n", "columns.c.required: expected true or false, got 'yes'"),
    ("columns:\n  c: {type: boolean, min: true}\n", "columns.c.min: min and max do not apply"),
    ("columns:\n  d: {type: date, min: 2020-13-01}\n",
     "columns.d.min: expected a date (YYYY-MM-DD), got '2020-13-01'"),
    ("on_violation: drop\ncolumns: {a: {}}\n",
     "on_violation: expected one of fail, quarantine, warn, got 'drop'"),
    ("allow_extra_columns: 'no'\ncolumns: {a: {}}\n",
     "allow_extra_columns: expected true or false, got 'no'"),
    ("on_violation: warn\n", "columns: required"),
    ("columns: {}\n", "columns: expected a non-empty mapping"),
    ("columns: [a, b]\n", "columns: expected a non-empty mapping of column name to rules, "
                          "got a list"),
    ("- a\n", "expected a mapping with a 'columns' key, got a list"),
    ("columns:\n  a: {}\n  a: {}\n", "invalid YAML at line 3, column 3: found duplicate key 'a'"),
    ("columns:\n  a: {min: [}\n", "invalid YAML at line 2"),
]


@pytest.mark.parametrize(("text", "message"), YAML_ERRORS)
def test_yaml_contract_errors_name_the_file_and_key(tmp_path: Path, text: str,
                                                    message: str) -> None:
    path = tmp_path / "contract.yaml"
    path.write_text(text)
    with pytest.raises(LoadError) as err:
        parse_contract(path, label="contract.yaml")
    assert err.value.message.startswith(f"contract.yaml: {message}"), err.value.message


JSON_ERRORS = [
    ({"columns": {"age": {"type": "number", "min": "x"}}},
     "columns.age.min: expected a number, got 'x'"),
    ({"columns": {"age": {"min": 1, "max": "z"}}},
     "columns.age.max: expected a number like min, got 'z'"),
    ({"columns": {"age": {"allowed": {"a": 1}}}},
     "columns.age.allowed: expected a non-empty list, got a mapping"),
    ({"columns": {"age": {"unique": 1}}}, "columns.age.unique: expected true or false, got 1"),
    ({"columns": {"t": {"type": "timestamp", "max": "yesterday"}}},
     "columns.t.max: expected a timestamp (ISO 8601"),
    ({"columns": {"age": []}}, "columns.age: expected a mapping of rules, got a list"),
]


@pytest.mark.parametrize(("doc", "message"), JSON_ERRORS)
def test_json_contract_errors_name_the_file_and_key(tmp_path: Path, doc: dict[str, Any],
                                                    message: str) -> None:
    path = tmp_path / "contract.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(LoadError) as err:
        parse_contract(path)
    assert err.value.message.startswith(f"{path}: {message}"), err.value.message
    assert err.value.field == message.split(":")[0]


@pytest.mark.parametrize(("text", "message"), [
    ('{"columns": {"a": {}}, "columns": {}}', "duplicate key 'columns'"),
    ('{"columns": {"a": {"min": NaN}}}', "NaN is not a JSON number"),
    ('{"columns": {"a": {"min": 1,}}}', "invalid JSON at line 1, column 29"),
    ('{"columns": {"a": {"min": 1}}', "invalid JSON at line 1, column 30: Expecting ','"),
])
def test_json_syntax_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "contract.json"
    path.write_text(text)
    with pytest.raises(LoadError) as err:
        parse_contract(path, label="contract.json")
    assert err.value.message.startswith(f"contract.json: {message}"), err.value.message


def test_json_text_falls_back_to_yaml_flow_style_but_keeps_json_errors() -> None:
    assert parse_contract('{columns: {a: {min: 1}}}').columns[0].min == 1
    with pytest.raises(LoadError, match=r"^contract: invalid JSON at line 1"):
        parse_contract('{"columns": {"a": {"min": 1}}')


def test_unreadable_contract_file(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match=r"nope\.yaml: cannot read the contract"):
        parse_contract(tmp_path / "nope.yaml")


# ----------------------------------------------------------------------------- property


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.integers(-1000, 1000)), max_size=60),
       lo=st.one_of(st.none(), st.integers(-1100, 1100)),
       hi=st.one_of(st.none(), st.integers(-1100, 1100)),
       batch_size=st.integers(1, 25))
def test_min_max_failures_match_a_python_count(values: list[int | None], lo: int | None,
                                               hi: int | None, batch_size: int) -> None:
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    rules: dict[str, Any] = {"type": "integer"}
    if lo is not None:
        rules["min"] = lo
    if hi is not None:
        rules["max"] = hi
    v = Validator(contract({"n": rules}), pa.schema([pa.field("n", pa.int64())]))
    flagged = 0
    for start in range(0, len(values), batch_size):
        chunk = pa.record_batch({"n": pa.array(values[start:start + batch_size], pa.int64())})
        flagged += sum(v.validate(chunk, start).to_pylist())
    below = sum(1 for x in values if x is not None and lo is not None and x < lo)
    above = sum(1 for x in values if x is not None and hi is not None and x > hi)
    report = v.report()
    counts = {c["rule"]: c["failed"] for c in report["checks"]}
    assert counts.get("min", 0) == below
    assert counts.get("max", 0) == above
    assert report["rows_failed"] == flagged == below + above
    assert report["rows_checked"] == len(values)
    for c in report["checks"]:
        for s in c["samples"]:
            x = values[s["row"] - 1]
            bound = lo if c["rule"] == "min" else hi
            assert x == s["value"]
            assert x is not None
            assert bound is not None
            assert (x < bound) if c["rule"] == "min" else (x > bound)
