"""PesoClient: a small client for loader scripts that push files to a remote Peso server.

    from loaders.client import PesoClient
    peso = PesoClient("http://127.0.0.1:8000/graphql")
    result = peso.load("exports/crm.csv", dataset="crm/contacts", source="Acme CRM")
    print(result["version"]["version"], result["report"]["rows_written"])

Uploads use the GraphQL multipart request spec, streamed from disk, with the CSRF-safe
``X-Peso-Upload`` header the server requires. Errors raise PesoClientError with the server's
message (user errors from the payload, GraphQL errors, or the HTTP status).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

LOAD_MUTATION = """
mutation Load($input: LoadFileInput!, $file: Upload!) {
  loadFile(input: $input, file: $file) {
    created
    report
    dataset { id namespace name }
    version { id version rowCount byteSize contentHash curatedKey quarantineKey }
    errors { message field code }
  }
}
"""


class PesoClientError(Exception):
    """The server refused the request; ``str(err)`` is its message."""


class PesoClient:
    def __init__(self, url: str = "http://127.0.0.1:8000/graphql", *, token: str | None = None,
                 timeout: float = 300.0, transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Accept": "application/graphql-response+json, application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.url = url
        self._http = httpx.Client(headers=headers, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PesoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a query or mutation; return ``data``; raise PesoClientError on errors."""
        response = self._http.post(self.url, json={"query": document,
                                                   "variables": variables or {}})
        return self._data(response)

    def dataset(self, namespace: str, name: str) -> dict[str, Any] | None:
        data = self.query("query($ns:String!,$n:String!){ dataset(namespace:$ns,name:$n){ "
                          "id namespace name description latestVersion { version rowCount "
                          "fields { name arrowType semanticType pii } } } }",
                          {"ns": namespace, "n": name})
        found: dict[str, Any] | None = data["dataset"]
        return found

    def load(self, path: str | Path, *, dataset: str, source: str | None = None,
             description: str | None = None, contract: dict[str, Any] | None = None,
             **options: Any) -> dict[str, Any]:
        """Upload ``path`` into ``dataset`` ("namespace/name"). ``options`` are LoadFileInput
        fields in camelCase or snake_case (format, delimiter, dateOrder, sentinels, …)."""
        namespace, sep, name = dataset.partition("/")
        if not sep:
            raise PesoClientError(f"dataset {dataset!r} must be written NAMESPACE/NAME")
        fields = {"namespace": namespace, "name": name, "source": source,
                  "description": description, "contract": contract}
        fields.update({_camel(k): v for k, v in options.items()})
        variables = {"input": {k: v for k, v in fields.items() if v is not None}, "file": None}
        operations = json.dumps({"query": LOAD_MUTATION, "variables": variables})
        file_path = Path(path)
        with file_path.open("rb") as fh:
            response = self._http.post(
                self.url, headers={"X-Peso-Upload": "1"},
                data={"operations": operations, "map": json.dumps({"0": ["variables.file"]})},
                files={"0": (file_path.name, fh, "application/octet-stream")})
        payload: dict[str, Any] = self._data(response)["loadFile"]
        if payload["errors"]:
            raise PesoClientError("; ".join(e["message"] for e in payload["errors"]))
        return payload

    def _data(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise PesoClientError(f"HTTP {response.status_code}: {response.text[:500]}") from None
        if isinstance(body, dict) and body.get("errors"):
            raise PesoClientError("; ".join(str(e.get("message")) for e in body["errors"]))
        if response.status_code >= 400 or not isinstance(body, dict) or "data" not in body:
            raise PesoClientError(f"HTTP {response.status_code}: {str(body)[:500]}")
        data: dict[str, Any] = body["data"]
        return data


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
