"""The demo catalog: a small, believable marketing graph generated from a fixed seed.

Sources (CRM, ad platforms, a public portal, a vendor), datasets loaded through the real
pipeline (so they have versions, fields and curated Parquet), human and non-human entities,
tags, owners, load runs, and the lineage of two scheduler jobs (loaders/demo_lineage.py):
raw → curated → audience → campaign performance, with column lineage.
Loading it twice changes nothing: identical content is a no-op and upserts are idempotent.
"""

from __future__ import annotations

import csv
import random
import tempfile
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from loaders.demo_lineage import JOBS, record_demo_lineage
from loaders.pipeline import LoadRequest, load_file
from server.models import DatasetKey, EntityKind, OwnerKind, SourceKind
from server.openlineage.peso_jobs import LoadLineage
from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore

ACTOR = "demo"
SEED = 20261124
START = date(2026, 9, 1)
COUNTRIES = ["GB", "DE", "FR", "ES", "NL", "US", "SE", "IT"]
CAMPAIGNS = ["spring_sale", "brand_awareness", "retargeting", "newsletter_signup"]

SOURCES = [
    ("Acme CRM", SourceKind.INTERNAL, "https://crm.acme.example", None,
     "Acme's customer relationship system (contacts, orders)."),
    ("Meta Ads", SourceKind.PLATFORM, "https://www.facebook.com/business/ads", None,
     "Facebook and Instagram ad delivery reports."),
    ("Google Ads", SourceKind.PLATFORM, "https://ads.google.com", None,
     "Search and display campaign reports."),
    ("Acme Web Analytics", SourceKind.INTERNAL, None, None, "First-party site sessions."),
    ("Eurostat", SourceKind.PUBLIC_PORTAL, "https://ec.europa.eu/eurostat", "CC-BY-4.0",
     "Official EU statistics."),
    ("Nielsen", SourceKind.VENDOR, "https://www.nielsen.com", "commercial",
     "Audience measurement panels."),
]

ENTITIES = [
    (EntityKind.CUSTOMER, "Acme customers", "People who bought from Acme at least once."),
    (EntityKind.PERSON, "Newsletter subscribers", "Individuals who opted in to email."),
    (EntityKind.AUDIENCE, "High-value repeat buyers", "Customers with 3+ orders and LTV > 500."),
    (EntityKind.ORGANIZATION, "Acme Corp", "The advertiser."),
    (EntityKind.BRAND, "Acme Running", "Acme's running-shoe brand."),
    (EntityKind.PRODUCT, "Trail Runner 3", "A shoe sold online and in stores."),
    (EntityKind.DEVICE, "Mobile devices", "Phones and tablets seen in web sessions."),
    (EntityKind.BOT, "Web crawlers", "Automated traffic filtered from sessions."),
    (EntityKind.AI_AGENT, "Budget optimiser agent", "An AI agent that reallocates ad spend."),
    (EntityKind.CHANNEL, "Paid social", "Facebook and Instagram ads."),
    (EntityKind.CHANNEL, "Paid search", "Google search ads."),
    (EntityKind.CAMPAIGN, "Spring sale 2026", "A seasonal discount campaign."),
]


def _customers(rng: random.Random) -> tuple[list[str], list[list[object]]]:
    rows: list[list[object]] = []
    for i in range(1, 501):
        signup = START - timedelta(days=rng.randint(0, 900))
        rows.append([f"C{i:05d}", f"customer{i}@example.com", rng.choice(COUNTRIES),
                     signup.isoformat(), rng.randint(1, 12), round(rng.uniform(20, 2400), 2),
                     rng.random() < 0.4])
    return (["customer_id", "email", "country", "signup_date", "orders", "lifetime_value",
             "newsletter_opt_in"], rows)


def _ads(rng: random.Random, prefix: str) -> tuple[list[str], list[list[object]]]:
    rows: list[list[object]] = []
    for day in range(60):
        for campaign in CAMPAIGNS:
            impressions = rng.randint(2_000, 90_000)
            clicks = int(impressions * rng.uniform(0.004, 0.03))
            rows.append([(START + timedelta(days=day)).isoformat(), f"{prefix}_{campaign}",
                         impressions, clicks, round(clicks * rng.uniform(0.2, 1.4), 2),
                         int(clicks * rng.uniform(0.01, 0.08))])
    return (["date", "campaign_id", "impressions", "clicks", "spend_eur", "conversions"], rows)


def _sessions(rng: random.Random) -> tuple[list[str], list[list[object]]]:
    rows: list[list[object]] = []
    for i in range(1, 2001):
        bot = rng.random() < 0.07
        customer = "" if bot or rng.random() < 0.5 else f"C{rng.randint(1, 500):05d}"
        rows.append([f"S{i:06d}", customer,
                     rng.choice(["mobile", "desktop", "tablet"]), rng.choice(COUNTRIES),
                     rng.randint(1, 40), bot])
    return (["session_id", "customer_id", "device", "country", "pages", "is_bot"], rows)


def _audience(rng: random.Random) -> tuple[list[str], list[list[object]]]:
    rows = [[f"C{i:05d}", "high_value_repeat", round(rng.uniform(0.5, 1.0), 3)]
            for i in sorted(rng.sample(range(1, 501), 120))]
    return (["customer_id", "segment", "score"], rows)


def _performance(rng: random.Random) -> tuple[list[str], list[list[object]]]:
    rows: list[list[object]] = []
    for day in range(60):
        for channel in ("paid_social", "paid_search"):
            spend = round(rng.uniform(200, 1500), 2)
            revenue = round(spend * rng.uniform(0.8, 4.5), 2)
            rows.append([(START + timedelta(days=day)).isoformat(), channel, spend, revenue,
                         round(revenue / spend, 3)])
    return (["date", "channel", "spend_eur", "attributed_revenue_eur", "roas"], rows)


def _spending(rng: random.Random) -> tuple[list[str], list[list[object]]]:
    rows = [[country, year, round(rng.uniform(12_000, 31_000), 1)]
            for country in COUNTRIES[:5] for year in range(2018, 2025)]
    return (["country", "year", "household_spend_per_capita_eur"], rows)


Table = Callable[[random.Random], tuple[list[str], list[list[object]]]]

# (namespace, name, source, description, generator, tags, owner, [(entity kind, name, role)])
DATASETS: list[tuple[str, str, str, str, Table, list[str], str,
                     list[tuple[EntityKind, str, str]]]] = [
    ("crm", "customers", "Acme CRM", "One row per customer, with lifetime value.", _customers,
     ["pii", "crm", "gold"], "crm-team",
     [(EntityKind.CUSTOMER, "Acme customers", "subject"),
      (EntityKind.PERSON, "Newsletter subscribers", "subset")]),
    ("ads", "meta_campaign_daily", "Meta Ads", "Daily delivery per Meta campaign.",
     lambda r: _ads(r, "meta"), ["ads", "daily"], "growth-team",
     [(EntityKind.CHANNEL, "Paid social", "channel"),
      (EntityKind.CAMPAIGN, "Spring sale 2026", "campaign"),
      (EntityKind.BRAND, "Acme Running", "advertised brand")]),
    ("ads", "google_campaign_daily", "Google Ads", "Daily delivery per Google Ads campaign.",
     lambda r: _ads(r, "google"), ["ads", "daily"], "growth-team",
     [(EntityKind.CHANNEL, "Paid search", "channel"),
      (EntityKind.PRODUCT, "Trail Runner 3", "advertised product")]),
    ("web", "sessions", "Acme Web Analytics", "Site sessions, bots flagged.", _sessions,
     ["web", "pii"], "analytics-team",
     [(EntityKind.DEVICE, "Mobile devices", "device"),
      (EntityKind.BOT, "Web crawlers", "filtered traffic")]),
    ("marketing", "audience_segments", "Acme CRM", "Customers scored into audience segments.",
     _audience, ["audience", "gold"], "crm-team",
     [(EntityKind.AUDIENCE, "High-value repeat buyers", "subject")]),
    ("marketing", "campaign_performance", "Acme CRM",
     "Daily spend and attributed revenue per channel.", _performance, ["kpi", "gold"],
     "growth-team",
     [(EntityKind.ORGANIZATION, "Acme Corp", "advertiser"),
      (EntityKind.AI_AGENT, "Budget optimiser agent", "consumer")]),
    ("public", "eurostat_household_spending", "Eurostat",
     "Household consumption per capita by country and year.", _spending, ["public", "macro"],
     "analytics-team", []),
]



def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


async def load_demo(graph: GraphStore, objects: ObjectStore, *, tmp_dir: Path) -> str:
    tmp_dir.mkdir(parents=True, exist_ok=True)
    for name, source_kind, url, lic, desc in SOURCES:
        await graph.upsert_source(name=name, kind=source_kind, url=url, license=lic,
                                  description=desc, actor=ACTOR)
    entity_ids = {}
    for kind, name, desc in ENTITIES:
        entity = await graph.upsert_entity(kind=kind, name=name, description=desc, actor=ACTOR)
        entity_ids[(kind, name)] = entity.id
    created = 0
    with tempfile.TemporaryDirectory(dir=tmp_dir) as folder:
        for ns, name, source, desc, table, tags, owner, links in DATASETS:
            rng = random.Random(f"{SEED}:{ns}/{name}")  # noqa: S311 - repeatable demo data
            header, rows = table(rng)
            path = Path(folder) / f"{name}.csv"
            _write_csv(path, header, rows)
            result = await load_file(LoadRequest(path=path, namespace=ns, name=name,
                                                 source=source, description=desc),
                                     graph=graph, objects=objects, actor=ACTOR, tmp_dir=tmp_dir,
                                     lineage=LoadLineage(graph, None, actor=ACTOR))
            created += result.curated.created
            key = DatasetKey(ns, name)
            for tag in tags:
                await graph.add_tag(key, tag, actor=ACTOR)
            await graph.add_owner(key, name=owner, kind=OwnerKind.TEAM,
                                  email=f"{owner}@acme.example", actor=ACTOR)
            for kind, entity_name, role in links:
                await graph.link_entity(key, entity_ids[(kind, entity_name)], role=role,
                                        actor=ACTOR)
    await record_demo_lineage(graph, actor=ACTOR)
    edges = sum(len(inputs) for _, _, inputs, _, _ in JOBS)
    return (f"{len(SOURCES)} sources, {len(ENTITIES)} entities, {len(DATASETS)} datasets "
            f"({created} new versions), {edges} lineage edges from {len(JOBS)} jobs")
