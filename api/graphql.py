"""The GraphQL endpoint: Strawberry's ASGI view with our context and authentication, behind a
body size limit (step 1 of the order of defence in schema/extensions.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

from asgi_correlation_id import correlation_id
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult, SubscriptionExecutionResult

from api import metrics
from api.auth import credentials_of
from api.db.request_session import RequestSession
from api.db.session import Database
from api.domain.enums import Role
from api.fast_path import FastPath
from api.graphiql.page import render as render_graphiql
from api.http_cache import CACHE_CONTROL, VARY, cacheable, current_version, entity_tag, matches
from api.media_types import GRAPHQL_RESPONSE, content_type, prefers_graphql_response
from api.origins import allowed_ws_origin
from api.persisted import PersistedQueries, Refusal, sha256_of
from api.response_cache import ResponseCache, splice
from api.settings import Settings
from schema.context import Context
from schema.extensions import SIGN_IN
from schema.fast_path import MAX_KNOWN, MAX_PREPARED
from schema.schema import LIMITS, MAX_TOKENS, build_schema

log = logging.getLogger(__name__)


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


class _NotModified(Exception):
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


class _SubResponse(Response):
    """Strawberry's per-request response, knowing which media type the client wants."""

    graphql_response: bool = False


# A request error (nothing executed: the document, its variables, the credentials or the
# budget refused it) in application/graphql-response+json is a 4xx, by its code.
_REQUEST_ERROR_STATUS = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "PERSISTED_QUERY_NOT_FOUND": 404,
    "RATE_LIMITED": 429,
    "INTERNAL_SERVER_ERROR": 500,
}


def _request_error_status(body: GraphQLHTTPResponse) -> int | None:
    """The status of an answer that executed nothing (no ``data``, no error with a path)."""
    errors = body.get("errors") or []
    if body.get("data") is not None or not errors:
        return None
    if any(isinstance(e, dict) and "path" in e for e in errors):
        return None  # a field error: execution ran (a non-null root field failed)
    codes = [e.get("extensions", {}).get("code") for e in errors if isinstance(e, dict)]
    return next((_REQUEST_ERROR_STATUS[c] for c in codes if c in _REQUEST_ERROR_STATUS), 400)


def _without_data(body: GraphQLHTTPResponse) -> GraphQLHTTPResponse:
    out = GraphQLHTTPResponse()
    out.update({k: v for k, v in body.items() if k != "data"})  # type: ignore[typeddict-item]
    return out


def _retry_after(body: GraphQLHTTPResponse) -> int | None:
    for error in body.get("errors") or []:
        retry = error.get("extensions", {}).get("retryAfter") if isinstance(error, dict) else None
        if isinstance(retry, int):
            return retry
    return None


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, settings: Settings, db: Database) -> None:
        schema = build_schema()
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=True,
        )
        self.settings = settings
        self.db = db
        self.persisted = PersistedQueries.from_settings(db, settings)
        # Part of every ETag: a deploy that changes the schema changes them all.
        self.schema_id = sha256_of(str(schema))[:16]
        self.answers = ResponseCache(settings.response_cache_bytes)
        # Known documents answered without Strawberry (api/fast_path.py).
        self.fast = (
            FastPath(settings, db, self.persisted, self.answers, schema._schema, self.schema_id)
            if settings.fast_path
            else None
        )
        # Stored documents prepared for the fast path in the background (warm_up).
        self.warming: asyncio.Task[int] | None = None
        self._learning: set[asyncio.Task[None]] = set()

    def _may_warm(self) -> bool:
        """Whether the full path could make documents known here (compiled plans need a base
        URL), so preparing them is equivalent to what it would do."""
        return (
            self.fast is not None
            and self.settings.warm_up_documents
            and self.settings.compiled
            and bool(self.settings.base_url)
        )

    def start_warm_up(self) -> asyncio.Task[int] | None:
        """At start (the app's lifespan), without delaying it: prepare the stored documents
        registered last for the fast path (``warm_up``); then each document this process reads
        or stores for the first time."""
        if not self._may_warm():
            return None
        self.persisted.on_learned = self._learn
        self.warming = asyncio.create_task(self.warm_up(), name="warm-up known documents")
        return self.warming

    async def stop_warm_up(self) -> None:
        self.persisted.on_learned = None
        tasks = [t for t in (self.warming, *self._learning) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def warm_up(self) -> int:
        """Make the documents registered last known (``KnownDocuments.prepare``), newest first,
        as long as there is room; how many (text, operation name, role) became known."""
        assert self.fast is not None
        started = time.perf_counter()
        try:
            texts = await self.persisted.recent(MAX_PREPARED)
        except Exception as exc:  # the full path answers them as before
            log.warning("stored documents unreadable, none prepared at start: %s", exc)
            return 0
        made = 0
        for text in texts:
            for role in Role:
                if self.fast.known.full():
                    break
                made += self._prepare(text, (role,))
                # A document and role at a time (a compile takes milliseconds): requests
                # arriving meanwhile are served between them.
                await asyncio.sleep(0)
        # Start-up noise: DEBUG, so an operator's console is not cluttered by it.
        log.debug(
            "%d stored documents read, %d known (text, operation, role) prepared in %.0f ms",
            len(texts),
            made,
            (time.perf_counter() - started) * 1000,
        )
        return made

    def _prepare(self, text: str, roles: tuple[Role, ...] = tuple(Role)) -> int:
        assert self.fast is not None
        try:
            made = self.fast.known.prepare(
                self.fast.schema, text, limits=LIMITS, max_tokens=MAX_TOKENS, roles=roles
            )
        except Exception:  # a defect here must cost nothing but the fast path for this text
            log.exception("preparing a stored document failed; the full path answers it")
            return 0
        return len(made)

    def _learn(self, text: str) -> None:
        """A stored document read or stored for the first time: prepared soon, not in the
        request that brought it (it is answered by the full path, as before)."""
        if self.fast is None or self.fast.known.full() or len(self._learning) >= MAX_KNOWN:
            return

        async def prepare() -> None:
            for role in Role:
                await asyncio.sleep(0)
                self._prepare(text, (role,))

        task = asyncio.create_task(prepare())
        self._learning.add(task)
        task.add_done_callback(self._learning.discard)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        response: Response
        request = Request(scope=scope, receive=receive)
        # The request's one connection and read snapshot (api/db/request_session.py), taken
        # by get_context; given back before the answer is sent, whatever happened.
        session = request.state.db_session = RequestSession(
            self.db, version_wanted=self.answers.enabled or request.method == "GET"
        )
        try:
            fast = await self.fast.answer(request, session) if self.fast is not None else None
            response = fast if fast is not None else await self.run(request)
        except ClientDisconnect:
            # The client went away before its body arrived: nobody to answer, nothing wrong
            # here (load generators do it at the end of every run).
            log.debug("client disconnected before sending its request body")
            return
        except _NotModified as exc:
            response = Response(status_code=304, headers=exc.headers)
        except HTTPException as exc:
            # GraphQL over HTTP: a mutation over GET is 405, naming the method that works.
            headers = {"Allow": "POST"} if exc.status_code == 405 else None
            response = PlainTextResponse(exc.reason, status_code=exc.status_code, headers=headers)
        finally:
            await session.close()
        await response(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        # Our page, whose assets this service serves (api/graphiql), not Strawberry's CDN one.
        page = render_graphiql(self.settings.graphiql_assets)
        return HTMLResponse(page.html, status_code=page.status, headers=page.headers)

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

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A persisted query over GET names its document in `extensions`, not `query`.
        return request.query_params.get("extensions") is None and super().should_render_graphql_ide(
            request
        )

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = _SubResponse()
        sub_response.status_code = None  # type: ignore[assignment]
        del sub_response.headers["content-length"]
        sub_response.graphql_response = prefers_graphql_response(request.headers.get("accept"))
        return sub_response

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
        # Set by __call__ for HTTP; a WebSocket's context reads through short sessions.
        session: RequestSession | None = getattr(request.state, "db_session", None)
        # The fast path (api/fast_path.py) authenticated this request before handing it over.
        authenticated = getattr(request.state, "authenticated", None)
        if authenticated is None:
            authenticated = await credentials_of(self.settings, self.db, request.headers, session)
        principal, auth_error = authenticated
        return Context(
            db=self.db,
            principal=principal,
            # Tracked links point at the configured public URL, never at the request's Host
            # header, which any client can set (Settings requires it outside development).
            base_url=self.settings.base_url,
            request=request,
            auth_error=auth_error,
            session=session,
            # The budget the fast path drew before handing the request over, if it did.
            admission=getattr(request.state, "admission", None),
            # A compiled plan's text goes into the body as it is (encode_json: splice).
            raw_data=True,
        )

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult:
        if isinstance(request_data, list):  # batching is off: Strawberry refuses it earlier
            return await super().execute_operation(
                request, request_adapter, request_data, context, root_value, sub_response
            )
        rid = request.state.request_id
        try:
            to_register = await self._resolve_document(request_data, context)
        except Refusal as refusal:
            log.info("%s (request %s)", refusal.code, rid)
            error = GraphQLError(refusal.message, extensions={"code": refusal.code})
            return ExecutionResult(data=None, errors=[error])
        except (SQLAlchemyError, OSError):
            log.exception("persisted documents unavailable (request %s)", rid)
            code = {"code": "INTERNAL_SERVER_ERROR", "requestId": rid}
            error = GraphQLError("Unexpected error.", extensions=code)
            return ExecutionResult(data=None, errors=[error])
        tag = None
        if request_adapter.method == "GET":
            try:
                tag = await self._entity_tag(request_data, context, sub_response)
            except (SQLAlchemyError, OSError) as exc:
                # No tag then; executing reports the database's trouble in the answer.
                log.warning("no ETag, the data version is unreadable (request %s): %s", rid, exc)
            if tag is not None:
                self._cache_headers(sub_response, tag)
                if matches(request.headers.get("if-none-match"), tag):
                    raise _NotModified(dict(sub_response.headers))
        self._answer_slot(request_adapter.method, tag, request_data, context, sub_response)
        try:
            result = await super().execute_operation(
                request, request_adapter, request_data, context, root_value, sub_response
            )
        except HTTPException as exc:
            if request_adapter.method == "GET" and isinstance(
                exc.__cause__, InvalidOperationTypeError
            ):
                raise HTTPException(405, exc.reason) from exc
            raise
        if to_register is not None and context.validated:
            await context.before_write()
            await self.persisted.register(*to_register)
        if tag is not None and getattr(result, "errors", None):
            del sub_response.headers["ETag"]  # an error is not worth keeping: ask again
        if (
            self.fast is not None
            and context.planned
            and context.principal is not None
            and request_data.query is not None
            and not getattr(result, "errors", None)
        ):
            # A compiled plan answered: this document's next requests may take the fast path.
            self.fast.known.remember(
                request_data.query, request_data.operation_name, context.principal.role
            )
        return result

    async def _resolve_document(
        self, request_data: GraphQLRequestData, context: Context
    ) -> tuple[str, str] | None:
        """Put the persisted document in place of a hash; what to register once validated."""
        if context.principal is None:
            # Anonymous requests learn nothing of stored documents, and store none.
            if request_data.query is None and (request_data.extensions or {}).get("persistedQuery"):
                raise Refusal("UNAUTHENTICATED", context.auth_error or SIGN_IN)
            return None
        resolved = await self.persisted.resolve(
            request_data.query,
            request_data.extensions,
            principal=context.principal,
            reads=context.reads,
        )
        request_data.query = resolved.query
        return resolved.to_register

    async def _entity_tag(
        self, request_data: GraphQLRequestData, context: Context, sub_response: Response
    ) -> str | None:
        query = request_data.query
        if context.principal is None or query is None or not cacheable(query):
            return None
        return entity_tag(
            version=await current_version(context.reads),
            principal=context.principal,
            schema_id=self.schema_id,
            query=query,
            variables=request_data.variables,
            operation_name=request_data.operation_name,
            media_type=GRAPHQL_RESPONSE
            if getattr(sub_response, "graphql_response", False)
            else "application/json",
        )

    def _answer_slot(
        self,
        method: str,
        tag: str | None,
        request_data: GraphQLRequestData,
        context: Context,
        sub_response: Response,
    ) -> None:
        """The response cache's hook (api/response_cache.py, schema/kept_answers.py): a GET has
        its tag already; a POST reads the version only if the query reaches execution."""
        if not self.answers.enabled or context.principal is None:
            return

        async def answer_tag() -> str | None:
            if method == "GET":
                return tag
            return await self._entity_tag(request_data, context, sub_response)

        context.answer_slot = self.answers.slot(context.principal, answer_tag)

    @staticmethod
    def _cache_headers(sub_response: Response, tag: str) -> None:
        sub_response.headers["ETag"] = tag
        sub_response.headers["Cache-Control"] = CACHE_CONTROL
        sub_response.headers["Vary"] = VARY

    def encode_json(self, data: object) -> str | bytes:
        # A kept answer's `data` is JSON text already (api/response_cache.py).
        return splice(data, super().encode_json)

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        status = 200
        graphql_response = getattr(sub_response, "graphql_response", False)
        media_type = content_type(graphql_response)
        if graphql_response and isinstance(response_data, dict):
            refused = _request_error_status(response_data)
            if refused is not None:
                # GraphQL over HTTP: a request error carries no `data` and a 4xx.
                status = refused
                response_data = _without_data(response_data)
        response = Response(
            self.encode_json(response_data), status_code=status, media_type=media_type
        )
        response.headers.raw.extend(sub_response.headers.raw)
        if status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        if status == 429 and isinstance(response_data, dict):
            retry = _retry_after(response_data)
            if retry is not None:
                response.headers["Retry-After"] = str(retry)
        if sub_response.background:
            response.background = sub_response.background
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        return response
