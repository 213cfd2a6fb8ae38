"""Harvesting public data portals into the catalog (issue 12): fetch a portal's catalog,
turn each entry into a ``HarvestRecord`` (or a refusal with its reason), write the records
into the graph store, and report what was read, created, updated, unchanged, removed and
refused. One module per portal kind (``dcat_us``, ``ckan``); ``fetch`` is the only code that
talks to the network; ``apply`` the only code that writes."""
