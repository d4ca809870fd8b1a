"""The active worker gives way when its lock is gone, and a stop never waits out the budget."""

from __future__ import annotations

import asyncio
import time

import asyncpg

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
    conn = await asyncpg.connect(**asyncpg_connect_args(url))
    try:
        found = await conn.fetch("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted")
        return [r["pid"] for r in found]
    finally:
        await conn.close()


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
        running = [asyncio.create_task(a.run_forever())]
        try:
            deadline = time.monotonic() + 10
            while passes["A"] == 0:
                assert time.monotonic() < deadline, "A did not start polling"
                await asyncio.sleep(0.05)
            running.append(asyncio.create_task(b.run_forever()))
            await asyncio.sleep(0.5)
            assert passes["B"] == 0  # B stands by while A holds the lock
            [holder] = await _lock_holders(fresh_url)
            conn = await asyncpg.connect(**asyncpg_connect_args(fresh_url))
            try:  # what a database restart or a network cut does to A's lock connection
                await conn.execute("SELECT pg_terminate_backend($1)", holder)
            finally:
                await conn.close()
            deadline = time.monotonic() + 10
            while passes["B"] == 0:
                assert time.monotonic() < deadline, "the stand-by did not take over"
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # A notices within a lock check and a pass's page
            settled = passes["A"]
            await asyncio.sleep(2.0)
            # A polls no more while B holds the lock: never two pollers on one token.
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


async def test_stop_ends_a_long_rate_limit_wait(sim: Sim, fresh_db: Database) -> None:
    async with make_client(sim) as client:
        worker = make_worker(fresh_db, client)
        await set_up_campaign(fresh_db, worker)
        # A 429 asking for ten minutes: the bucket pauses, and the next request would wait.
        sim.config.update(
            {"storm_next": 1, "retry_after_seconds": 600, "fault_path_prefix": "/messages"}
        )
        task = asyncio.create_task(worker.run_once())
        deadline = time.monotonic() + 10
        while client.budget.status()["messages"].paused_for < 60:
            assert time.monotonic() < deadline, "the 429 did not pause the budget"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # the pass is now waiting on the paused bucket
        stopped_at = time.monotonic()
        worker.stop.set()  # what SIGTERM does
        summary = await asyncio.wait_for(task, timeout=5)
        assert time.monotonic() - stopped_at < 2
    assert summary.status == "PARTIAL"
    assert summary.error == "stopped before the pass was complete"
