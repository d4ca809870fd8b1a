"""The contract bench starts each load run on an idle database: it waits while a statement
(a previous server's queued request) still runs there, and not once none does."""

from __future__ import annotations

import asyncio
import time

import asyncpg

from api.db.session import asyncpg_connect_args
from bench.contract_setup import IdleWait


def wait_idle(url: str) -> float:
    with IdleWait(url) as idle:
        return idle.wait()


async def test_waits_for_a_running_statement_to_finish(fresh_url: str) -> None:
    conn = await asyncpg.connect(**asyncpg_connect_args(fresh_url))
    try:
        assert await asyncio.to_thread(wait_idle, fresh_url) < 5  # idle: no wait to speak of
        running = asyncio.create_task(conn.execute("SELECT pg_sleep(1.5)"))
        started = time.monotonic()
        while not await _active(fresh_url):  # bounded by the statement's own 1.5 s
            assert time.monotonic() - started < 10
        waited = await asyncio.to_thread(wait_idle, fresh_url)
        assert running.done()
        assert waited > 0.3
        await running
    finally:
        await conn.close()


async def _active(url: str) -> bool:
    conn = await asyncpg.connect(**asyncpg_connect_args(url))
    try:
        busy = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state = 'active'"
        )
        return bool(busy)
    finally:
        await conn.close()
