"""The HTTP fast path: a known document's request answered without Strawberry.

Cheap operations spend most of their time in Python around their one statement: Strawberry's
view and extension hooks, the session machinery, decoding PostgreSQL's JSON and encoding it
again. A document the full pipeline has validated and answered from a compiled plan is
*known* (``schema/fast_path.py``: its text, operation name and role); its next requests are
answered here, after only the steps that depend on the request, each by the function the full
path calls:

1. the credentials (``api.auth.authenticate``: an API key is looked up on the primary every
   time, so a revoked key is refused at once; a token's signature and expiry are checked); an
   API key over POST is checked at step 5 instead, by the draw's own statement;
2. persisted documents and APQ (``api.persisted``), trusted-documents mode included;
3. GET: the data version, the ETag and ``304 Not Modified`` (``api.http_cache``);
4. the variables coerced and their input limits (``schema.boundary``);
5. the cost and the budget draw (``schema.budgets.admit``; for an API key not checked yet,
   ``admit_key``: the key's check, the draw and the data version in one statement, drawing
   nothing for a revoked key);
6. a kept answer (``api.response_cache``), else the plan's statement alone on the request's
   connection (``RequestSession.value_alone``).

Anything else (no credentials or refused ones, an unknown document, a refusal, bad variables,
a spent budget, a plan that falls back, a database error, a mutation, batching, a body that is
not a JSON object...) hands the request to the full path, which gives exactly the answer it
always gives: what was done here is handed over, never done twice (the principal, and the
budget drawn, ``Context.admission``). The answer's bytes, status and headers are those of the
full path (tests/e2e/test_fast_path.py compares them).

``CAMPAIGN_FAST_PATH=false`` turns it off. ``campaign_graphql_fast_path_total`` on /metrics
counts the requests it answered and those it handed over.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

from asgi_correlation_id import correlation_id
from graphql import GraphQLSchema
from starlette.requests import Request
from starlette.responses import Response
from strawberry.http.parse_content_type import parse_content_type

from api import metrics
from api.auth import (
    API_KEY_ROLE,
    KEY_REFUSED,
    api_key_in,
    credentials_of,
    hash_api_key,
    key_principal,
)
from api.db.compiled.plans import run_alone
from api.db.request_session import RequestSession
from api.db.session import Database
from api.domain.principal import Principal
from api.domain.raw_json import RawJSON
from api.http_cache import CACHE_CONTROL, VARY, cacheable, current_version, entity_tag, matches
from api.media_types import GRAPHQL_RESPONSE, content_type, prefers_graphql_response
from api.persisted import PersistedQueries
from api.response_cache import ResponseCache, encode
from api.settings import Settings
from schema.budgets import Admission, admit, admit_key
from schema.fast_path import Known, KnownDocuments, bind

log = logging.getLogger(__name__)

_MEMBERS = frozenset({"query", "variables", "operationName", "extensions"})

RequestData = tuple[str | None, dict[str, Any] | None, str | None, dict[str, Any] | None]


@lru_cache(maxsize=64)
def _is_json(content_type: str) -> bool:
    """Whether a request's Content-Type is JSON, as Strawberry's view reads it (clients send the
    same one or two values: parsed once each)."""
    media, _ = parse_content_type(content_type)
    return "application/json" in media


def _json_object(text: str | bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class FastPath:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        persisted: PersistedQueries,
        answers: ResponseCache,
        schema: GraphQLSchema,
        schema_id: str,
    ) -> None:
        self.settings = settings
        self.db = db
        self.persisted = persisted
        self.answers = answers
        self.schema = schema
        self.schema_id = schema_id
        self.known = KnownDocuments()
        # The counter's children by outcome, looked up once (prometheus-client's labels() takes
        # a lock and checks the values on every call).
        self._counted: dict[str, Any] = {}

    async def answer(self, request: Request, session: RequestSession) -> Response | None:
        """The answer, or None: the full path answers (having what was done here)."""
        response = await self._answer(request, session)
        outcome = "full" if response is None else "answered"
        counter = self._counted.get(outcome)
        if counter is None:
            counter = self._counted[outcome] = metrics.FAST_PATH.labels(outcome)
        counter.inc()
        return response

    async def _request_data(self, request: Request) -> RequestData | None:
        """What Strawberry's view would read from the request, when it is plain."""
        accept = request.headers.get("accept") or ""
        if "multipart/" in accept or "text/event-stream" in accept:
            return None  # incremental delivery and streaming: Strawberry's transports
        if request.method == "POST":
            if not _is_json(request.headers.get("content-type") or ""):
                return None
            data = _json_object(await request.body())
            if data is None:
                return None
        elif request.method == "GET":
            data = dict(request.query_params)
            if "query" not in data and "extensions" not in data:
                return None  # GraphiQL's page, or nothing at all
            for member in ("variables", "extensions"):
                if data.get(member):
                    data[member] = _json_object(data[member])
                    if data[member] is None:
                        return None
        else:
            return None
        if not data.keys() <= _MEMBERS:
            return None
        query, variables = data.get("query"), data.get("variables")
        name, extensions = data.get("operationName"), data.get("extensions")
        if not (
            isinstance(query, str | None)
            and isinstance(variables, dict | None)
            and isinstance(name, str | None)
            and isinstance(extensions, dict | None)
        ):
            return None
        return query, variables, name, extensions

    async def _answer(self, request: Request, session: RequestSession) -> Response | None:
        found = await self._request_data(request)
        if found is None:
            return None
        # As GraphQLView.get_context does; it takes what is found here instead of asking again.
        rid = request.state.request_id = correlation_id.get() or uuid.uuid4().hex
        # An API key sent over POST is checked later, by the statement that draws the budget
        # (``_key_and_admit``); other credentials first, as the full path checks them.
        key = api_key_in(request.headers) if request.method == "POST" else None
        principal = None
        if key is None:
            authenticated = await credentials_of(self.settings, self.db, request.headers, session)
            request.state.authenticated = authenticated
            principal = authenticated[0]
            if principal is None:
                return None
        try:
            return await self._known(request, session, principal, found, key)
        except Exception:  # a defect here must not cost the client the full path's answer
            log.exception("fast path failed, the full path answers (request %s)", rid)
            return None

    async def _known(
        self,
        request: Request,
        session: RequestSession,
        principal: Principal | None,
        found: RequestData,
        key: str | None = None,
    ) -> Response | None:
        """The answer of an authenticated request whose document is known, or None.
        ``principal`` None: the request's API key ``key``, not checked yet (a POST)."""
        query, variables, operation_name, extensions = found
        headers = request.headers
        rid = request.state.request_id
        try:
            resolved = await self.persisted.resolve(
                query, extensions, principal=principal, reads=session
            )
        except Exception:  # a refusal or an outage: the full path answers it and logs it
            return None
        text = resolved.query
        if text is None or resolved.to_register is not None:
            return None
        role = principal.role if principal is not None else API_KEY_ROLE
        known = self.known.get(text, operation_name, role)
        if known is None:
            return None
        graphql_response = prefers_graphql_response(headers.get("accept"))
        media = GRAPHQL_RESPONSE if graphql_response else "application/json"

        async def tag_now() -> str | None:
            if not cacheable(text):
                return None
            assert principal is not None  # checked before any tag is made
            return entity_tag(
                version=await current_version(session),
                principal=principal,
                schema_id=self.schema_id,
                query=text,
                variables=variables,
                operation_name=operation_name,
                media_type=media,
            )

        cache_headers: list[tuple[bytes, bytes]] = []
        tag = None
        if request.method == "GET":
            try:
                tag = await tag_now()
            except Exception:
                return None
            if tag is not None:
                cache_headers = [
                    (b"etag", tag.encode("latin-1")),
                    (b"cache-control", CACHE_CONTROL.encode("latin-1")),
                    (b"vary", VARY.encode("latin-1")),
                ]
                if matches(headers.get("if-none-match"), tag):
                    kept = {k.decode(): v.decode("latin-1") for k, v in cache_headers}
                    log.debug("fast path: %s not modified (request %s)", known.name, rid)
                    return Response(status_code=304, headers=kept)
        bound = bind(self.schema, known, variables, self.settings.base_url)
        if bound is None:
            return None
        stats = metrics.CURRENT.get()
        if stats is not None:
            stats.operation = operation_name
        admission = Admission()
        try:
            if principal is None:
                principal = await self._key_and_admit(
                    request, session, key, known, operation_name, variables, admission
                )
                if principal is None:
                    return None
            else:
                await admit(
                    admission,
                    self.schema,
                    known.document,
                    operation_name,
                    variables,
                    self.settings,
                    principal,
                    session,
                )
        except Exception:
            return None  # the full path draws, and answers the outage as it does
        request.state.admission = admission
        if admission.refusal is not None or admission.report is None:
            return None
        data = await self._data(request.method, tag, tag_now, principal, session, bound)
        if data is None:
            return None
        body = '{"data":' + data + ',"extensions":' + encode({"cost": admission.report}) + "}"
        response = Response(body, status_code=200, media_type=content_type(graphql_response))
        response.headers.raw.extend(cache_headers)
        log.debug("fast path answered %s (request %s)", known.name, rid)
        return response

    async def _key_and_admit(
        self,
        request: Request,
        session: RequestSession,
        key: str | None,
        known: Known,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        admission: Admission,
    ) -> Principal | None:
        """An API key checked by the statement that draws its cost (``schema.budgets.
        admit_key``): the document is known, so its cost is known before the key is checked,
        and a revoked key draws nothing and is refused as by its check alone. None: the full
        path answers (refused credentials, or nothing drawn: it checks the key itself then)."""
        assert key is not None
        checked = await admit_key(
            admission,
            self.schema,
            known.document,
            operation_name,
            variables,
            self.settings,
            API_KEY_ROLE,
            hash_api_key(key),
            session,
        )
        if checked is None:
            return None  # not drawn (too complex, say): the full path, in its own order
        if checked.key is None:
            request.state.authenticated = (None, KEY_REFUSED)
            return None
        principal = key_principal(self.db, checked.key)
        request.state.authenticated = (principal, None)
        if checked.drawn is None:
            return None  # a key of another role: the full path draws at that role's price
        return principal

    async def _data(
        self,
        method: str,
        tag: str | None,
        tag_now: Callable[[], Awaitable[str | None]],
        principal: Any,
        session: RequestSession,
        bound: Any,
    ) -> str | None:
        """The answer's ``data`` as JSON text: kept, else from the plan's statement."""
        slot = None
        if self.answers.enabled:

            async def answer_tag() -> str | None:
                return tag if method == "GET" else await tag_now()

            slot = self.answers.slot(principal, answer_tag)
            kept = await slot.kept()
            if kept is not None:
                return kept.text
        plan, params = bound
        try:
            text = await run_alone(session, plan, params)
        except Exception as exc:
            log.debug("fast path: the plan's statement failed, the full path answers: %s", exc)
            return None
        # The statement's JSON text as it is, as the full path sends a plan's answer too
        # (schema/compiled.py): the same bytes whichever path answers, never decoded here.
        if slot is not None:
            slot.keep(RawJSON(text), None)
        return text
