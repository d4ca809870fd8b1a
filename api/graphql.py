"""The GraphQL endpoint: Strawberry's ASGI view with our context and authentication."""

from __future__ import annotations

from typing import Any

from strawberry.asgi import GraphQL

from api.auth import authenticate
from api.db.session import Database
from api.errors import Unauthenticated
from api.settings import Settings
from schema.context import Context
from schema.schema import build_schema


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, settings: Settings, db: Database) -> None:
        super().__init__(
            build_schema(),
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=True,
        )
        self.settings = settings
        self.db = db

    async def get_context(self, request: Any, response: Any) -> Context:
        principal, auth_error = None, None
        headers = request.headers
        try:
            principal = await authenticate(
                self.settings, self.db, headers.get("authorization"), headers.get("x-api-key")
            )
        except Unauthenticated as exc:
            # Answered per field as UNAUTHENTICATED, with the reason, by the permission classes.
            auth_error = exc.message
        return Context(
            db=self.db,
            principal=principal,
            base_url=self.settings.public_url.rstrip("/")
            if self.settings.public_url
            else str(request.base_url).rstrip("/"),
            request=request,
            auth_error=auth_error,
        )
