"""The GraphQL context: who asks, a session factory (never a session), and loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

import strawberry

from api.db.session import Database
from api.domain.principal import Principal
from schema.loaders import Loaders


@dataclass
class Context:
    db: Database
    principal: Principal | None
    # Where tracked links point: this service's public base URL.
    base_url: str
    request: Any = None
    # Why the credentials sent were refused, when they were.
    auth_error: str | None = None
    # Set by the order of defence once the document has passed validation (a persisted
    # query is stored only then: never an anonymous or invalid document).
    validated: bool = False
    # Subscriptions: the process's live activity (schema.subscriptions.ActivityFeed), and what
    # the client sent in `connection_init` (set by Strawberry on a WebSocket).
    activity: Any = None
    connection_params: dict[str, Any] | None = None
    # Over HTTP, where this query's answer may be kept and served again (schema/kept_answers.py,
    # api/response_cache.py); None: never kept.
    answer_slot: Any = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.db)


Info: TypeAlias = strawberry.Info[Context, None]
