"""A worker's page commit moves the data version: a GET answered 304 before the pass is a 200
with the new post after it (the ETag side of api/http_cache.py)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import event

from api.app import create_app
from api.auth import issue_token
from api.db.repositories import data_version
from api.db.session import Database
from api.domain.enums import Role
from api.sync.scheduler import Worker
from tests.e2e.conftest import settings_for
from tests.integration.sync.conftest import Sim

POSTS = "{ posts(first: 1) { totalCount } }"
# The worker's own bookkeeping, which no cached answer shows (syncStatus is never tagged).
BOOKKEEPING = {
    "sync_feed", "sync_run", "sync_worker", "sync_mark", "sync_rate_budget", "sync_thread",
    "query_budget", "api_key", "persisted_query", "data_version",
}  # fmt: skip
WRITE = re.compile(r"^\s*(?:INSERT INTO|UPDATE|DELETE FROM)\s+\"?(\w+)", re.IGNORECASE)


async def test_every_worker_commit_that_writes_data_bumps_the_version(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    open_: dict[int, set[str]] = {}
    unbumped: list[set[str]] = []
    commits = 0

    def executed(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        found = WRITE.match(statement)
        if found:
            open_.setdefault(id(conn), set()).add(found.group(1).lower())

    def committed(conn: Any) -> None:
        nonlocal commits
        tables = open_.pop(id(conn), set())
        data = tables - BOOKKEEPING
        if data:
            commits += 1
            if "data_version" not in tables:
                unbumped.append(data)

    def rolled_back(conn: Any) -> None:
        open_.pop(id(conn), None)

    engine = db.engine.sync_engine
    listeners = [("before_cursor_execute", executed), ("commit", committed)]
    listeners.append(("rollback", rolled_back))
    for name, fn in listeners:
        event.listen(engine, name, fn)
    try:
        network = sim.network
        group = next(g for g in network.groups.values() if g.full_name == "Employee Engagement")
        author = next(iter(network.users.values()))
        starter = network.add_message(author.id, "A thread #engagement", group_id=group.id)
        network.add_message(author.id, "A reply", replied_to_id=starter.id)
        assert (await worker.run_once()).status == "SUCCEEDED"
    finally:
        for name, fn in listeners:
            event.remove(engine, name, fn)
    assert commits > 0  # pages, thread walks and the directory wrote
    assert unbumped == []


async def test_a_page_commit_turns_304_into_200(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    assert (await worker.run_once()).status == "SUCCEEDED"
    settings = settings_for("postgresql://unused@127.0.0.1:1/unused")
    token = issue_token(settings, Role.ADMIN, "admin@example.com")
    app = create_app(settings, db=db)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://campaign.test") as c:

            async def get(etag: str | None = None) -> httpx.Response:
                headers = {"Authorization": f"Bearer {token}"}
                if etag:
                    headers["If-None-Match"] = etag
                return await c.get("/graphql", params={"query": POSTS}, headers=headers)

            before = await get()
            etag = before.headers["etag"]
            assert (await get(etag)).status_code == 304

            network = sim.network
            group = next(g for g in network.groups.values() if g.full_name == "Employee Engagement")
            author = next(iter(network.users.values()))
            network.add_message(author.id, "Fresh news #engagement", group_id=group.id)
            async with db.reading() as session:
                version = await data_version.current(session)
            assert (await worker.run_once()).status == "SUCCEEDED"
            async with db.reading() as session:
                assert await data_version.current(session) > version

            after = await get(etag)
            assert after.status_code == 200
            assert after.headers["etag"] != etag
            total = after.json()["data"]["posts"]["totalCount"]
            assert total == before.json()["data"]["posts"]["totalCount"] + 1
