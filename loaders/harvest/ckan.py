"""CKAN Action API → records: ``package_search`` paged with ``rows``/``start`` until
``count`` is reached (the search results carry the whole package, as in CKAN 2.9 to 2.11), each
package mapped like ``ckanext-dcat`` maps it to DCAT. A portal whose ``package_search`` is
switched off (HTTP 400/403/404/405 on the first page) is read with ``package_list`` (paged with
``limit``/``offset``) and one ``package_show`` per package."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from loaders.harvest.fetch import FetchError
from loaders.harvest.records import Distribution, HarvestRecord, Refusal

PAGE_ROWS = 100
LIST_PAGE = 1000    # package_list page size (limit/offset)
SEARCH_OFF = (400, 403, 404, 405)   # statuses meaning "package_search is not offered here"
MAX_PAGES = 10_000  # 1,000,000 packages: a bound on a portal that never stops paging


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def action_root(base: str) -> str:
    """``…/api/3/action`` from the API root (``https://demo.ckan.org/api/3``), the action
    root, or a ``…/action/package_search`` URL."""
    root = base.rstrip("/")
    if root.endswith("/action/package_search"):
        return root.rsplit("/", 1)[0]
    return root if root.endswith("/action") else root + "/action"


def search_url(base: str, start: int, rows: int = PAGE_ROWS) -> str:
    query = urlencode({"rows": rows, "start": start, "sort": "name asc"})
    return f"{action_root(base)}/package_search?{query}"


def _result(body: bytes, where: str, action: str) -> Any:
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{where}: not JSON ({exc})") from exc
    if not (isinstance(doc, dict) and doc.get("success") is True and "result" in doc):
        error = doc.get("error") if isinstance(doc, dict) else None
        raise ValueError(f"{where}: not a successful CKAN {action} answer"
                         + (f" ({json.dumps(error)[:300]})" if error else ""))
    return doc["result"]


def _checked(pkg: Any, label: str, portal: str) -> HarvestRecord | Refusal:
    if not isinstance(pkg, dict) or not _text(pkg.get("id")):
        return Refusal(label, "a package without an id")
    if pkg.get("private") is True or pkg.get("state") not in (None, "active"):
        return Refusal(f"{label} ({pkg['id']})",
                       f"not public (private={pkg.get('private')}, state={pkg.get('state')})")
    return to_record(pkg, portal)


def _distribution(r: Any) -> Distribution | None:
    if not isinstance(r, dict) or not _text(r.get("url")):
        return None
    size = r.get("size")
    return Distribution(url=str(r["url"]).strip(), media_type=_text(r.get("mimetype")),
                        format=_text(r.get("format")),
                        byte_size=size if isinstance(size, int) and size >= 0 else None,
                        title=_text(r.get("name")))


def to_record(pkg: dict[str, Any], portal: str) -> HarvestRecord:
    org: dict[str, Any] = pkg["organization"] if isinstance(pkg.get("organization"), dict) \
        else {}
    extras = {e.get("key"): e.get("value") for e in pkg.get("extras") or []
              if isinstance(e, dict)}
    tags = tuple(t["name"].strip() for t in pkg.get("tags") or []
                 if isinstance(t, dict) and _text(t.get("name")))
    groups = tuple(str(g.get("title") or g.get("name")) for g in pkg.get("groups") or []
                   if isinstance(g, dict) and (g.get("title") or g.get("name")))
    name = _text(pkg.get("name"))
    return HarvestRecord(
        identifier=str(pkg["id"]), title=_text(pkg.get("title")) or str(name or pkg["id"]),
        description=_text(pkg.get("notes")), keywords=tags, themes=groups,
        license=_text(pkg.get("license_url")) or _text(pkg.get("license_id")),
        modified=_text(pkg.get("metadata_modified")), issued=_text(pkg.get("metadata_created")),
        periodicity=_text(extras.get("frequency")), temporal=_text(extras.get("temporal")),
        spatial=_text(extras.get("spatial")),
        landing_page=f"{portal.rstrip('/')}/dataset/{name}" if name else _text(pkg.get("url")),
        publisher=_text(org.get("title")) or _text(pkg.get("author")),
        contact_name=_text(pkg.get("maintainer")) or _text(pkg.get("author")),
        contact_email=_text(pkg.get("maintainer_email")) or _text(pkg.get("author_email")),
        distributions=tuple(d for d in map(_distribution, pkg.get("resources") or [])
                            if d is not None))


def portal_of(base: str) -> str:
    """The portal's site root, for landing pages: the URL before ``/api/``."""
    return base.split("/api/", 1)[0]


def parse_page(body: bytes, where: str, portal: str
               ) -> tuple[int, list[HarvestRecord], list[Refusal], int]:
    """(count, records, refusals, packages on this page) of one package_search answer."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{where}: not JSON ({exc})") from exc
    result = doc.get("result") if isinstance(doc, dict) else None
    if not (isinstance(doc, dict) and doc.get("success") is True and isinstance(result, dict)
            and isinstance(result.get("results"), list)):
        error = doc.get("error") if isinstance(doc, dict) else None
        raise ValueError(f"{where}: not a successful CKAN package_search answer"
                         + (f" ({json.dumps(error)[:300]})" if error else ""))
    records: list[HarvestRecord] = []
    refused: list[Refusal] = []
    for i, pkg in enumerate(result["results"]):
        got = _checked(pkg, f"{where} results[{i}]", portal)
        if isinstance(got, Refusal):
            refused.append(got)
        else:
            records.append(got)
    count = result.get("count")
    return (count if isinstance(count, int) else len(records), records, refused,
            len(result["results"]))


async def harvest(base: str, get: Callable[[str], Awaitable[bytes]]
                  ) -> tuple[list[HarvestRecord], list[Refusal]]:
    """Every package of the portal, page by page."""
    records: list[HarvestRecord] = []
    refused: list[Refusal] = []
    start = 0
    portal = portal_of(base)
    for _ in range(MAX_PAGES):
        url = search_url(base, start)
        try:
            body = await get(url)
        except FetchError as exc:
            if start == 0 and exc.status in SEARCH_OFF:
                return await harvest_by_list(base, get)
            raise
        count, page, bad, seen = parse_page(body, url, portal)
        records += page
        refused += bad
        start += seen
        if seen == 0 or start >= count:
            break
    return records, refused


async def harvest_by_list(base: str, get: Callable[[str], Awaitable[bytes]]
                          ) -> tuple[list[HarvestRecord], list[Refusal]]:
    """Every package through ``package_list`` and one ``package_show`` each (portals that
    switch ``package_search`` off). A package that cannot be shown is refused alone."""
    root, portal = action_root(base), portal_of(base)
    names: list[str] = []
    for page in range(MAX_PAGES):
        url = f"{root}/package_list?{urlencode({'limit': LIST_PAGE, 'offset': page * LIST_PAGE})}"
        result = _result(await get(url), url, "package_list")
        if not isinstance(result, list) or not all(isinstance(n, str) for n in result):
            raise ValueError(f"{url}: package_list did not answer a list of names")
        names += result
        if len(result) < LIST_PAGE:
            break
    records: list[HarvestRecord] = []
    refused: list[Refusal] = []
    for name in dict.fromkeys(names):
        url = f"{root}/package_show?{urlencode({'id': name})}"
        try:
            got = _checked(_result(await get(url), url, "package_show"), url, portal)
        except (FetchError, ValueError) as exc:
            refused.append(Refusal(name, str(exc)))
            continue
        if isinstance(got, Refusal):
            refused.append(got)
        else:
            records.append(got)
    return records, refused
