"""Likely join keys between datasets: MinHash signatures of columns' distinct values, an LSH
Ensemble (``datasketch``) to find candidate pairs by containment, and a containment estimate.

A column of this version (the *probe*) may join a column of another dataset's latest version
(the *key*) when:

- both are integer or text columns, and at least one has an identifying semantic type
  (an id, email, phone, URL, country, postal code, ...): measures, dates and flags never join;
- the key column is unique (distinct >= 95% of its non-null values, per its profile) and
  both have at least ``MIN_DISTINCT`` distinct values;
- the estimated share of the probe's distinct values found in the key (containment
  ``|P ∩ K| / |P|``, from the MinHash Jaccard ``j`` and the two sizes:
  ``j (|P| + |K|) / ((1 + j) |P|)``) is at least ``PESO_ENRICH_MIN_CONTAINMENT``.

Values are read from at most ``PESO_ENRICH_SAMPLE_ROWS`` rows of each version (the evidence
says how many); signatures of other datasets are cached per version and column.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from datasketch import MinHash, MinHashLSHEnsemble

from server.enrich.base import EnrichContext
from server.enrich.sample import read_sample
from server.enrich.semantic_types import classify, column_types
from server.models import Dataset, DatasetFilter, PageRequest, SchemaField
from server.models_suggestions import NewSuggestion, SuggestionKind

NUM_PERM = 128
MIN_DISTINCT = 20
UNIQUE_SHARE = 0.95
MAX_PEER_DATASETS = 1000        # other datasets' latest versions compared per run
_CACHE_SIZE = 4096
_NOT_KEYS = frozenset({"date", "timestamp", "currency_amount", "currency", "age", "gender",
                       "contact_channel", "city", "region", "person_name", "address"})


@dataclass(frozen=True)
class Signature:
    dataset_id: str
    dataset: str               # namespace/name
    column: str
    version: int
    distinct: int
    identifying: bool          # an id-like semantic type (every peer column is unique)
    minhash: MinHash
    sample_rows: int


_cache: OrderedDict[tuple[str, str, int], Signature] = OrderedDict()


def _joinable_type(arrow_type: str) -> bool:
    return arrow_type.startswith(("int", "uint", "string", "large_string"))


def _distinct_stats(f: SchemaField) -> tuple[int, bool]:
    present = int(f.stats.get("count") or 0) - int(f.stats.get("null_count") or 0)
    distinct = f.stats.get("distinct_count")
    if not isinstance(distinct, int) or present <= 0:
        return 0, False
    return distinct, distinct >= UNIQUE_SHARE * present


def _identifying(semantic_type: str | None) -> bool:
    return semantic_type is not None and semantic_type not in _NOT_KEYS


def minhash_of(column: pa.ChunkedArray | pa.Array) -> tuple[MinHash, int]:
    """The MinHash of a column's distinct non-null values (as text) and how many there are."""
    distinct = pc.unique(column.cast(pa.string())).drop_null()
    values = [v.encode() for v in distinct.to_pylist()]
    m = MinHash(num_perm=NUM_PERM)
    if values:
        m.update_batch(values)
    return m, len(values)


def containment(probe: MinHash, probe_size: int, key: MinHash, key_size: int) -> float:
    if probe_size == 0 or key_size == 0:
        return 0.0
    j = float(probe.jaccard(key))
    return min(1.0, j * (probe_size + key_size) / ((1 + j) * probe_size))


async def _peer_signatures(ctx: EnrichContext) -> list[Signature]:
    """Signatures of the unique, identifying columns of every other dataset's latest version."""
    datasets: list[Dataset] = []
    after = None
    while len(datasets) < MAX_PEER_DATASETS:
        page = await ctx.graph.list_datasets(DatasetFilter(), PageRequest(first=100,
                                                                          after=after))
        datasets += [d for d in page.items if d.id != ctx.dataset.id]
        if not page.has_next:
            break
        after = page.cursors[-1]
    datasets = datasets[:MAX_PEER_DATASETS]
    latest = await ctx.graph.get_latest_versions([d.id for d in datasets])
    pairs = [(d, v) for d, v in zip(datasets, latest, strict=True)
             if v is not None and v.curated_key]
    all_fields = await ctx.graph.get_fields([v.id for _, v in pairs])
    out = []
    for (d, v), fields in zip(pairs, all_fields, strict=True):
        wanted = []
        for f in fields:
            distinct, unique = _distinct_stats(f)
            if unique and distinct >= MIN_DISTINCT and _joinable_type(f.arrow_type):
                cached = _cache.get((v.id, f.name, ctx.settings.enrich_sample_rows))
                if cached is not None:
                    _cache.move_to_end((v.id, f.name, ctx.settings.enrich_sample_rows))
                    out.append(cached)
                else:
                    wanted.append(f)
        if not wanted:
            continue
        assert v.curated_key is not None
        table, _ = await asyncio.to_thread(read_sample, ctx.objects, v.curated_key,
                                           max_rows=ctx.settings.enrich_sample_rows,
                                           columns=[f.name for f in wanted])
        for f in wanted:
            if f.name not in table.column_names:
                continue
            column = table.column(f.name)
            sample_values = pc.unique(column).drop_null().slice(0, 2000).to_pylist()
            found = classify(f.name, column.type, sample_values, f.stats, f.metadata)
            semantic_type = f.semantic_type if found.semantic_type is None else \
                found.semantic_type
            m, size = await asyncio.to_thread(minhash_of, column)
            sig = Signature(d.id, f"{d.namespace}/{d.name}", f.name, v.version, size,
                            _identifying(semantic_type), m, table.num_rows)
            _cache[(v.id, f.name, ctx.settings.enrich_sample_rows)] = sig
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
            out.append(sig)
    return out


class JoinKeyEnricher:
    name = "join_keys"
    version = "1"

    async def enrich(self, context: EnrichContext) -> list[NewSuggestion]:
        if context.table is None:
            return []
        types = column_types(context)
        probes = []
        for f in context.fields:
            distinct, _ = _distinct_stats(f)
            if (f.name in context.table.column_names and _joinable_type(f.arrow_type)
                    and distinct >= MIN_DISTINCT):
                probes.append(f)
        if not probes:
            return []
        peers = await _peer_signatures(context)
        if not peers:
            return []
        threshold = context.settings.enrich_min_containment
        lsh = MinHashLSHEnsemble(threshold=threshold, num_perm=NUM_PERM, num_part=8)
        lsh.index([(i, p.minhash, max(p.distinct, 1)) for i, p in enumerate(peers)])
        out = []
        for f in probes:
            m, size = await asyncio.to_thread(minhash_of, context.table.column(f.name))
            if size < MIN_DISTINCT:
                continue
            probe_identifying = _identifying(types[f.name].semantic_type or f.semantic_type)
            for i in sorted(lsh.query(m, size)):
                peer = peers[i]
                if not (probe_identifying or peer.identifying):
                    continue
                estimate = containment(m, size, peer.minhash, peer.distinct)
                if estimate < threshold:
                    continue
                same_name = f.name.lower() == peer.column.lower()
                confidence = 0.5 + 0.35 * estimate + (0.1 if same_name else 0.0)
                out.append(context.suggestion(
                    self, SuggestionKind.JOIN_KEY, f.name,
                    {"dataset_id": peer.dataset_id, "dataset": peer.dataset,
                     "column": peer.column, "version": peer.version},
                    confidence,
                    {"containment": round(estimate, 3), "probe_distinct": size,
                     "key_distinct": peer.distinct, "key_unique": True,
                     "method": f"MinHash ({NUM_PERM} permutations) + LSH Ensemble",
                     "key_sample_rows": peer.sample_rows, "same_name": same_name}))
        return out
