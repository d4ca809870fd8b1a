"""The rate budget kept in PostgreSQL: processes on one token draw from one budget, a new
process starts from what the token spent, and a 429's pause holds every one of them."""

from __future__ import annotations

import asyncio
import time

from api.db.session import Database
from api.simulator.config import DEFAULT_TOKEN
from api.sync.budget import RateBudget
from api.sync.shared_budget import PostgresBudget, token_key
from tests.integration.sync.conftest import Sim, make_client, make_worker, rows, set_up_campaign


def shared_budget(db: Database, requests: int, window: float) -> RateBudget:
    budget = RateBudget(requests=requests, window=window)
    budget.share(PostgresBudget(db, DEFAULT_TOKEN))
    return budget


def limit_simulator(sim: Sim, requests: int, window: float) -> None:
    sim.config.update(
        {
            "rate_limits_enabled": True,
            "rate_limits": {"messages": [requests, window], "other": [requests, window]},
        }
    )


async def test_two_clients_on_one_token_never_exceed_it_together(
    fresh_db: Database, sim: Sim
) -> None:
    # The budget spaces a grant a window after an earlier slot's response came back, which
    # keeps the microblog's count within the limit while a request and its re-stamp take less
    # than a window (the microblog's windows are 30 s, the client's timeout 10 s). Here a
    # window of 5 s: a loaded machine has kept a 2 s window's re-stamps waiting on the pool.
    limit_simulator(sim, 5, 5.0)
    async with (
        make_client(sim, budget=shared_budget(fresh_db, 5, 5.0)) as one,
        make_client(sim, budget=shared_budget(fresh_db, 5, 5.0)) as other,
    ):
        # Each alone would send its four at once, within its own five per window.
        await asyncio.gather(*(c.users(1) for c in (one, other) for _ in range(4)))
    log = sim.state.log
    assert log.count(status=429) == 0
    assert log.count(bucket="other") == 8
    assert log.max_in_window(5.0, bucket="other") <= 5


async def test_a_new_process_starts_from_what_the_token_spent(fresh_db: Database, sim: Sim) -> None:
    limit_simulator(sim, 5, 2.0)
    for _ in range(3):  # `sync --once` three times in a row, each a new process and budget
        async with make_client(sim, budget=shared_budget(fresh_db, 5, 2.0)) as client:
            for _ in range(5):
                await client.users(1)
    log = sim.state.log
    assert log.count(status=429) == 0
    assert log.max_in_window(2.0, bucket="other") <= 5


async def test_a_429_pauses_every_process_on_the_token(fresh_db: Database, sim: Sim) -> None:
    sim.config.update({"storm_next": 1, "retry_after": True, "retry_after_seconds": 1})
    async with (
        make_client(sim, budget=shared_budget(fresh_db, 100, 30.0)) as refused,
        make_client(sim, budget=shared_budget(fresh_db, 100, 30.0)) as other,
    ):
        first = asyncio.create_task(refused.users(1))
        # Not merely until the simulator logged the 429: the token's other processes can only
        # hold off once the refused one has read it and recorded the pause. A request taken
        # between the two (the 429 on the wire, the refused client re-stamping its slot) goes
        # out unpaused, here as against the real service. So: until the pause is shared.
        deadline = time.monotonic() + 30
        while not await rows(
            fresh_db, "SELECT 1 FROM sync_rate_budget WHERE paused_until IS NOT NULL"
        ):  # a bounded poll
            assert time.monotonic() < deadline, "no pause recorded"
            await asyncio.sleep(0.01)
        await other.users(1)  # asked after the pause: must wait out the Retry-After
        await first
    [storm] = sim.state.log.select(status=429)
    later = [r.at for r in sim.state.log.select(status=200)]
    assert len(later) == 2
    # The pause starts when the 429 came back, after it arrived: nothing sooner than 1 s.
    # (Both 200s: the refused client's retry and the other's request.)
    assert min(later) >= storm.at + 1.0


async def test_workers_sharing_a_database_draw_from_one_budget(
    fresh_db: Database, sim: Sim
) -> None:
    async with make_client(sim) as client:
        await set_up_campaign(fresh_db, make_worker(fresh_db, client))
    limit_simulator(sim, 10, 1.0)
    sim.state.log.clear()
    async with (
        make_client(sim, budget=shared_budget(fresh_db, 10, 1.0)) as one_client,
        make_client(sim, budget=shared_budget(fresh_db, 10, 1.0)) as other_client,
    ):
        one = make_worker(fresh_db, one_client, worker_id="one")
        other = make_worker(fresh_db, other_client, worker_id="other")
        summaries = await asyncio.gather(one.run_once(), other.run_once())
    assert [s.status for s in summaries] == ["SUCCEEDED", "SUCCEEDED"]
    log = sim.state.log
    assert log.count(status=429) == 0
    for bucket in ("messages", "other"):
        assert log.max_in_window(1.0, bucket=bucket) <= 10
    assert log.count() > 20, "enough requests to have tested the limit"


async def test_the_token_is_never_stored(fresh_db: Database, sim: Sim) -> None:
    async with make_client(sim, budget=shared_budget(fresh_db, 10, 30.0)) as client:
        await client.users(1)
    keys = [k for (k,) in await rows(fresh_db, "SELECT token_key FROM sync_rate_budget")]
    assert keys == [token_key(DEFAULT_TOKEN)]
    assert DEFAULT_TOKEN not in keys[0]
