"""Which entities a dataset describes, human or not, from its columns' names and semantic
types and the dataset's own name.

Each entity kind has cues, a cue being a word in a column name (``age``, ``campaign``) or a
semantic type (``email``, ``campaign_id``). A kind is suggested when at least two distinct
cues are found, or one *strong* cue (an id or contact column of that kind); the confidence
grows with the cues found. Suggested entities carry a catalog-wide name per kind ("people",
"customers", "ad campaigns", ...); accepting one creates that entity if needed and links the
dataset to it with the role ``subject``.
"""

from __future__ import annotations

from dataclasses import dataclass

from loaders import semantic
from server.enrich.base import EnrichContext
from server.enrich.semantic_types import column_types
from server.models import EntityKind
from server.models_suggestions import NewSuggestion, SuggestionKind


@dataclass(frozen=True)
class Cues:
    kind: EntityKind
    name: str                      # the catalog entity a suggestion links to
    words: frozenset[str]          # column-name words
    strong: frozenset[str]         # semantic types (or joined names) enough on their own


CUES: tuple[Cues, ...] = (
    Cues(EntityKind.PERSON, "people",
         frozenset({"age", "gender", "sex", "job", "marital", "education", "birth", "income",
                    "occupation", "firstname", "lastname", "surname", "nationality"}),
         frozenset({"person_name", "email", "phone", "address"})),
    Cues(EntityKind.CUSTOMER, "customers",
         frozenset({"customer", "client", "loan", "housing", "default", "balance", "loyalty",
                    "churn", "subscription", "membership", "lifetime", "clv"}),
         frozenset({"customer_id"})),
    Cues(EntityKind.AUDIENCE, "audience segments",
         frozenset({"audience", "segment", "interest", "cohort", "persona", "lookalike"}),
         frozenset()),
    Cues(EntityKind.CAMPAIGN, "ad campaigns",
         frozenset({"campaign", "ad", "ads", "impressions", "clicks", "clicked", "conversion",
                    "conversions", "ctr", "cpc", "cpm", "spent", "topic", "creative",
                    "poutcome", "utm"}),
         frozenset({"campaign_id", "ad_id"})),
    Cues(EntityKind.CHANNEL, "marketing channels",
         frozenset({"channel", "medium", "site", "internet", "web", "placement", "platform",
                    "publisher", "contact", "source", "referrer", "network", "online"}),
         frozenset({"contact_channel"})),
    Cues(EntityKind.PRODUCT, "products",
         frozenset({"product", "stock", "sku", "item", "article", "unit", "quantity",
                    "category", "price"}),
         frozenset({"product_id"})),
    Cues(EntityKind.ORGANIZATION, "organizations",
         frozenset({"company", "organization", "organisation", "employer", "bureau",
                    "advertiser", "agency", "vendor", "supplier", "merchant"}),
         frozenset()),
    Cues(EntityKind.BRAND, "brands", frozenset({"brand", "label", "manufacturer"}),
         frozenset()),
    Cues(EntityKind.DEVICE, "devices",
         frozenset({"device", "os", "browser", "useragent", "agent", "imei", "model"}),
         frozenset({"device_id", "ip_address"})),
    Cues(EntityKind.BOT, "bots", frozenset({"bot", "crawler", "spider", "robot", "is_bot"}),
         frozenset()),
    Cues(EntityKind.AI_AGENT, "AI agents",
         frozenset({"llm", "assistant", "prompt", "completion", "tokens", "agent"}),
         frozenset()),
)


@dataclass(frozen=True)
class EntityGuess:
    kind: EntityKind
    name: str
    confidence: float
    columns: tuple[str, ...]
    cues: tuple[str, ...]


def guess_entities(ctx: EnrichContext) -> list[EntityGuess]:
    types = column_types(ctx)
    name_words = set(semantic.tokens(ctx.dataset.name))
    guesses = []
    for cue in CUES:
        found: dict[str, str] = {}     # cue -> first column that showed it
        strong = False
        for f in ctx.fields:
            words = semantic.tokens(f.name)
            for w in words:
                if w in cue.words:
                    found.setdefault(w, f.name)
            semantic_type = types[f.name].semantic_type
            if semantic_type and semantic_type in cue.strong:
                found.setdefault(semantic_type, f.name)
                strong = True
        named = sorted(name_words & (cue.words | {cue.kind.value, cue.kind.value + "s"}))
        for w in named:
            found.setdefault(w, f"(dataset name {ctx.dataset.name})")
        if len(found) >= 2 or strong:
            confidence = min(0.95, 0.35 + 0.12 * len(found) + (0.15 if strong else 0.0))
            guesses.append(EntityGuess(cue.kind, cue.name, round(confidence, 3),
                                       tuple(dict.fromkeys(found.values())),
                                       tuple(found)))
    return guesses


class EntityEnricher:
    name = "entities"
    version = "1"

    async def enrich(self, context: EnrichContext) -> list[NewSuggestion]:
        linked = {(e.kind, e.name) for e, _ in
                  (await context.graph.get_dataset_entities([context.dataset.id]))[0]}
        out = []
        for g in guess_entities(context):
            if (g.kind, g.name) in linked:
                continue
            out.append(context.suggestion(
                self, SuggestionKind.ENTITY, "",
                {"kind": g.kind.value, "name": g.name, "role": "subject",
                 "is_human": g.kind.is_human},
                g.confidence, {"cues": list(g.cues), "columns": list(g.columns)}))
        return out
