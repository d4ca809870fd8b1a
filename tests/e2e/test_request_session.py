"""A request's database work goes through one connection (api/db/request_session.py): it never
holds two at once (a mutation gives its back before its own transaction), and with a read
replica the reads stay on the replica while the budget is drawn on the primary."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from asgi_lifespan import LifespanManager
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.db.repositories import data_version
from api.db.request_session import RequestSession
from api.db.session import Database, asyncpg_connect_args
from api.domain.enums import Role
from tests.e2e.conftest import Api, operation, settings_for

FEED = operation("mobile/TopicFeed.graphql")
SETUP = operation("admin/SetUpCampaign.graphql")


@dataclass
class Use:
    statements: list[str]
    checkouts: int = 0
    transactions: int = 0
    held: int = 0
    most_held: int = 0


@contextmanager
def watched(engine: AsyncEngine) -> Iterator[Use]:
    """What one engine sends, checks out, begins (autocommit aside) and holds at once."""
    use = Use(statements=[])
    sync = engine.sync_engine

    def statement(conn: Any, cursor: Any, text: str, *args: Any) -> None:
        use.statements.append(text)

    def checkout(*args: Any) -> None:
        use.checkouts += 1
        use.held += 1
        use.most_held = max(use.most_held, use.held)

    def checkin(*args: Any) -> None:
        use.held -= 1

    def begin(conn: Any) -> None:
        if not conn.connection.dbapi_connection.autocommit:
            use.transactions += 1

    listeners = [
        (sync, "before_cursor_execute", statement),
        (sync.pool, "checkout", checkout),
        (sync.pool, "checkin", checkin),
        (sync, "begin", begin),
    ]
    for target, name, fn in listeners:
        event.listen(target, name, fn)
    try:
        yield use
    finally:
        for target, name, fn in listeners:
            event.remove(target, name, fn)


async def test_a_mutation_never_holds_two_connections(api: Api) -> None:
    assert api.db is not None
    with watched(api.db.engine) as use:
        data = await api.data(
            SETUP,
            {"input": {"slug": "one-at-a-time", "name": "One at a time", "startsOn": "2027-01-01"}},
            operation_name="CreateCampaign",
        )
    assert data["createCampaign"]["userErrors"] == []
    assert data["createCampaign"]["campaign"]["slug"] == "one-at-a-time"
    # The budget draw on the request's connection, the mutation's transaction, its payload.
    assert use.most_held == 1, use
    assert use.held == 0  # everything given back when the request ended
    # What the mutation committed is what the next request reads.
    found = await api.data(
        "query($s: String!) { campaign(slug: $s) { name } }", {"s": "one-at-a-time"}
    )
    assert found["campaign"] == {"name": "One at a time"}


async def test_a_refused_request_gives_its_connection_back(api: Api) -> None:
    assert api.db is not None
    with watched(api.db.engine) as use:
        body = await api.post("{ campaign(slug: 5) { name } }")  # invalid: nothing runs
        assert body["errors"]
        body = await api.post('{ topic(hashtag: "two words") { name } }')
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert use.held == 0


@pytest.fixture
async def replicated(demo_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Database, str]]:
    """The app with a 'replica': a second engine on the same database, as read_url makes."""
    settings = settings_for(demo_url)
    db = Database.connect(demo_url, read_url=demo_url, pool_size=2)
    assert db.read_engine is not db.engine
    app = create_app(settings, db=db)
    token = Api(client=None, settings=settings).token(Role.MEMBER, "ann@example.com")  # type: ignore[arg-type]
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://campaign.test") as c:
            yield c, db, token
    await db.dispose()


async def test_with_a_replica_reads_stay_there_and_the_budget_is_drawn_on_the_primary(
    replicated: tuple[httpx.AsyncClient, Database, str],
) -> None:
    client, db, token = replicated
    body = {"query": FEED, "variables": {"hashtag": "leadership", "first": 5}}
    headers = {"Authorization": f"Bearer {token}"}
    with watched(db.engine) as primary, watched(db.read_engine) as replica:
        response = await client.post("/graphql", json=body, headers=headers)
    answer = response.json()
    assert "errors" not in answer, answer
    assert answer["data"]["topic"]["posts"]["edges"]
    assert len(primary.statements) == 1
    assert "query_budget" in primary.statements[0]
    assert primary.checkouts == 1
    assert replica.checkouts == 1
    # The data version (read where the data is), then the compiled plan: the one read, in
    # autocommit (one statement sees one snapshot without BEGIN/ROLLBACK).
    assert replica.transactions == 0
    assert len(replica.statements) == 2
    assert "data_version" in replica.statements[0]
    assert not any("query_budget" in s for s in replica.statements)
    assert primary.held == replica.held == 0


@pytest.fixture
async def db(demo_url: str) -> AsyncIterator[Database]:
    database = Database.connect(demo_url, pool_size=2)
    yield database
    await database.dispose()


async def test_a_request_reads_one_snapshot_and_the_next_sees_the_commit(db: Database) -> None:
    session = RequestSession(db)
    async with session.reading() as s:
        before = await data_version.current(s)
    async with db.unit_of_work() as writer:  # another connection commits meanwhile
        await data_version.bump(writer)
    async with session.reading() as s:
        assert await data_version.current(s) == before  # still the request's snapshot
    await session.close()
    assert db.read_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    later = RequestSession(db)
    async with later.reading() as s:
        assert await data_version.current(s) == before + 1
    await later.close()


async def test_concurrent_batches_share_the_connection_in_turn(db: Database) -> None:
    session = RequestSession(db)

    async def read() -> int:
        async with session.reading() as s:
            return await data_version.current(s)

    # Loader batches dispatched in one tick: one connection, one statement at a time.
    found = await asyncio.gather(*(read() for _ in range(10)))
    assert len(set(found)) == 1
    assert db.read_engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    await session.close()
    assert db.read_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_failed_statement_spoils_only_itself(db: Database) -> None:
    session = RequestSession(db)
    with pytest.raises(DBAPIError):
        async with session.reading() as s:
            await s.execute(sa.text("SELECT 1 / 0"))
    # The aborted transaction was dropped: the request's next reads work.
    async with session.reading() as s:
        assert await data_version.current(s) >= 0
    await session.close()
    assert db.read_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_bookkeeping_commits_at_once_before_the_snapshot(db: Database) -> None:
    session = RequestSession(db)
    async with session.bookkeeping() as s:
        await data_version.bump(s)  # a write, as a budget draw is
    # Committed already: another connection sees it while the request still holds its own.
    async with db.reading() as other:
        bumped = await data_version.current(other)
    async with session.reading() as s:
        assert await data_version.current(s) == bumped
        with pytest.raises(DBAPIError):  # the snapshot is read-only
            await data_version.bump(s)
    await session.close()
    assert db.read_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_connection_given_back_keeps_no_read_only_setting(demo_url: str) -> None:
    db = Database.connect(demo_url, pool_size=1)
    try:
        session = RequestSession(db)
        async with session.bookkeeping() as s:
            await data_version.current(s)
        async with session.reading() as s:
            await data_version.current(s)
        await session.close()
        assert db.engine.pool.checkedin() == 1  # type: ignore[attr-defined]
        # The same pooled connection, in a mutation's transaction: read-write, READ COMMITTED.
        async with db.unit_of_work() as writer:
            await data_version.bump(writer)
            shown = await writer.execute(
                sa.text(
                    "SELECT current_setting('transaction_isolation'), "
                    "current_setting('transaction_read_only')"
                )
            )
            assert tuple(shown.one()) == ("read committed", "off")
    finally:
        await db.dispose()


async def test_driver_statements_and_a_later_snapshot_share_one_checkout(db: Database) -> None:
    session = RequestSession(db)
    with watched(db.read_engine) as use:
        pid = await session.value_alone("SELECT pg_backend_pid()", [])
        async with session.reading() as s:  # the same pooled connection, now under a session
            assert (await s.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one() == pid
        assert await session.value_alone("SELECT pg_backend_pid()", []) == pid
        assert db.read_engine.pool.checkedout() == 1  # type: ignore[attr-defined]
        await session.close()
    assert use.checkouts == 1
    assert db.read_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize("under_a_session", [False, True])
async def test_a_broken_connection_is_discarded_not_reused(
    demo_url: str, under_a_session: bool
) -> None:
    db = Database.connect(demo_url, pool_size=1)
    try:
        session = RequestSession(db)
        if under_a_session:  # the request's connection wrapped for a session already
            async with session.bookkeeping() as s:
                await data_version.current(s)
        pid = await session.value_alone("SELECT pg_backend_pid()", [])
        killer = await asyncpg.connect(**asyncpg_connect_args(demo_url))
        try:
            assert await killer.fetchval("SELECT pg_terminate_backend($1)", pid)
            for _ in range(500):  # until the server has let the backend go (bounded)
                gone = not await killer.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid
                )
                if gone:
                    break
                await asyncio.sleep(0.01)
            assert gone
        finally:
            await killer.close()
        # How the driver reports the lost session depends on when the server's goodbye
        # arrives: an error from the server, a closed connection, or (mid-exchange) asyncpg's
        # InternalClientError. Each is dropped alike.
        lost = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)
        with pytest.raises(lost):
            await session.value_alone("SELECT 1", [])
        await session.close()
        # The pool's one connection was dropped, not handed to the next request.
        later = RequestSession(db)
        assert await later.value_alone("SELECT pg_backend_pid()", []) != pid
        await later.close()
    finally:
        await db.dispose()
