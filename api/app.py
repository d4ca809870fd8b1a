"""``create_app(settings)``: routes, middleware and lifespan in one screen."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from asgi_correlation_id import CorrelationIdMiddleware
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from api import metrics
from api.auth import key_uses
from api.db.migrations import head_revision
from api.db.session import Database
from api.graphiql.assets import STATIC_PATH
from api.graphiql.static import static_app
from api.graphql import BodyLimit, GraphQLView
from api.health import healthz, readyz
from api.links import follow
from api.live.endpoint import LiveView
from api.live.hub import ActivityHub
from api.monitoring import MetricsMiddleware, metrics_endpoint, process_exiting
from api.origins import cors_origins
from api.settings import Settings, get_settings

# A client may name its request (X-Request-ID) so its logs and ours meet; otherwise we do.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _middleware(settings: Settings) -> list[Middleware]:
    """Outermost first: the request id (so every log line of a request carries it), CORS
    (a preflight is answered here), then the GraphQL metrics."""
    return [
        Middleware(
            CorrelationIdMiddleware,
            header_name="X-Request-ID",
            validator=lambda value: bool(_REQUEST_ID.match(value)),
        ),
        Middleware(
            CORSMiddleware,
            allow_origins=cors_origins(settings),
            allow_methods=["GET", "POST"],
            # Tokens travel in headers, never cookies: no credentials mode to allow.
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "ETag"],
            max_age=600,
        ),
        Middleware(MetricsMiddleware),
    ]


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> Starlette:
    """The ASGI app. Pass ``db`` to share engines (tests); otherwise the lifespan makes them."""
    settings = settings or get_settings()
    if db is None and not settings.database_url:
        raise ValueError("create_app needs settings.database_url (the CLI resolves one)")
    database = db or Database.connect(
        settings.database_url or "", settings.database_read_url, pool_size=settings.db_pool_size
    )
    database.on_statement(metrics.statement_executed)  # SQL statements per request
    view = GraphQLView(settings, database)
    graphql = BodyLimit(view, settings.max_body_bytes)
    # Subscriptions: this process's one LISTEN connection (on the primary: replicas are not
    # told) and its fan-out; the WebSocket endpoint serves campaignActivity from it.
    hub = ActivityHub(database, settings.database_url, queue_size=settings.subscription_queue)
    live = LiveView(settings, database, hub)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await hub.start()
        app.state.warming = view.start_warm_up()  # in the background: start-up does not wait
        try:
            yield
        finally:
            await view.stop_warm_up()
            await hub.stop()
            await live.credentials.stop()
            await key_uses(database).drain()  # API keys' last use, recorded in the background
            process_exiting()  # /metrics across processes (api/metrics.py)
            if db is None:  # ours to close
                await database.dispose()

    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", live),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/r/{token}", follow, methods=["GET", "HEAD"]),
        Route("/metrics", metrics_endpoint),
    ]
    if settings.graphiql_enabled:
        routes.append(Mount(STATIC_PATH, app=static_app(settings.graphiql_assets)))
    app = Starlette(routes=routes, middleware=_middleware(settings), lifespan=lifespan)
    app.state.db = database
    app.state.graphql = view
    app.state.settings = settings
    app.state.activity = hub
    app.state.migration_head = head_revision()
    return app
