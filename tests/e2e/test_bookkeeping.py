"""A request's bookkeeping (api/db/request_session.py): the key's check, the data version and
the budget draw in as few statements as the order of defence allows, and their meaning kept
across API processes: a revoked key is refused at once by each, one budget is exact for all."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from asgi_lifespan import LifespanManager
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

import schema.variables
from api.app import create_app
from api.auth import KeyUses, create_api_key, hash_api_key, key_uses, revoke_api_key
from api.db.prepared import prepare
from api.db.repositories import api_keys, query_budgets
from api.db.request_session import RequestSession
from api.db.session import Database
from api.domain.enums import Role
from tests.e2e.conftest import Api, operation, settings_for

FEED = operation("mobile/TopicFeed.graphql")
LINKS = operation("lms/ResourceLinks.graphql")


@asynccontextmanager
async def app_on(url: str, **overrides: Any) -> AsyncIterator[Api]:
    """One API process: its own engines and app on ``url``, recording the SQL it sends."""
    settings = settings_for(url).model_copy(update=overrides)
    db = Database.connect(url, pool_size=3)
    app = create_app(settings, db=db)
    api = Api(client=None, settings=settings, db=db)  # type: ignore[arg-type]

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        api.statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                api.client = client
                yield api
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        await key_uses(db).drain()
        await db.dispose()


def _kinds(statements: list[str]) -> list[str]:
    """What each statement was, in order."""
    kinds = []
    for text in statements:
        if "query_budget" in text and "api_key" in text:
            kinds.append("key+draw+version" if "data_version" in text else "key+draw")
        elif "query_budget" in text:
            kinds.append("draw+version" if "data_version" in text else "draw")
        elif "api_key" in text and "last_used_at" in text:
            kinds.append("key-use")  # recorded aside by KeyUses, never on a request's path
        elif "api_key" in text:
            kinds.append("key+version" if "data_version" in text else "key")
        elif "data_version" in text:
            kinds.append("version")
        elif "/* compiled" in text:
            kinds.append("plan")
        else:
            kinds.append(text.split()[0])
    return kinds


async def test_each_request_s_statements_exactly(
    demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the response cache on, no replica: the version rides on the first bookkeeping
    statement, and a compiled plan is the one read, sent without BEGIN/ROLLBACK."""
    monkeypatch.setattr(KeyUses, "INTERVAL_SECONDS", 1e9)  # a key's first use only
    async with app_on(demo_url) as api:
        assert api.db is not None
        key = await create_api_key(api.db, "counted", Role.LMS)
        member = {"Authorization": f"Bearer {api.token(Role.MEMBER, 'ann@example.com')}"}
        lms = {"X-API-Key": key}
        feed = {"query": FEED, "variables": {"hashtag": "leadership", "first": 5}}
        links = {"query": LINKS, "variables": {"hashtag": "leadership"}}
        begun: list[int] = []

        def begin(conn: Any) -> None:
            if not conn.connection.dbapi_connection.autocommit:
                begun.append(1)

        event.listen(api.db.engine.sync_engine, "begin", begin)

        async def sent(body: dict[str, Any], headers: dict[str, str], **kw: Any) -> list[str]:
            await key_uses(api.db).drain()  # type: ignore[arg-type]
            api.statements.clear()
            begun.clear()
            if kw.get("get"):
                params = {"query": body["query"], "variables": json.dumps(body["variables"])}
                extra = {"If-None-Match": kw["etag"]} if kw.get("etag") else {}
                response = await api.client.get(
                    "/graphql", params=params, headers={**headers, **extra}
                )
                kw["out"].append(response)
            else:
                response = await api.client.post("/graphql", json=body, headers=headers)
            if response.status_code != 304:
                assert "errors" not in response.json(), response.text
            if not kw.get("first_use"):
                assert begun == [], "a BEGIN was sent"
            return _kinds(api.statements)

        try:
            # A first request: the budget drawn and the version read together, then the plan.
            assert await sent(feed, member) == ["draw+version", "plan"]
            # Again at the same version: answered from the cache, one statement in all.
            assert await sent(feed, member) == ["draw+version"]
            # An LMS key, its document not known yet: its check (before the document is
            # validated) reads the version, then the draw, then the plan.
            first = await sent(links, lms, first_use=True)  # its first use is recorded aside
            assert [k for k in first if k != "key-use"] == ["key+version", "draw", "plan"]
            # Known now (validated, answered by a plan): the fast path knows its cost before
            # the key's check, so one statement checks the key, draws and reads the version.
            links = {**links, "variables": {"hashtag": "community"}}
            assert await sent(links, lms) == ["key+draw+version", "plan"]
            assert await sent(links, lms) == ["key+draw+version"]
            # A GET: the version first (a 304 costs nothing else), then the draw, then the plan.
            out: list[httpx.Response] = []
            get = {"query": FEED, "variables": {"hashtag": "leadership", "first": 7}}
            assert await sent(get, member, get=True, out=out) == ["version", "draw", "plan"]
            tag = out[-1].headers["ETag"]
            assert await sent(get, member, get=True, out=out, etag=tag) == ["version"]
            assert out[-1].status_code == 304
        finally:
            event.remove(api.db.engine.sync_engine, "begin", begin)


async def test_without_the_cache_a_post_reads_no_version(demo_url: str) -> None:
    async with app_on(demo_url, response_cache_bytes=0) as api:
        member = {"role": Role.MEMBER, "subject": "ann@example.com"}
        await api.post(FEED, {"hashtag": "leadership", "first": 5}, **member)
        api.statements.clear()
        body = await api.post(FEED, {"hashtag": "leadership", "first": 5}, **member)
        assert "errors" not in body
        assert _kinds(api.statements) == ["draw", "plan"]


async def test_a_revoked_key_is_refused_at_once_by_two_app_instances(demo_url: str) -> None:
    async with app_on(demo_url) as one, app_on(demo_url) as two:
        assert one.db is not None
        key = await create_api_key(one.db, "two-processes", Role.LMS)
        links = {"hashtag": "leadership"}
        for api in (one, two, one, two):  # each keeps the answer in its cache
            body = await api.post(LINKS, links, role=None, headers={"X-API-Key": key})
            assert "errors" not in body, body["errors"]
        async with one.db.unit_of_work() as session:
            await session.execute(
                sa.text("UPDATE api_key SET revoked_at = now() WHERE name = 'two-processes'")
            )
        # The very next request, in either process, with no wait: refused, as before, by the
        # fast path's one statement that checks the key and would have drawn.
        for api in (two, one):
            assert api.db is not None
            await key_uses(api.db).drain()  # the key's use, recorded aside, is not counted
            api.statements.clear()
            body = await api.post(LINKS, links, role=None, headers={"X-API-Key": key})
            assert _kinds(api.statements) == ["key+draw+version"]
            assert body["data"] is None
            (error,) = body["errors"]
            assert error["extensions"]["code"] == "UNAUTHENTICATED"
            assert error["message"] == "The API key is not valid or has been revoked."


BUDGET = {"query_budget_member": 100, "query_budget_member_restore": 0.001}
TEN = "{ topics(first: 10) { nodes { id hashtag } } }"  # costs 10


async def test_one_budget_is_exact_across_two_app_instances_at_once(fresh_url: str) -> None:
    """Fifteen concurrent requests of 10 points through two processes, on a 100-point bucket:
    exactly ten are served, each leaving a different level, and five are refused."""
    member = {"role": Role.MEMBER, "subject": "racing@example.com"}
    async with app_on(fresh_url, **BUDGET) as one, app_on(fresh_url, **BUDGET) as two:
        first = await one.post(TEN, **member)
        assert "errors" not in first, first["errors"]
        assert first["extensions"]["cost"]["requestedQueryCost"] == 10
        bodies = await asyncio.gather(*(api.post(TEN, **member) for api in (one, two) * 7))
    bodies = [first, *bodies]
    served = [b for b in bodies if "errors" not in b]
    refused = [b for b in bodies if "errors" in b]
    assert len(served) == 10
    levels = sorted(b["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] for b in served)
    # The restore rate may give back a fraction of a point, never a whole one.
    assert levels == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]
    assert {b["errors"][0]["extensions"]["code"] for b in refused} == {"RATE_LIMITED"}
    assert all(b["errors"][0]["extensions"]["retryAfter"] >= 1 for b in refused)


async def test_the_draw_commits_asynchronously_and_leaves_the_connection_as_it_was(
    fresh_url: str,
) -> None:
    db = Database.connect(fresh_url, pool_size=1)
    try:
        session = RequestSession(db)
        drawn = await query_budgets.draw_on(session, "MEMBER:sync@example.com", 5, 100, 1.0)
        assert drawn.granted
        assert drawn.available == 95
        assert session.data_version == 0  # read in the same statement
        # Visible at once to another connection, as a synchronous commit would be.
        other_db = Database.connect(fresh_url, pool_size=1)
        try:
            async with other_db.reading() as other:
                level = await other.scalar(
                    sa.text("SELECT available FROM query_budget WHERE principal = :p"),
                    {"p": "MEMBER:sync@example.com"},
                )
            assert level == 95
        finally:
            await other_db.dispose()
        # The setting was the draw's transaction's own: the connection commits durably after.
        async with session.reading() as s:
            assert await s.scalar(sa.text("SHOW synchronous_commit")) == "on"
        await session.close()
    finally:
        await db.dispose()


async def test_variables_are_coerced_once_per_request(
    demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The order of defence, the cost and the compiled plan share one coercion."""
    calls: list[Any] = []
    coerce = schema.variables.get_variable_values

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return coerce(*args, **kwargs)

    monkeypatch.setattr(schema.variables, "get_variable_values", counted)
    async with app_on(demo_url, response_cache_bytes=0) as api:
        # Variables no earlier request sent: the cost is counted, not remembered.
        variables = {"hashtag": "leadership", "first": 3}
        body = await api.post(FEED, variables, role=Role.MEMBER, subject="ann@example.com")
        assert "errors" not in body, body["errors"]
        assert body["data"]["topic"]["posts"]["edges"]
        assert len(calls) == 1


async def test_bookkeeping_after_reads_ends_the_snapshot_and_a_failure_gives_the_connection_back(
    fresh_url: str,
) -> None:
    db = Database.connect(fresh_url, pool_size=1)
    try:
        session = RequestSession(db)
        async with session.reading() as s:  # a read snapshot is open
            assert await s.scalar(sa.text("SELECT 1")) == 1
        # Ended first: the statement commits on its own, outside the snapshot.
        drawn = await query_budgets.draw_on(session, "MEMBER:late@example.com", 1, 10, 1.0)
        assert drawn.granted
        with pytest.raises(DBAPIError):
            await session.bookkeeping_row(prepare(sa.text("SELECT 1 / 0")), ())
        assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        # The request carries on with a fresh connection.
        assert await session.bookkeeping_row(prepare(sa.text("SELECT 2")), ()) == (2,)
        await session.close()
        assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await db.dispose()


async def _bucket(db: Database, principal: str) -> tuple[Any, ...] | None:
    async with db.reading() as session:
        row = (
            await session.execute(
                sa.text("SELECT available, updated_at FROM query_budget WHERE principal = :p"),
                {"p": principal},
            )
        ).first()
    return tuple(row) if row is not None else None


async def test_the_folded_key_check_refuses_a_revoked_key_and_draws_nothing(
    demo_url: str,
) -> None:
    """On the fast path an LMS key's check, its draw and the version are one statement; a
    key revoked since is refused by that very statement, which draws nothing."""
    slow = {"query_budget_lms_restore": 0.001}  # the level moves only by draws
    async with app_on(demo_url, response_cache_bytes=0, **slow) as api:
        assert api.db is not None
        key = {"X-API-Key": await create_api_key(api.db, "folded-revoked", Role.LMS)}
        links = {"hashtag": "leadership"}
        for _ in range(2):  # the second request knows the document
            body = await api.post(LINKS, links, role=None, headers=key)
            assert "errors" not in body, body["errors"]
            cost = body["extensions"]["cost"]
        await key_uses(api.db).drain()
        bucket = "LMS:api-key:folded-revoked"
        before = await _bucket(api.db, bucket)
        assert before is not None
        assert math.floor(before[0]) == cost["throttleStatus"]["currentlyAvailable"]
        api.statements.clear()
        body = await api.post(LINKS, links, role=None, headers=key)
        assert "errors" not in body, body["errors"]
        assert _kinds(api.statements) == ["key+draw", "plan"]  # the cache is off: no version
        drawn = await _bucket(api.db, bucket)
        assert drawn is not None
        assert drawn[0] < before[0]

        await revoke_api_key(api.db, "folded-revoked")
        api.statements.clear()
        body = await api.post(LINKS, links, role=None, headers=key)
        assert body["data"] is None
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
        assert error["message"] == "The API key is not valid or has been revoked."
        assert "extensions" not in body or "cost" not in body.get("extensions", {})
        # Refused by the statement that would have drawn: nothing else ran, nothing drawn.
        assert _kinds(api.statements) == ["key+draw"]
        assert await _bucket(api.db, bucket) == drawn


async def test_the_folded_statement_draws_nothing_for_an_unknown_or_revoked_key(
    fresh_url: str,
) -> None:
    db = Database.connect(fresh_url, pool_size=1)
    try:
        key = await create_api_key(db, "repo-revoked", Role.LMS)
        await revoke_api_key(db, "repo-revoked")
        for text in (key, "cgk_never-issued"):
            session = RequestSession(db)
            checked = await query_budgets.draw_for_key_on(
                session, hash_api_key(text), Role.LMS, "LMS:api-key:", 5, 100, 1.0
            )
            await session.close()
            assert checked == query_budgets.KeyDraw(key=None, drawn=None)
        async with db.reading() as session:
            assert await session.scalar(sa.text("SELECT count(*) FROM query_budget")) == 0
        # A valid key: checked and drawn, its bucket named as every principal's is.
        valid = await create_api_key(db, "repo-valid", Role.LMS)
        session = RequestSession(db)
        checked = await query_budgets.draw_for_key_on(
            session, hash_api_key(valid), Role.LMS, "LMS:api-key:", 5, 100, 1.0
        )
        await session.close()
        assert checked.key is not None
        assert checked.key.name == "repo-valid"
        assert checked.drawn is not None
        assert checked.drawn.granted
        assert checked.drawn.available == 95
        assert await _bucket(db, "LMS:api-key:repo-valid") is not None
        # A key of another role than the one priced for: checked, nothing drawn.
        session = RequestSession(db)
        checked = await query_budgets.draw_for_key_on(
            session, hash_api_key(valid), Role.MEMBER, "MEMBER:api-key:", 5, 100, 1.0
        )
        await session.close()
        assert checked.key is not None
        assert checked.drawn is None
        assert await _bucket(db, "MEMBER:api-key:repo-valid") is None
    finally:
        await db.dispose()


async def test_a_spent_budget_with_a_valid_key_is_rate_limited_by_the_folded_statement(
    demo_url: str,
) -> None:
    links = {"hashtag": "leadership"}
    async with app_on(demo_url, response_cache_bytes=0) as api:
        assert api.db is not None
        key = {"X-API-Key": await create_api_key(api.db, "priced", Role.LMS)}
        body = await api.post(LINKS, links, role=None, headers=key)
        cost = body["extensions"]["cost"]["requestedQueryCost"]
    # Room for two requests, not three; nothing drips back meanwhile.
    budget = {"query_budget_lms": 2 * cost + cost // 2, "query_budget_lms_restore": 0.001}
    async with app_on(demo_url, response_cache_bytes=0, **budget) as api:
        assert api.db is not None
        key = {"X-API-Key": await create_api_key(api.db, "spent", Role.LMS)}
        kinds = []
        bodies = []
        for _ in range(3):
            api.statements.clear()
            bodies.append(await api.post(LINKS, links, role=None, headers=key))
            await key_uses(api.db).drain()
            kinds.append(_kinds(api.statements))
    assert "errors" not in bodies[0], bodies[0]
    assert "errors" not in bodies[1], bodies[1]
    assert kinds[1] == ["key+draw", "plan"]  # known: checked and drawn in one statement
    levels = [b["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] for b in bodies]
    # The refusal reports the level it found, as the full path's does.
    full = budget["query_budget_lms"]
    assert levels == [full - cost, full - 2 * cost, full - 2 * cost]
    assert bodies[2]["data"] is None
    (error,) = bodies[2]["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["currentlyAvailable"] == levels[1]
    assert error["extensions"]["retryAfter"] >= 1
    # Refused by the folded statement and answered by the full path without drawing again.
    assert kinds[2] == ["key+draw"]


async def test_a_key_of_another_role_is_drawn_at_its_own_price(demo_url: str) -> None:
    """Keys are made for the LMS only; one of another role (written by hand) is checked by
    the folded statement, which draws nothing, and the full path draws at its role's price."""
    async with app_on(demo_url, response_cache_bytes=0) as api:
        assert api.db is not None
        lms = {"X-API-Key": await create_api_key(api.db, "lms-first", Role.LMS)}
        links = {"hashtag": "leadership"}
        for _ in range(2):  # the document is known for the LMS role
            assert "errors" not in await api.post(LINKS, links, role=None, headers=lms)
        odd = "cgk_member-by-hand"
        async with api.db.unit_of_work() as session:
            await api_keys.create_key(
                session, name="by-hand", role=Role.MEMBER, key_hash=hash_api_key(odd)
            )
        api.statements.clear()
        body = await api.post(LINKS, links, role=None, headers={"X-API-Key": odd})
        await key_uses(api.db).drain()
        assert "errors" not in body, body["errors"]
        kinds = [k for k in _kinds(api.statements) if k != "key-use"]  # its first use
        assert kinds == ["key+draw", "draw", "plan"]
        member_budget = api.settings.query_budget_member
        status = body["extensions"]["cost"]["throttleStatus"]
        assert status["maximumAvailable"] == member_budget
        assert await _bucket(api.db, "MEMBER:api-key:by-hand") is not None
        assert await _bucket(api.db, "LMS:api-key:by-hand") is None
