"""``create_app(settings)``: routes, middleware and lifespan in one screen."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

from api.auth import key_uses
from api.db.migrations import head_revision
from api.db.session import Database
from api.graphiql.assets import STATIC_PATH
from api.graphiql.static import static_app
from api.graphql import BodyLimit, GraphQLView
from api.health import healthz, readyz
from api.links import follow
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

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await key_uses(database).drain()  # API keys' last use, recorded in the background
            if db is None:  # ours to close
                await database.dispose()

    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/r/{token}", follow, methods=["GET", "HEAD"]),
    ]
    if settings.graphiql_enabled:
        routes.append(Mount(STATIC_PATH, app=static_app(settings.graphiql_assets)))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.db = database
    app.state.settings = settings
    app.state.migration_head = head_revision()
    return app
