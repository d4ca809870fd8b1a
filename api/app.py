"""``create_app(settings)``: routes, middleware and lifespan in one screen."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from api.auth import key_uses
from api.db.migrations import head_revision
from api.db.session import Database
from api.graphql import BodyLimit, GraphQLView
from api.health import healthz, readyz
from api.links import follow
from api.live.endpoint import LiveView
from api.live.hub import ActivityHub
from api.settings import Settings, get_settings


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> Starlette:
    """The ASGI app. Pass ``db`` to share engines (tests); otherwise the lifespan makes them."""
    settings = settings or get_settings()
    if db is None and not settings.database_url:
        raise ValueError("create_app needs settings.database_url (the CLI resolves one)")
    database = db or Database.connect(
        settings.database_url or "", settings.database_read_url, pool_size=settings.db_pool_size
    )
    graphql = BodyLimit(GraphQLView(settings, database), settings.max_body_bytes)
    # Subscriptions: this process's one LISTEN connection (on the primary: replicas are not
    # told) and its fan-out; the WebSocket endpoint serves campaignActivity from it.
    hub = ActivityHub(database, settings.database_url, queue_size=settings.subscription_queue)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await hub.start()
        try:
            yield
        finally:
            await hub.stop()
            await key_uses(database).drain()  # API keys' last use, recorded in the background
            if db is None:  # ours to close
                await database.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", LiveView(settings, database, hub)),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/r/{token}", follow, methods=["GET", "HEAD"]),
        ],
        lifespan=lifespan,
    )
    app.state.db = database
    app.state.settings = settings
    app.state.activity = hub
    app.state.migration_head = head_revision()
    return app
