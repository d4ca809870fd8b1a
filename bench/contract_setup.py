"""The benchmark's network, credentials and realistic variables, and the project's statements
per request (counted in process: pg_stat_statements is seldom preloaded)."""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
from sqlalchemy import event

from api.app import create_app
from api.auth import create_api_key, issue_token, key_uses
from api.db.pagination import Cursor
from api.db.session import Database, asyncpg_connect_args
from api.domain.enums import Role
from api.settings import Settings
from bench.contract_cases import PEERS, Case, Lookups
from bench.kept_network import load_network

if TYPE_CHECKING:
    from bench.servers import Server

PUBLIC_URL = "http://bench.test"
SUBJECT = "priya.raman@example.com"  # the demo's lead: a manager of #leadership
HASHTAG = "leadership"
# Budgets no benchmark run can spend: the bench measures speed, not throttling.
BUDGETS = {
    f"CAMPAIGN_QUERY_BUDGET_{role}{suffix}": "1000000000"
    for role in ("ADMIN", "MANAGER", "MEMBER", "LMS")
    for suffix in ("", "_RESTORE")
}


def prepare(
    url: str, people: int, posts: int
) -> tuple[dict[str, int], Settings, str, dict[str, str]]:
    """Load the network and the peers' bench schema; the settings, LMS key and server env."""
    network = load_network(url, people, posts)
    return (network, *configure(url))


def configure(url: str) -> tuple[Settings, str, dict[str, str]]:
    """For a database holding the network: the peers' bench schema (created afresh), a new LMS
    key, the settings and the servers' env."""
    secret = secrets.token_urlsafe(32)
    settings = Settings(
        environment="development",
        database_url=url,
        jwt_secret=secret,
        public_url=PUBLIC_URL,
        **{k.removeprefix("CAMPAIGN_").lower(): int(v) for k, v in BUDGETS.items()},
    )
    lms_key = asyncio.run(_setup(url))
    env = {
        "DATABASE_URL": url,
        "CAMPAIGN_JWT_SECRET": secret,
        "CAMPAIGN_ENVIRONMENT": "development",
        # One base for tracked links whatever the port, so raw SQL's JSON can match ours.
        "CAMPAIGN_PUBLIC_URL": PUBLIC_URL,
    }
    return settings, lms_key, env


async def _setup(url: str) -> str:
    conn = await asyncpg.connect(**asyncpg_connect_args(url))
    try:
        # Afresh: a kept database (bench.kept_network) may hold an older version of it.
        await conn.execute("DROP SCHEMA IF EXISTS bench CASCADE")
        await conn.execute((PEERS / "postgraphile.sql").read_text())
    finally:
        await conn.close()
    db = Database.connect(url, pool_size=1)
    try:
        return await create_api_key(db, "bench", Role.LMS)
    finally:
        await db.dispose()


IDLE_POLLS = 3  # consecutive polls with nothing running: not a gap between two statements


class IdleWait:
    """Waits until nothing runs on the database any more (``wait()``: the seconds waited).

    autocannon stops at the end of its duration, but a server keeps executing the requests it
    has queued: at 300,000 posts a peer's analytics at c=32 leave a minute of statements
    behind, which would slow whichever server is measured next.  Each run starts on an idle
    database instead.  One connection, opened once: on a shared server a new one between runs
    may be refused (too many clients)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._runner = asyncio.Runner()
        self._conn: asyncpg.Connection | None = None

    def __enter__(self) -> IdleWait:
        self._conn = self._runner.run(asyncpg.connect(**asyncpg_connect_args(self.url)))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None:
            self._runner.run(self._conn.close())
        self._runner.close()

    def wait(self, timeout: float = 600) -> float:
        return self._runner.run(self._wait(time.monotonic() + timeout))

    async def _wait(self, deadline: float) -> float:
        assert self._conn is not None
        started = time.monotonic()
        idle = 0
        while idle < IDLE_POLLS and time.monotonic() < deadline:
            busy = await self._conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state = 'active'"
            )
            idle = idle + 1 if busy == 0 else 0
            await asyncio.sleep(0.1)
        return time.monotonic() - started


def headers_for(role: Role, settings: Settings, lms_key: str) -> dict[str, str]:
    if role is Role.LMS:
        return {"X-API-Key": lms_key}
    return {"Authorization": f"Bearer {issue_token(settings, role, SUBJECT, ttl_seconds=86400)}"}


async def lookups(
    url: str, project: str, settings: Settings, running: list[Server], deep: int
) -> Lookups:
    until = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(1)
    conn = await asyncpg.connect(**asyncpg_connect_args(url))
    try:
        total = await conn.fetchval(
            "SELECT count(*) FROM post WHERE thread_starter_id IS NULL AND deleted_at IS NULL"
            " AND id IN (SELECT post_id FROM post_hashtag WHERE hashtag = $1)",
            HASHTAG,
        )
        deep = max(1, min(deep, total // 2))
        row = await conn.fetchrow(
            "SELECT created_at, id FROM post WHERE thread_starter_id IS NULL"
            " AND deleted_at IS NULL AND id IN (SELECT post_id FROM post_hashtag WHERE hashtag = $1)"
            " ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1",
            HASHTAG,
            deep - 1,
        )
    finally:
        await conn.close()
    admin = headers_for(Role.ADMIN, settings, "")
    async with httpx.AsyncClient(timeout=300) as client:
        found = await client.post(
            project,
            headers=admin,
            json={
                "query": "query($h: String!) { topic(hashtag: $h) { posts(first: 1, orderBy: "
                "{field: REPLIES}) { nodes { id } } resources { id } } }",
                "variables": {"h": HASHTAG},
            },
        )
        topic = found.json()["data"]["topic"]
        pg_cursors = {}
        for server in running:
            if server.name in ("pg5", "pg4"):
                document = (PEERS / server.name / "TopicFeed.graphql").read_text()
                answer = await client.post(
                    server.url,
                    json={"query": document, "variables": {"hashtag": HASHTAG, "first": deep}},
                )
                pg_cursors[server.name] = answer.json()["data"]["posts"]["pageInfo"]["endCursor"]
    return Lookups(
        since=until - timedelta(days=90),
        until=until,
        hashtag=HASHTAG,
        deep_cursor=Cursor(row["created_at"], row["id"]).encode(),
        pg_deep_cursors=pg_cursors,
        post_id=topic["posts"]["nodes"][0]["id"],
        resource_ids=[r["id"] for r in topic["resources"]],
    )


async def count_statements(
    url: str, settings: Settings, lms_key: str, chosen: list[Case], *, warm: bool = False
) -> dict[str, int]:
    """SQL statements the project sends per request, each case's second request (its documents
    parsed and validated already); ``warm``: with the response cache on (answered from it)."""
    db = Database.connect(url)
    cache = settings.response_cache_bytes if warm else 0
    app = create_app(settings.model_copy(update={"response_cache_bytes": cache}), db=db)
    statements: list[Any] = []
    event.listen(db.engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(1))
    counts = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for case in chosen:
            headers = headers_for(case.role, settings, lms_key)
            for _ in range(2):
                statements.clear()
                answer = await client.post("/graphql", json=case.body(), headers=headers)
                assert not answer.json().get("errors"), answer.text[:500]
                # An API key's use is recorded aside, once a minute, by a background task:
                # not the request's statement (counted as ResourceLinks' fourth before).
                await key_uses(db).drain()
            counts[case.label] = len(statements)
    await db.dispose()
    return counts
