"""Description and tag drafts from the schema, the profile and the source's metadata.

Without configuration a template writes them. With ``PESO_LLM_URL`` (any OpenAI-compatible
chat-completions endpoint; ``PESO_LLM_MODEL``, ``PESO_LLM_API_KEY``,
``PESO_LLM_TIMEOUT_SECONDS``) an LLM does, from a prompt built by ``build_prompt``: column
names, types, semantic types and counts, plus minimum/maximum and frequent values of columns
that do *not* hold personal data. A PII column (flagged on the version or by the semantic
classification) contributes its name and type only: its values never leave Peso. When the
LLM cannot be reached or answers something unusable, the template's draft is suggested and
the evidence says why.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from server.enrich.base import EnrichContext, log
from server.enrich.entities import guess_entities
from server.enrich.semantic_types import column_types, effective_pii
from server.errors import ValidationError
from server.ids import check_text, normalize_tag
from server.models_suggestions import NewSuggestion, SuggestionKind

MAX_PROMPT_COLUMNS = 200
MAX_TOP_VALUES = 5
MAX_DESCRIPTION = 2000
MAX_TAGS = 8
_TAG_SAFE = re.compile(r"[^a-z0-9._:-]+")

SYSTEM_PROMPT = (
    "You document datasets in a marketing data catalog. From the dataset's metadata, write a "
    "short factual description (2-4 sentences, no speculation beyond the metadata) and up to "
    f"{MAX_TAGS} lowercase tags (letters, digits, '-'). Answer with JSON only: "
    '{"description": "...", "tags": ["..."]}')


def _stat_text(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def build_prompt(ctx: EnrichContext) -> str:
    """The user message sent to the LLM (PII columns' values left out)."""
    pii = effective_pii(ctx)
    types = column_types(ctx)
    d = ctx.dataset
    lines = [f"Dataset: {d.namespace}/{d.name} (layer {d.layer.value})",
             f"Version {ctx.version.version}: {ctx.version.row_count} rows, "
             f"{len(ctx.fields)} columns, format {ctx.version.format or 'unknown'}"]
    if ctx.source is not None:
        s = ctx.source
        lines.append(f"Source: {s.name} ({s.kind.value})"
                     + (f", {s.url}" if s.url else "")
                     + (f", license {s.license}" if s.license else "")
                     + (f": {s.description}" if s.description else ""))
    lines.append("Columns (name: type; semantic type; profile):")
    for f in ctx.fields[:MAX_PROMPT_COLUMNS]:
        semantic_type = types[f.name].semantic_type or f.semantic_type or "-"
        parts = [f"nulls {f.stats.get('null_count', '?')}",
                 f"distinct {f.stats.get('distinct_count', '?')}"]
        if f.name in pii:
            parts.append("personal data: values withheld")
        else:
            if "min" in f.stats and "max" in f.stats:
                parts.append(f"range {_stat_text(f.stats['min'])} .. "
                             f"{_stat_text(f.stats['max'])}")
            top = f.stats.get("top_values")
            if isinstance(top, list) and top:
                shown = ", ".join(_stat_text(t.get("value")) for t in top[:MAX_TOP_VALUES]
                                  if isinstance(t, dict))
                parts.append(f"frequent: {shown}")
        lines.append(f"- {f.name}: {f.arrow_type}; {semantic_type}; " + "; ".join(parts))
    if len(ctx.fields) > MAX_PROMPT_COLUMNS:
        lines.append(f"(and {len(ctx.fields) - MAX_PROMPT_COLUMNS} more columns)")
    entities = guess_entities(ctx)
    if entities:
        lines.append("Likely describes: " + ", ".join(
            f"{e.name} ({e.kind.value})" for e in entities))
    return "\n".join(lines)


def template_draft(ctx: EnrichContext) -> tuple[str, list[str]]:
    """The description and tags written without an LLM."""
    types = column_types(ctx)
    pii = sorted(effective_pii(ctx))
    entities = guess_entities(ctx)
    d, v = ctx.dataset, ctx.version
    origin = f" from {ctx.source.name}" if ctx.source is not None else ""
    text = [f"{d.name.replace('_', ' ').capitalize()}{origin}: {v.row_count:,} rows and "
            f"{len(ctx.fields)} columns (version {v.version})."]
    if entities:
        text.append("It describes " + ", ".join(
            f"{e.name} ({'human' if e.kind.is_human else 'non-human'})" for e in entities) + ".")
    ids = [f.name for f in ctx.fields
           if (types[f.name].semantic_type or "").endswith("id")][:5]
    if ids:
        text.append("Identifiers: " + ", ".join(ids) + ".")
    # a PII column's range is personal data (e.g. birth dates): readers see the draft
    times = [f for f in ctx.fields if types[f.name].semantic_type in ("date", "timestamp")
             and "min" in f.stats and "max" in f.stats and f.name not in pii]
    if times:
        t = times[0]
        text.append(f"{t.name} runs from {t.stats['min']} to {t.stats['max']}.")
    if pii:
        text.append("Personal data in: " + ", ".join(pii) + ".")
    tags: list[str] = []
    if pii:
        tags.append("pii")
    kinds = {types[f.name].semantic_type for f in ctx.fields}
    if kinds & {"email", "phone", "address", "person_name"}:
        tags.append("contact-data")
    if kinds & {"date", "timestamp"}:
        tags.append("time-series")
    tags += [e.kind.value for e in entities]
    if any(e.kind.value in ("campaign", "channel", "audience") for e in entities):
        tags.append("marketing")
    return " ".join(text), list(dict.fromkeys(tags))


def _clean_tags(raw: Any) -> list[str]:
    out: list[str] = []
    if not isinstance(raw, list):
        return out
    for item in raw[:MAX_TAGS * 2]:
        if not isinstance(item, str):
            continue
        candidate = _TAG_SAFE.sub("-", item.strip().lower()).strip("-")
        try:
            out.append(normalize_tag(candidate))
        except ValidationError:
            continue
    return list(dict.fromkeys(out))[:MAX_TAGS]


def _chat_url(url: str) -> str:
    trimmed = url.rstrip("/")
    return trimmed if trimmed.endswith("/chat/completions") else trimmed + "/chat/completions"


async def llm_draft(ctx: EnrichContext, prompt: str) -> tuple[str, list[str]]:
    """Ask the configured chat endpoint; ValueError with the reason when it cannot be used."""
    s = ctx.settings
    headers = {"Content-Type": "application/json"}
    if s.llm_api_key:
        headers["Authorization"] = f"Bearer {s.llm_api_key}"
    body = {"model": s.llm_model, "temperature": 0.2,
            "messages": [{"role": "system", "content": SYSTEM_PROMPT},
                         {"role": "user", "content": prompt}]}
    try:
        async with httpx.AsyncClient(timeout=s.llm_timeout_seconds) as client:
            response = await client.post(_chat_url(s.llm_url), json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise ValueError(f"cannot reach PESO_LLM_URL: {exc.__class__.__name__}: {exc}") \
            from exc
    if response.status_code != 200:
        raise ValueError(f"PESO_LLM_URL answered HTTP {response.status_code}")
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ValueError("PESO_LLM_URL's answer is not a chat completion") from exc
    if not isinstance(content, str) or not content.strip():
        raise ValueError("PESO_LLM_URL answered an empty message")
    text = content.strip()
    fenced = re.search(r"\{.*\}", text, re.DOTALL)
    try:
        parsed = json.loads(fenced.group(0)) if fenced else None
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("description"), str):
        description, tags = parsed["description"].strip(), _clean_tags(parsed.get("tags"))
    else:
        description, tags = text, []
    if not description:
        raise ValueError("PESO_LLM_URL answered no description")
    check_text(description[:MAX_DESCRIPTION], field="description")
    return description[:MAX_DESCRIPTION], tags


class DescriptionEnricher:
    name = "descriptions"
    version = "1"

    async def enrich(self, context: EnrichContext) -> list[NewSuggestion]:
        description, tags = template_draft(context)
        evidence: dict[str, Any] = {"writer": "template"}
        confidence = 0.6
        if context.settings.llm_url:
            prompt = build_prompt(context)
            try:
                description, llm_tags = await llm_draft(context, prompt)
                tags = llm_tags or tags
                evidence = {"writer": "llm", "model": context.settings.llm_model,
                            "prompt_chars": len(prompt)}
                confidence = 0.7
            except ValueError as exc:
                log.warning("LLM draft failed, using the template", extra={"error": str(exc)})
                evidence = {"writer": "template", "llm_error": str(exc)}
        basis = {"columns": len(context.fields), "rows": context.version.row_count,
                 "source": context.source.name if context.source else None}
        out = [context.suggestion(self, SuggestionKind.DESCRIPTION, "",
                                  {"description": description}, confidence,
                                  {**evidence, **basis})]
        existing = {t.name for t in (await context.graph.get_tags([context.dataset.id]))[0]}
        for tag in tags:
            if tag not in existing:
                out.append(context.suggestion(self, SuggestionKind.TAG, "", {"tag": tag},
                                              confidence - 0.05, {**evidence, **basis}))
        return out
