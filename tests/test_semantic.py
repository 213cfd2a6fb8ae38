"""loaders.semantic: semantic type and PII hints on realistic columns and on the corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from loaders.profile import Profiler
from loaders.semantic import COUNTRY_CODES, COUNTRY_NAMES, hint, tokens
from tests.conftest import MARKETING

STR, INT, FLOAT = pa.string(), pa.int64(), pa.float64()
NO_STATS: dict[str, Any] = {}


@pytest.mark.parametrize(("name", "words"), [
    ("CustomerID", ["customer", "id"]), ("Ad Topic Line", ["ad", "topic", "line"]),
    ("emp.var.rate", ["emp", "var", "rate"]), ("xyz_campaign_id", ["xyz", "campaign", "id"]),
    ("firstName", ["first", "name"]), ("ZIPCode", ["zip", "code"]), ("euribor3m",
                                                                     ["euribor", "3", "m"]),
])
def test_tokens(name: str, words: list[str]) -> None:
    assert tokens(name) == words


CASES: list[tuple[str, pa.DataType, list[object], tuple[str | None, bool]]] = [
    # email, url, ip: decided by the values
    ("email", STR, ["ann@example.com", "bob.smith@mail.co.uk", "x+y@z.io"], ("email", True)),
    ("contact", STR, ["ann@example.com", "bob@example.org"], ("email", True)),
    ("email_opened", STR, ["yes", "no"], (None, False)),
    ("landing_page", STR, ["https://shop.example/a?utm=1", "http://x.org", "www.example.com"],
     ("url", False)),
    ("client_ip", STR, ["192.168.0.1", "10.0.0.255", "2001:db8::1"], ("ip_address", True)),
    ("version", STR, ["1.2", "2.0"], (None, False)),
    # phone: a phone name and phone-shaped values, or E.164 values under any name
    ("phone", STR, ["020 7946 0958", "(555) 123-4567", "+44 7700 900123"], ("phone", True)),
    ("mobile_number", INT, [447700900123, 15551234567], ("phone", True)),
    ("msisdn_primary", STR, ["+447700900123", "+4915112345678"], ("phone", True)),
    ("phone", STR, ["call me", "n/a please"], (None, False)),
    ("account_number", STR, ["123-45-6789", "987-65-4321"], ("id", False)),
    # postal codes need a postal name
    ("postcode", STR, ["SW1A 1AA", "M1 1AE", "EC1A 1BB", "B33 8TH"], ("postal_code", True)),
    ("zip", STR, ["02134", "90210-1234", "10001"], ("postal_code", True)),
    ("ZipCode", INT, [2134, 90210, 10001], ("postal_code", True)),
    ("postal_code", STR, ["K1A 0B1", "1011 AB", "75008"], ("postal_code", True)),
    ("store_number", STR, ["02134", "10001"], ("id", False)),
    # country: name + codes, or full names under any name; never yes/no
    ("country", STR, ["Palau", "Hungary", "Korea", "Holy See (Vatican City State)"],
     ("country", False)),
    ("Country", STR, ["United Kingdom", "EIRE", "France", "USA"], ("country", False)),
    ("country_code", STR, ["GB", "DE", "FR", "us"], ("country", False)),
    ("ISO3", STR, ["GBR", "DEU", "FRA"], ("country", False)),
    ("destination", STR, ["Germany", "Côte d'Ivoire", "St Lucia", "Bosnia & Herzegovina"],
     ("country", False)),
    ("market", STR, ["GB", "DE", "FR"], (None, False)),
    ("default", STR, ["no", "yes"], (None, False)),
    ("country", STR, ["no", "yes"], (None, False)),
    ("segment", STR, ["Jordan"], (None, False)),
    # currency
    ("currency", STR, ["USD", "EUR", "GBP"], ("currency", False)),
    ("amount", STR, ["$1,200.50", "$3.00", "$-4"], ("currency", False)),
    ("net", STR, ["12.00 EUR", "7 EUR", "EUR 3"], ("currency", False)),
    ("sku", STR, ["ABC123", "DEF456"], ("id", False)),
    # dates as text
    ("Timestamp", STR, ["2/12/2016 22:51", "1/30/2016 4:38"], ("date", False)),
    ("Date", STR, ["31-08-2023", "30-08-2023"], ("date", False)),
    ("created", STR, ["2024-01-02", "2024-01-02T03:04:05Z"], ("date", False)),
    ("age", STR, ["30-34", "35-39", "45-49"], (None, False)),
    ("dob", STR, ["1980-02-03", "1975-12-31"], ("date", True)),
    ("birth_year", INT, [1980, 1975], (None, True)),
    # person names need a person name
    ("first_name", STR, ["Ann", "José", "Mary-Jane"], ("person_name", True)),
    ("Contact Name", STR, ["Ann Smith", "O'Brien, Pat"], ("person_name", True)),
    ("customerName", STR, ["Ann Smith", "Bob Jones"], ("person_name", True)),
    ("name", STR, ["Ann Smith", "Bob Jones"], (None, False)),
    ("campaign_name", STR, ["Summer Sale", "Black Friday"], (None, False)),
    ("last_name", STR, ["12345", "67890"], (None, False)),  # values disagree with the name
    ("username", STR, ["jdoe42", "ann"], ("id", True)),
    # addresses
    ("street_address", STR, ["221B Baker Street", "10 Downing St"], ("address", True)),
    ("billing address", STR, ["1 Main St, Springfield"], ("address", True)),
    ("email_address", STR, ["a@b.co"], ("email", True)),
    ("City", STR, ["Sylviaview", "West Tanya", "Lake Jose"], (None, False)),
    # identifiers
    ("CustomerID", INT, [17850, 13047], ("id", True)),
    ("user_id", STR, ["u-1", "u-2"], ("id", True)),
    ("userid", INT, [1, 2, 3], ("id", True)),
    ("ad_id", INT, [708746, 708749], ("id", False)),
    ("xyz_campaign_id", INT, [916, 936], ("id", False)),
    ("InvoiceNo", STR, ["536365", "C536379"], ("id", False)),
    ("StockCode", STR, ["85123A", "71053"], ("id", False)),
    ("session", STR, ["3f2504e0-4f89-11d3-9a0c-0305e82c3301",
                      "6ba7b810-9dad-11d1-80b4-00c04fd430c8"], ("id", False)),
    ("email_hash", STR, ["5d41402abc4b2a76b9719d911017c592"], ("id", True)),
    ("sha256_email", STR, ["2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"],
     ("id", True)),
    ("device_id", STR, ["A1B2C3", "D4E5F6"], ("id", True)),
    ("Description", STR, ["WHITE HANGING HEART T-LIGHT HOLDER", "WHITE METAL LANTERN"],
     (None, False)),
    ("Quantity", INT, [6, 8, 2], (None, False)),
    ("ratio_id", FLOAT, [0.5, 1.5], (None, False)),
    ("gender", INT, [0, 1], (None, False)),
    ("job", STR, ["blue-collar", "services", "admin."], (None, False)),
]


@pytest.mark.parametrize(("name", "arrow_type", "sample", "expected"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_hints_on_realistic_columns(name: str, arrow_type: pa.DataType, sample: list[object],
                                    expected: tuple[str | None, bool]) -> None:
    assert hint(name, arrow_type, sample, NO_STATS) == expected


def test_types_and_metadata_decide_first() -> None:
    assert hint("spend", FLOAT, [1.5], NO_STATS, {"parsed_from": "currency"}) == ("currency",
                                                                                  False)
    assert hint("spend", FLOAT, [1.5], NO_STATS, {}) == (None, False)
    assert hint("event_time", pa.timestamp("us", "UTC"), [], NO_STATS) == ("date", False)
    assert hint("date_of_birth", pa.date32(), [], NO_STATS) == ("date", True)
    assert hint("BirthDate", pa.date32(), [], NO_STATS) == ("date", True)
    assert hint("email", pa.bool_(), [True], NO_STATS) == (None, False)
    assert hint("country", pa.dictionary(pa.int32(), STR), ["France", "Spain"], NO_STATS) == (
        "country", False)


def test_threshold_is_ninety_percent_of_the_sample() -> None:
    emails = [f"user{i}@example.com" for i in range(9)]
    assert hint("x", STR, [*emails, "not an email"], NO_STATS) == ("email", True)
    assert hint("x", STR, [*emails[:8], "nope", "nope either"], NO_STATS) == (None, False)
    assert hint("x", STR, [*emails, None, None, "  "], NO_STATS) == ("email", True)  # nulls


def test_names_alone_when_there_are_no_values() -> None:
    assert hint("email", STR, [], NO_STATS) == ("email", True)
    assert hint("last_name", STR, [None], NO_STATS) == ("person_name", True)
    assert hint("post_code", STR, [], NO_STATS) == ("postal_code", True)
    assert hint("customer_id", INT, [], NO_STATS) == ("id", True)
    assert hint("country", STR, [], NO_STATS) == (None, False)  # countries need values
    stats = {"top_values": [{"value": "Palau", "count": 3}, {"value": "Hungary", "count": 1}]}
    assert hint("country", STR, [], stats) == ("country", False)


def test_unique_code_like_values_are_ids_by_stats() -> None:
    sample = [f"TX{i:06d}" for i in range(30)]
    unique = {"count": 1000, "null_count": 0, "distinct_count": 1000,
              "distinct_approximate": False}
    assert hint("reference_col", STR, sample, unique) == ("id", False)
    repeated = {**unique, "distinct_count": 12}
    assert hint("reference_col", STR, sample, repeated) == (None, False)
    approx = {**unique, "distinct_count": 985, "distinct_approximate": True}
    assert hint("reference_col", STR, sample, approx) == ("id", False)
    assert hint("reference_col", STR, ["hello world"] * 30, unique) == (None, False)


def test_country_list_is_complete_enough() -> None:
    assert len(COUNTRY_CODES) >= 2 * 249
    assert {"gb", "gbr", "pw", "plw"} <= COUNTRY_CODES
    assert {"united kingdom", "palau", "hungary", "cote d ivoire", "saint lucia"} <= COUNTRY_NAMES


# --- the shared marketing corpus -------------------------------------------------------------

needs_marketing = pytest.mark.skipif(not MARKETING.is_dir(),
                                     reason=f"marketing corpus not found at {MARKETING}")


def corpus_hints(filename: str) -> dict[str, tuple[str | None, bool]]:
    path: Path = MARKETING / filename
    if not path.is_file():
        pytest.skip(f"{path} not in the corpus")
    delimiter = ";" if "bank" in filename else ","
    table = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=delimiter))
    profiler = Profiler(table.schema)
    profiler.update(table)
    stats, samples = profiler.result(), profiler.samples()
    return {f.name: hint(f.name, f.type, samples[f.name], stats[f.name]) for f in table.schema}


@needs_marketing
def test_corpus_ad_click() -> None:
    hints = corpus_hints("ad_click__advertising.csv")
    assert hints["Country"] == ("country", False)
    assert hints["City"] == (None, False)  # a city alone is not personal data
    assert hints["Timestamp"] == ("date", False)
    for name in ("Age", "Area_Income", "Ad Topic Line", "gender", "Clicked_on_Ad"):
        assert hints[name] == (None, False), name


@needs_marketing
def test_corpus_online_retail() -> None:
    hints = corpus_hints("uci_online_retail__OnlineRetail_first999rows.csv")
    assert hints["CustomerID"] == ("id", True)
    assert hints["Country"] == ("country", False)
    assert hints["StockCode"] == ("id", False)
    assert hints["InvoiceDate"] == ("date", False)
    assert hints["Description"] == (None, False)
    assert hints["UnitPrice"] == (None, False)


@needs_marketing
@pytest.mark.parametrize("filename", ["uci_bank_marketing__bank.csv",
                                      "uci_bank_additional__bank-additional_unquoted.csv"])
def test_corpus_bank_has_no_semantic_columns(filename: str) -> None:
    hints = corpus_hints(filename)
    assert hints["job"] == (None, False)
    assert hints["default"] == (None, False)
    assert hints["contact"] == (None, False)
    assert all(value == (None, False) for value in hints.values()), hints


@needs_marketing
def test_corpus_fb_ads() -> None:
    hints = corpus_hints("fb_ads_conversion__KAG_conversion_data_with_date.csv")
    assert hints["ad_id"] == ("id", False)
    assert hints["fb_campaign_id"] == ("id", False)
    assert hints["Date"] == ("date", False)
    assert hints["age"] == (None, False)
    assert hints["gender"] == (None, False)
