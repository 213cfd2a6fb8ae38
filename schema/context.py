"""The typed request context resolvers receive: settings, stores, loaders, the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.types import Info as _Info

from schema.dataloaders import Loaders, make_loaders
from server.auth import ANONYMOUS, Principal
from server.settings import Settings
from server.storage.graph import GraphStore
from server.storage.objects import ObjectStore


@dataclass
class Context:
    settings: Settings
    graph: GraphStore
    objects: ObjectStore
    actor: str = "anonymous"
    request: Any = None
    response: Any = None
    principal: Principal = ANONYMOUS  # who is calling (server.auth); actor is its name
    request_id: str | None = None     # also in every audit event and log line of the request
    connection_params: Any = None     # a websocket's connection_init payload
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = make_loaders(self.graph)
        if self.principal is not ANONYMOUS:
            self.actor = self.principal.name


Info = _Info[Context, None]
