"""``/graphql`` over WebSocket: ``graphql-transport-ws`` only, authenticated in
``connection_init``.

The handshake is accepted for the one protocol (any other is closed with 4406 by Strawberry)
and the origin check is Strawberry's: a browser page on another origin is refused (HTTP 403)
unless listed in ``allowed_origins`` (``websocket_origins`` below: the configured origins).
The ``connection_init`` payload carries the credentials the HTTP endpoint reads from
headers: ``{"Authorization": "Bearer <token>"}`` or ``{"X-API-Key": "<key>"}`` (any case), or
``{"token": "<token>"}``. Missing or refused credentials close the socket with 4403 before any
operation; a subscription then runs through the same order of defence, role rules and cost
as a query (``schema/extensions.py``, ``schema/budgets.py``).

The credentials are watched while the socket stays open (``api.live.credentials``): it is
closed with 4403 when its token expires, or within ``CAMPAIGN_SUBSCRIPTION_KEY_CHECK_SECONDS``
of its API key's revocation.

With ``CAMPAIGN_TRUSTED_DOCUMENTS=true`` an operation's document must be registered, as over
HTTP (``api.persisted``: admins exempt unless ``CAMPAIGN_TRUSTED_DOCUMENTS_ADMIN_ADHOC`` is
false); another is answered with an ``error`` message (``PERSISTED_QUERY_NOT_ALLOWED``) and
the socket stays open.

Everything a socket's operations read comes from the primary (``Database.on_primary``): an
event is announced by the primary's NOTIFY once its change has committed there, and a replica
that lags would show it without its post, or not at all.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, cast

from graphql import GraphQLError
from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types.unset import UNSET, UnsetType

from api.auth import authenticate
from api.db.session import Database
from api.errors import Unauthenticated
from api.live.credentials import CredentialWatch
from api.live.hub import ActivityHub
from api.origins import ws_origins
from api.persisted import PersistedQueries, Refusal
from api.settings import Settings
from schema.context import Context
from schema.extensions import SIGN_IN
from schema.schema import build_schema

log = logging.getLogger(__name__)

# A client that opens a socket and says nothing is closed (4408) after this long.
INIT_TIMEOUT = timedelta(seconds=10)


def websocket_origins(settings: Settings) -> Sequence[str]:
    """Origins whose pages may open a WebSocket (CAMPAIGN_WS_ORIGINS, else the CORS origins,
    and the service's own public URL: ``api.origins``); Strawberry refuses other cross-origin
    handshakes, and lets requests without an Origin (non-browser clients) through."""
    return tuple(ws_origins(settings))


def credentials(params: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(authorization, api key) from a ``connection_init`` payload, names in any case."""
    lowered = {str(k).lower(): v for k, v in params.items() if isinstance(v, str)}
    authorization = lowered.get("authorization")
    if authorization is None and lowered.get("token"):
        authorization = f"Bearer {lowered['token']}"
    return authorization, lowered.get("x-api-key")


class _Socket(ASGIWebSocketAdapter):
    """Strawberry's adapter, quiet about a socket this side closed: a dropped subscriber's
    operation may still try to send (its last event, ``complete``) before it is cancelled."""

    def _closed_here(self) -> bool:
        return bool(self.ws.application_state == WebSocketState.DISCONNECTED)

    async def send_json(self, message: Mapping[str, object]) -> None:
        if self._closed_here():
            return
        try:
            await super().send_json(message)
        except WebSocketDisconnected:
            if not self._closed_here():
                raise


class _Handler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler, with trusted documents enforced."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        persisted = cast("LiveView", self.view).persisted
        if persisted.trusted and self.connection_acknowledged:
            payload = message["payload"]
            try:
                resolved = await persisted.resolve(
                    payload["query"], payload.get("extensions"), self.context.principal
                )
            except Refusal as refusal:
                log.info("%s (WebSocket operation %s)", refusal.code, message["id"])
                await self._refuse(message["id"], refusal.message, refusal.code)
                return
            except (SQLAlchemyError, OSError):
                log.exception("persisted documents unavailable (WebSocket)")
                await self._refuse(message["id"], "Unexpected error.", "INTERNAL_SERVER_ERROR")
                return
            if resolved.query is not None:
                payload["query"] = resolved.query
        await super().handle_subscribe(message)

    async def _refuse(self, operation_id: str, message: str, code: str) -> None:
        error = GraphQLError(message, extensions={"code": code})
        await self.send_message({"id": operation_id, "type": "error", "payload": [error.formatted]})


class LiveView(GraphQL[Context, None]):
    websocket_adapter_class = _Socket
    graphql_transport_ws_handler_class = _Handler

    def __init__(self, settings: Settings, db: Database, hub: ActivityHub) -> None:
        super().__init__(
            build_schema(),
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=INIT_TIMEOUT,
            max_subscriptions_per_connection=settings.subscriptions_per_connection,
            allowed_origins=websocket_origins(settings),
        )
        self.settings = settings
        self.db = db
        self.primary = db.on_primary()
        self.persisted = PersistedQueries.from_settings(db, settings)
        self.hub = hub
        self.credentials = CredentialWatch(db, check_every=settings.subscription_key_check_seconds)

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        try:
            return await super().run(request, context, root_value)
        finally:
            self.credentials.forget(request)  # the socket has ended

    async def get_context(self, request: Any, response: Any) -> Context:
        # One id per connection: its log lines and masked errors share it.
        request.state.request_id = uuid.uuid4().hex
        return Context(
            db=self.primary,
            principal=None,
            base_url=self.settings.base_url,
            request=request,
            activity=self.hub,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        authorization, api_key = credentials(context.connection_params or {})
        try:
            principal = await authenticate(self.settings, self.db, authorization, api_key)
        except Unauthenticated as exc:
            log.info("WebSocket refused (4403): %s", exc.message)
            raise ConnectionRejectionError({"message": exc.message}) from None
        if principal is None:
            log.info("WebSocket refused (4403): no credentials in connection_init")
            raise ConnectionRejectionError({"message": SIGN_IN})
        context.principal = principal
        self.credentials.watch(context.request, principal)
        return UNSET
