"""The GraphQL context: who asks, the session factory, the request's reads, and loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

import strawberry

from api.db.request_session import Reads, RequestSession
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
    # An HTTP request's one connection and read snapshot, opened on first use; the view
    # closes it when the request ends. None elsewhere (a WebSocket, a script): reads then take
    # a short session each, so a subscription never holds a connection for its lifetime.
    session: RequestSession | None = None
    # Over HTTP, where this query's answer may be kept and served again (schema/kept_answers.py,
    # api/response_cache.py); None: never kept.
    answer_slot: Any = None
    # The cost and budget step's outcome when the HTTP fast path (api/fast_path.py) drew the
    # budget before handing the request over (schema/budgets.py): never drawn twice.
    admission: Any = None
    # Set when a compiled plan answered (schema/compiled.py): the fast path may then answer
    # this document's next requests itself.
    planned: bool = False
    # Set by the HTTP view, which sends a compiled plan's JSON text as it is (RawJSON,
    # schema/compiled.py); elsewhere (a WebSocket, a script) the plan's answer is decoded.
    raw_data: bool = False
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.reads)

    @property
    def reads(self) -> Reads:
        """Where resolvers, loaders and bookkeeping read (and draw budgets)."""
        return self.session if self.session is not None else self.db

    async def before_write(self) -> None:
        """A mutation is about to open its own transaction: give the request's connection
        back first (never two held at once), so reads after it see its commit."""
        if self.session is not None:
            await self.session.release()


Info: TypeAlias = strawberry.Info[Context, None]
