"""Enrichers: plugins that read a dataset version and write reviewable suggestions.

``base`` (the interface, context and entry-point registry), ``semantic_types``, ``entities``,
``join_keys``, ``descriptions`` (Peso's own enrichers), ``runner`` (``enrich_version``,
``enrich_all``) and ``decide`` (accept / reject, the only path to a catalog change).
"""

from server.enrich.runner import EnrichReport, enrich_all, enrich_version

__all__ = ["EnrichReport", "enrich_all", "enrich_version"]
