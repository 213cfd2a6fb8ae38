"""Where collected events live in the object store: one folder of Parquet parts per dataset,
``collected/<namespace>/<name>/dt=YYYY-MM-DD/hour=HH/part-<flush>-<n>.parquet``. Every version
of a collected dataset names that folder as its ``curatedKey``; readers (preview, enrichment
samples) read the folder as one dataset, and there is no single file to download."""

from __future__ import annotations

from server.ids import object_key

FOLDER = "collected"


def folder_key(namespace: str, name: str) -> str:
    """The ``curatedKey`` of every version of a collected dataset: its folder of parts."""
    return object_key(FOLDER, namespace, name)


def is_folder_key(key: str) -> bool:
    return key.startswith(FOLDER + "/")
