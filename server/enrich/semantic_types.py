"""Semantic type and PII flag per column, from the name, the values and the profile.

Built on the loader's rules (``loaders/semantic.py: hint``): the loader's answer is the base,
then refined into the finer types a catalog user asks for:

- ``id`` by the name's other words: customer_id (customer, cust, client, user, member,
  subscriber, visitor, shopper, buyer, account: PII), campaign_id, ad_id, device_id (device,
  idfa, gaid, maid, cookie: PII), order_id (order, invoice, transaction), product_id
  (product, stock, sku, item, article), session_id; other ids stay ``id``;
- ``date`` becomes ``timestamp`` for a timestamp column or date-times as text;
- ``currency`` (a currency sign, code or currency name) becomes ``currency_amount``, and so
  does a numeric column named for money (price, amount, revenue, spent, spend, cost, income,
  balance, budget, salary, sales, cpc, cpm, fee);
- a vCard formatted name (``fn``) or ``name``/``full name`` holding 2-4 capitalised words:
  ``person_name`` (PII);
- values of phone line kinds (cellular, telephone, mobile, landline, voip) under a contact /
  channel name: ``contact_channel`` (how a person was called; not PII);
- age, gender (sex), city, region/state by name: ``age``, ``gender``, ``city``, ``region``
  (not PII, as the loader's policy says).

A suggestion is made only when the result differs from the column's stored semantic type or
PII flag; a suggested PII flag never clears one the column has (``pii = stored or new``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from loaders import semantic
from server.enrich.base import EnrichContext
from server.models import SchemaField
from server.models_suggestions import NewSuggestion, SuggestionKind

HINT_VALUES = 2000   # distinct values handed to the rules per column

_ID_KINDS: tuple[tuple[str, frozenset[str], bool], ...] = (
    ("customer_id", frozenset({"customer", "cust", "client", "user", "member", "subscriber",
                               "visitor", "shopper", "buyer", "account", "consumer",
                               "contact", "lead", "person", "profile"}), True),
    ("campaign_id", frozenset({"campaign", "cmp", "utm"}), False),
    ("ad_id", frozenset({"ad", "ads", "adgroup", "creative", "placement"}), False),
    ("device_id", frozenset({"device", "idfa", "gaid", "maid", "cookie", "imei", "udid"}),
     True),
    ("order_id", frozenset({"order", "invoice", "transaction", "txn", "purchase"}), False),
    ("product_id", frozenset({"product", "stock", "sku", "item", "article", "prod"}), False),
    ("session_id", frozenset({"session", "visit"}), False),
)
_MONEY_WORDS = frozenset({"price", "amount", "revenue", "spent", "spend", "cost", "income",
                          "balance", "budget", "salary", "sales", "cpc", "cpm", "fee",
                          "payment", "total_price", "turnover", "profit", "gmv"})
_NOT_MONEY = frozenset({"time", "idx", "index", "rate", "ratio", "pct", "percent", "usage",
                        "count", "share", "score", "duration", "days", "minutes", "seconds"})
_CHANNEL_VALUES = frozenset({"cellular", "telephone", "mobile", "landline", "voip", "phone",
                             "cell", "unknown"})
_CHANNEL_NAMES = frozenset({"contact", "channel", "medium", "contact_type", "contact_channel"})
_TIME = re.compile(r"\d{1,2}:\d{2}")
_CAPITAL_WORDS = re.compile(r"^[A-Z][a-z'\-]+(?: [A-Z][a-z'\-.]+){1,3}$")


@dataclass(frozen=True)
class ColumnType:
    column: str
    semantic_type: str | None
    pii: bool
    confidence: float
    signals: tuple[str, ...]        # "name", "values", "profile", "loader"
    values_checked: int


def _text_values(values: Sequence[object]) -> list[str]:
    out = []
    for v in values:
        t = semantic._text(v)
        if t is not None:
            out.append(t)
    return out


def classify(name: str, arrow_type: pa.DataType, values: Sequence[object],
             stats: dict[str, Any], metadata: dict[str, str] | None = None) -> ColumnType:
    """The semantic type and PII flag of one column (rules in the module docstring)."""
    words = semantic.tokens(name)
    wordset = set(words)
    texts = _text_values(values)
    base, pii = semantic.hint(name, arrow_type, values, stats, metadata)
    signals: list[str] = ["loader"] if base else []
    kind = base
    numeric = pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) \
        or pa.types.is_decimal(arrow_type)
    if base == "id":
        for refined, vocabulary, is_pii in _ID_KINDS:
            if wordset & vocabulary or name.lower().replace("_", "").removesuffix("id") in \
                    vocabulary:
                kind, pii = refined, pii or is_pii
                signals.append("name")
                break
    elif base == "date":
        if pa.types.is_timestamp(arrow_type) or (texts and sum(
                1 for t in texts if _TIME.search(t)) >= 0.9 * len(texts)):
            kind = "timestamp"
    elif base == "currency":
        kind = "currency_amount"
    elif base is None:
        joined = "_".join(words)
        if numeric and (wordset & _MONEY_WORDS or joined in _MONEY_WORDS) \
                and not wordset & _NOT_MONEY:
            kind = "currency_amount"
            signals.append("name")
        elif (joined in {"fn", "name", "full_name", "display_name"} and texts
              and sum(1 for t in texts if _CAPITAL_WORDS.match(t)) >= 0.9 * len(texts)):
            kind, pii = "person_name", True
            signals += ["name", "values"]
        elif (joined in _CHANNEL_NAMES and texts
              and {t.lower() for t in texts} <= _CHANNEL_VALUES
              and {t.lower() for t in texts} - {"unknown"}):
            kind = "contact_channel"
            signals += ["name", "values"]
        elif joined in {"age", "age_group", "age_range", "age_bucket"}:
            kind = "age"
            signals.append("name")
        elif joined in {"gender", "sex"}:
            kind = "gender"
            signals.append("name")
        elif joined in {"city", "town", "city_name"}:
            kind = "city"
            signals.append("name")
        elif joined in {"region", "state", "province", "county"}:
            kind = "region"
            signals.append("name")
    if base and base not in ("id", "date", "currency") and texts:
        signals.append("values")
    elif base and not texts and "name" not in signals:
        signals.append("name")
    if kind is None:
        return ColumnType(name, None, pii, 0.0, (), len(texts))
    confidence = 0.55 + 0.15 * len(set(signals))
    if texts and "values" in signals:
        confidence += 0.05
    return ColumnType(name, kind, pii, min(confidence, 0.95), tuple(dict.fromkeys(signals)),
                      len(texts))


def _column_values(table: pa.Table | None, name: str) -> tuple[pa.DataType | None, list[object]]:
    if table is None or name not in table.column_names:
        return None, []
    column = table.column(name)
    try:
        distinct = column.unique()
    except pa.ArrowNotImplementedError:
        distinct = column
    distinct = distinct.drop_null() if hasattr(distinct, "drop_null") else distinct
    return column.type, distinct.slice(0, HINT_VALUES).to_pylist()


def _arrow_type(field: SchemaField) -> pa.DataType:
    text = field.arrow_type
    simple = {"int64": pa.int64(), "int32": pa.int32(), "double": pa.float64(),
              "float": pa.float32(), "string": pa.string(), "large_string": pa.large_string(),
              "bool": pa.bool_(), "date32[day]": pa.date32()}
    if text in simple:
        return simple[text]
    if text.startswith("timestamp"):
        return pa.timestamp("us")
    return pa.string()


def column_types(ctx: EnrichContext) -> dict[str, ColumnType]:
    """Every column's classification, computed once per context (other enrichers reuse it)."""
    cached = ctx.shared.get("column_types")
    if isinstance(cached, dict):
        return cached
    found: dict[str, ColumnType] = {}
    for f in ctx.fields:
        arrow_type, values = _column_values(ctx.table, f.name)
        found[f.name] = classify(f.name, arrow_type or _arrow_type(f), values, f.stats,
                                 f.metadata)
    ctx.shared["column_types"] = found
    return found


def effective_pii(ctx: EnrichContext) -> set[str]:
    """Columns that hold personal data: flagged on the version or by this classification."""
    types = column_types(ctx)
    return {f.name for f in ctx.fields if f.pii or types[f.name].pii}


class SemanticTypeEnricher:
    name = "semantic_types"
    version = "1"

    async def enrich(self, context: EnrichContext) -> list[NewSuggestion]:
        out = []
        types = column_types(context)
        for f in context.fields:
            found = types[f.name]
            if found.semantic_type is None:
                continue
            pii = f.pii or found.pii
            if (found.semantic_type, pii) == (f.semantic_type, f.pii):
                continue
            out.append(context.suggestion(
                self, SuggestionKind.SEMANTIC_TYPE, f.name,
                {"semantic_type": found.semantic_type, "pii": pii},
                found.confidence,
                {"signals": list(found.signals), "values_checked": found.values_checked,
                 "stored": {"semantic_type": f.semantic_type, "pii": f.pii},
                 "rules": "server/enrich/semantic_types.py on loaders/semantic.py"}))
        return out
