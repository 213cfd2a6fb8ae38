"""Machine data collection: ``POST /api/v1/collect/{namespace}/{name}``.

Ad servers, tracking pixels, devices, bots and AI agents post events (JSON Lines or a JSON
array of objects). The path of one batch:

1. ``endpoint``: authenticate (a writer, or a ``collector`` token naming the namespace), read
   the body (bounded by PESO_MAX_BODY_BYTES and PESO_COLLECT_MAX_RECORDS);
2. ``records``: check every record against the dataset's frozen schema — from its contract,
   else inferred from the first batch ever received, then frozen — and its contract rules;
   refused records go, with their reasons, to ``rejected/collect/…`` in the object store;
3. ``wal``: the accepted records are written to a batch file on local disk and fsynced, and
   only then is the request answered: an acknowledged event survives ``kill -9``;
4. ``collector``: a background task flushes each dataset's waiting batches as one Parquet part
   per hour (``collected/{namespace}/{name}/dt=YYYY-MM-DD/hour=HH/part-….parquet``) and
   registers a new version counting every event stored so far; at shutdown everything waiting
   is flushed; at start-up whatever a killed process left is flushed first.

An ``Idempotency-Key`` header names a batch: a replay within PESO_COLLECT_KEY_TTL_HOURS is
answered as the first time and not stored again (the key is written in the same atomic
rename as the batch). Above PESO_COLLECT_BUFFER_ROWS unflushed events a request is answered
429 with ``Retry-After``.
"""
