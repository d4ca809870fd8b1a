"""The active worker gives way when its lock is gone, and a stop never waits out the budget."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import asyncpg

from api.db.repositories.signals import POLLING_LOCK
from api.db.session import Database, asyncpg_connect_args
from api.sync.scheduler import Worker
from tests.integration.sync.conftest import Sim, make_client, make_worker, rows, set_up_campaign


def _count_passes(worker: Worker, passes: dict[str, int], name: str) -> None:
    original = worker.run_once

    async def counted(*args: object, **kwargs: object) -> object:
        passes[name] += 1
        return await original(*args, **kwargs)  # type: ignore[arg-type]

    worker.run_once = counted  # type: ignore[method-assign]


async def _lock_holders(url: str) -> list[int]:
    """The backends holding the polling lock in this test's own database: other sessions on
    the server (other tests, other checkouts) take the same lock id in theirs."""
    conn = await asyncpg.connect(**asyncpg_connect_args(url))
    try:
        found = await conn.fetch(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND objsubid = 1 AND (classid::bigint << 32 | objid::bigint) = $1",
            POLLING_LOCK,
        )
        return [r["pid"] for r in found]
    finally:
        await conn.close()


async def _until(condition: Callable[[], Awaitable[bool]], what: str, seconds: float = 20) -> None:
    """Poll ``condition`` until it holds, failing with ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def test_a_worker_whose_lock_connection_dies_stands_by(
    sim: Sim, fresh_db: Database, fresh_url: str
) -> None:
    async with make_client(sim) as client_a, make_client(sim) as client_b:
        a = make_worker(fresh_db, client_a, worker_id="A", lock_check_interval=0.2)
        b = make_worker(fresh_db, client_b, worker_id="B", lock_check_interval=0.2)
        await set_up_campaign(fresh_db, a)
        passes = {"A": 0, "B": 0}
        _count_passes(a, passes, "A")
        _count_passes(b, passes, "B")

        async def role(worker_id: str) -> str | None:
            found = await rows(
                fresh_db, "SELECT role FROM sync_worker WHERE worker_id = :w", w=worker_id
            )
            return found[0][0] if found else None

        async def started(name: str, at_least: int = 1) -> bool:
            return passes[name] >= at_least

        running = [asyncio.create_task(a.run_forever())]
        try:
            await _until(lambda: started("A"), "A did not start polling")
            running.append(asyncio.create_task(b.run_forever()))
            await _until(lambda: _is(role("B"), "STANDBY"), "B did not report standing by")
            assert passes["B"] == 0  # B stands by while A holds the lock
            [holder] = await _lock_holders(fresh_url)
            conn = await asyncpg.connect(**asyncpg_connect_args(fresh_url))
            try:  # what a database restart or a network cut does to A's lock connection
                await conn.execute("SELECT pg_terminate_backend($1)", holder)
            finally:
                await conn.close()
            await _until(lambda: started("B"), "the stand-by did not take over")
            # A notices within a lock check and a pass's page, and stands by in turn.
            await _until(lambda: _is(role("A"), "STANDBY"), "A did not stand by")
            settled = passes["A"]
            # Two more passes of B, while A keeps trying for the lock, poll nothing from A:
            # never two pollers on one token.
            target = passes["B"] + 2
            await _until(lambda: started("B", target), "B stopped polling")
            assert passes["A"] == settled
            assert len(await _lock_holders(fresh_url)) == 1
        finally:
            a.stop.set()
            b.stop.set()
            await asyncio.gather(*running)
    lost = await rows(
        fresh_db, "SELECT count(*) FROM sync_run WHERE error LIKE 'lost the polling lock%'"
    )
    assert lost[0][0] <= 1  # at most the pass that was running when the lock went


async def _is(value: Awaitable[object], expected: object) -> bool:
    return await value == expected


async def test_stop_ends_a_long_rate_limit_wait(sim: Sim, fresh_db: Database) -> None:
    async with make_client(sim) as client:
        worker = make_worker(fresh_db, client)
        await set_up_campaign(fresh_db, worker)
        # A 429 asking for ten minutes: the bucket pauses, and the next request would wait.
        sim.config.update(
            {"storm_next": 1, "retry_after_seconds": 600, "fault_path_prefix": "/messages"}
        )
        task = asyncio.create_task(worker.run_once())
        deadline = time.monotonic() + 60
        while client.budget.status()["messages"].paused_for < 60:
            assert time.monotonic() < deadline, "the 429 did not pause the budget"
            await asyncio.sleep(0.05)
        worker.stop.set()  # what SIGTERM does
        # Far sooner than the 600 s asked for: the wait notices the stop (bounds generous for
        # a busy machine; the point is not sitting the pause out).
        summary = await asyncio.wait_for(task, timeout=60)
    assert summary.status == "PARTIAL"
    assert summary.error == "stopped before the pass was complete"
