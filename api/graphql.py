"""The GraphQL endpoint: Strawberry's ASGI view with our context and authentication, behind a
body size limit (step 1 of the order of defence in schema/extensions.py)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from asgi_correlation_id import correlation_id
from cross_web import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL

from api import metrics
from api.auth import authenticate
from api.db.session import Database
from api.errors import Unauthenticated
from api.origins import allowed_ws_origin
from api.settings import Settings
from schema.context import Context
from schema.schema import build_schema


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuse a body over ``max_bytes`` with 413, before it is read (Content-Length) or as
    soon as the bytes received pass the limit (a chunked body)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _refusal(self) -> JSONResponse:
        message = f"The request body is larger than {self.max_bytes} bytes."
        error = {"message": message, "extensions": {"code": "PAYLOAD_TOO_LARGE"}}
        return JSONResponse({"errors": [error]}, status_code=413)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._refusal()(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except _TooLarge:
            if started:  # cannot happen: the view reads the whole body before answering
                raise
            await self._refusal()(scope, receive, send)


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, settings: Settings, db: Database) -> None:
        super().__init__(
            build_schema(),
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=True,
        )
        self.settings = settings
        self.db = db

    def decode_json(self, data: str | bytes) -> object:
        body = json.loads(data)
        # Strawberry reads fields of the body with `.get`: anything but an object would fail
        # there as a server error, so it is refused here as the client's.
        if not isinstance(body, dict):
            raise HTTPException(
                400,
                "The request body must be a JSON object such as "
                '{"query": "...", "variables": {...}}; got '
                f"{type(body).__name__ if body is not None else 'null'}.",
            )
        if not isinstance(body.get("operationName"), str | None):
            raise HTTPException(400, "`operationName` must be a string or null.")
        return body

    def is_websocket_origin_allowed(self, request: Any, origin: str) -> bool:
        # Strawberry allows same-origin handshakes first; the rest is the configured list.
        return allowed_ws_origin(self.settings, origin)

    async def execute_single(self, *args: Any, **kwargs: Any) -> Any:
        # What /metrics counts per operation (api/monitoring.py observes the whole request).
        stats = metrics.CURRENT.get()
        if stats is not None:
            stats.operation = kwargs["request_data"].operation_name
        result = await super().execute_single(*args, **kwargs)
        if stats is not None:
            stats.codes.extend(metrics.error_codes(result.errors))
        return result

    async def get_context(self, request: Any, response: Any) -> Context:
        # The request id middleware (api/app.py) took the client's X-Request-ID or made one,
        # and answers with it; logs carry it too (api/logs.py).
        request.state.request_id = correlation_id.get() or uuid.uuid4().hex
        principal, auth_error = None, None
        headers = request.headers
        try:
            principal = await authenticate(
                self.settings, self.db, headers.get("authorization"), headers.get("x-api-key")
            )
        except Unauthenticated as exc:
            # Answered as UNAUTHENTICATED, with the reason, before the document is validated.
            auth_error = exc.message
        return Context(
            db=self.db,
            principal=principal,
            # Tracked links point at the configured public URL, never at the request's Host
            # header, which any client can set (Settings requires it outside development).
            base_url=self.settings.base_url,
            request=request,
            auth_error=auth_error,
        )
