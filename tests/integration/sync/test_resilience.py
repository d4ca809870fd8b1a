"""The worker survives the microblog's faults, keeps to its budget, resumes after a kill, and
only one replica polls at a time."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from api.db.session import Database
from api.simulator.config import DEFAULT_TOKEN
from api.sync.budget import RateBudget
from api.sync.scheduler import Worker
from tests.integration.sync.conftest import Sim, make_client, make_worker, rows, set_up_campaign
from tests.integration.sync.test_worker import _visible

CAMPAIGN = Path(sys.executable).with_name("campaign")


async def _mirror_matches(db: Database, sim: Sim) -> None:
    live = await rows(db, "SELECT external_id FROM post WHERE deleted_at IS NULL")
    assert sorted(e for (e,) in live) == sorted(_visible(sim))


@pytest.mark.parametrize("retry_after", [True, False], ids=["retry-after", "no-retry-after"])
async def test_faults_are_survived(fresh_db: Database, sim: Sim, retry_after: bool) -> None:
    async with make_client(sim, timeout=1.0) as client:
        worker = make_worker(fresh_db, client)
        await set_up_campaign(fresh_db, worker)
        sim.config.update(
            {"retry_after": retry_after, "retry_after_seconds": 1 if retry_after else None,
             "storm_next": 3, "error_next": 3, "hang_next": 1, "hang_seconds": 3.0,
             "malformed_next": 2}
        )  # fmt: skip
        first = await worker.run_once()
        # Whatever failed was recorded against its feed; the next pass mends it.
        assert first.status in ("SUCCEEDED", "PARTIAL")
        second = await worker.run_once()
        assert second.status == "SUCCEEDED", second
    await _mirror_matches(fresh_db, sim)
    statuses = {r.status for r in sim.state.log.records}
    assert {429, 200} <= statuses
    assert statuses & {500, 502, 503}
    runs = await rows(fresh_db, "SELECT status, requests FROM sync_run ORDER BY id")
    assert all(requests > 0 for _, requests in runs)


async def test_budget_is_never_exceeded(fresh_db: Database, sim: Sim) -> None:
    # The microblog's 10 per 30 s, scaled down to 5 per 2 s so the test is quick.
    sim.config.update(
        {"rate_limits_enabled": True, "rate_limits": {"messages": [5, 2.0], "other": [5, 2.0]}}
    )
    async with make_client(sim, budget=RateBudget(requests=5, window=2.0)) as client:
        worker = make_worker(fresh_db, client)
        await set_up_campaign(fresh_db, worker)
        summary = await worker.run_once()
    assert summary.status == "SUCCEEDED"
    log = sim.state.log
    assert log.count(status=429) == 0
    for bucket in ("messages", "other"):
        assert log.max_in_window(2.0, bucket=bucket) <= 5
    assert log.count(bucket="messages") > 5, "enough requests to have tested the limit"
    await _mirror_matches(fresh_db, sim)


async def _mirroring_in_a_process(
    url: str, db: Database, sim: Sim, *command: str
) -> asyncio.subprocess.Process:
    """`campaign <command>` against the simulator (slowed down), once it has mirrored a bit."""
    async with make_client(sim) as client:
        await set_up_campaign(db, make_worker(db, client))
    sim.config.update({"latency_seconds": 0.15})
    env = {**os.environ, "DATABASE_URL": url, "MICROBLOG_URL": sim.url,
           "MICROBLOG_TOKEN": DEFAULT_TOKEN, "CAMPAIGN_SYNC_BUDGET_REQUESTS": "1000"}  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        str(CAMPAIGN), *command, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        (count,) = (await rows(db, "SELECT count(*) FROM post"))[0]
        if count >= 5:
            break
        await asyncio.sleep(0.05)
    return process


async def test_killed_mid_run_resumes_without_loss_or_duplicates(
    fresh_url: str, fresh_db: Database, sim: Sim
) -> None:
    process = await _mirroring_in_a_process(fresh_url, fresh_db, sim, "sync", "--once")
    # Kill it (no chance to clean up) once some pages are in.
    process.send_signal(signal.SIGKILL)
    await asyncio.wait_for(process.wait(), timeout=10)
    partial = (await rows(fresh_db, "SELECT count(*) FROM post"))[0][0]
    assert 0 < partial < len(_visible(sim)), "killed half-way"

    sim.config.update({"latency_seconds": 0.0})
    # The killed process's heartbeat stops; age it rather than wait for it to grow old.
    async with fresh_db.unit_of_work() as session:
        await session.execute(
            sa.text("UPDATE sync_worker SET heartbeat_at = now() - interval '1 hour'")
        )
    async with make_client(sim) as client:
        summary = await make_worker(fresh_db, client).run_once()
    assert summary.status == "SUCCEEDED", summary
    await _mirror_matches(fresh_db, sim)
    # The killed run is closed as ABANDONED by the next worker; the resumed one succeeded.
    statuses = [s for (s,) in await rows(fresh_db, "SELECT status FROM sync_run ORDER BY id")]
    assert statuses[-2:] == ["ABANDONED", "SUCCEEDED"]


async def test_two_replicas_never_poll_at_once(fresh_db: Database, sim: Sim) -> None:
    sim.config.update({"latency_seconds": 0.02})
    async with make_client(sim) as one_client, make_client(sim) as other_client:
        await set_up_campaign(fresh_db, make_worker(fresh_db, one_client))
        one = make_worker(fresh_db, one_client, worker_id="one")
        other = make_worker(fresh_db, other_client, worker_id="other")
        tasks = {w.config.worker_id: asyncio.create_task(w.run_forever()) for w in (one, other)}
        replicas = "SELECT worker_id, role FROM sync_worker WHERE worker_id IN ('one', 'other')"
        done_runs = (
            "SELECT count(*) FROM sync_run WHERE trigger = 'SCHEDULE' AND finished_at IS NOT NULL"
        )
        # However slow the machine: wait for two finished passes and both replicas' reports.
        deadline = time.monotonic() + 60
        while True:
            roles = dict(await rows(fresh_db, replicas))
            if (await rows(fresh_db, done_runs))[0][0] >= 2 and len(roles) == 2:
                break
            assert time.monotonic() < deadline, f"no two passes yet: {roles}"
            await asyncio.sleep(0.05)
        assert sorted(roles.values()) == ["ACTIVE", "STANDBY"], roles
        active = one if roles["one"] == "ACTIVE" else other
        standby = other if active is one else one
        # Runs never overlap: one poller at a time.
        runs = await rows(
            fresh_db,
            "SELECT started_at, finished_at FROM sync_run WHERE trigger = 'SCHEDULE' ORDER BY started_at",
        )
        assert len(runs) >= 2
        for (_, finished), (started, _) in itertools.pairwise(runs):
            assert finished is not None
            assert finished <= started
        # The active one stops (or dies): the stand-by takes over.
        active.stop.set()
        await tasks[active.config.worker_id]
        deadline = time.monotonic() + 60
        while (roles := dict(await rows(fresh_db, replicas)))[standby.config.worker_id] != "ACTIVE":
            assert time.monotonic() < deadline, f"the stand-by did not take over: {roles}"
            await asyncio.sleep(0.05)
        assert roles == {active.config.worker_id: "STOPPED", standby.config.worker_id: "ACTIVE"}
        standby.stop.set()
        await tasks[standby.config.worker_id]


async def test_sigterm_finishes_the_page_in_hand_and_exits(
    fresh_url: str, fresh_db: Database, sim: Sim
) -> None:
    process = await _mirroring_in_a_process(fresh_url, fresh_db, sim, "worker")
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), timeout=15) == 0
    [(status, finished, error)] = await rows(
        fresh_db, "SELECT status, finished_at, error FROM sync_run WHERE trigger = 'SCHEDULE'"
    )
    assert (status, finished is not None) == ("PARTIAL", True)
    assert "stopped" in error
    roles = await rows(fresh_db, "SELECT role FROM sync_worker WHERE role <> 'STOPPED'")
    assert roles == []


@pytest.mark.parametrize("mode", ["invalid_json", "html"])
async def test_a_200_with_an_unreadable_body_is_retried(
    sim: Sim, mirrored: tuple[Database, Worker], mode: str
) -> None:
    db, worker = mirrored
    # Cut short on the way, or a proxy's HTML page: both answered 200.
    sim.config.update({"malformed_next": 3, "malformed_mode": mode})
    summary = await worker.run_once()
    assert summary.status == "SUCCEEDED", summary  # retried, not a failed feed
    assert len([r for r in sim.state.log.records if r.outcome == "malformed"]) == 3
    await _mirror_matches(db, sim)


async def test_a_body_that_stays_unreadable_fails_its_feed_clearly(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    await worker.run_once()  # the campaign's feeds are known after a pass
    [(group,)] = await rows(
        db, "SELECT external_id FROM sync_feed WHERE kind = 'GROUP' ORDER BY id LIMIT 1"
    )
    sim.config.update(
        {"malformed_rate": 1.0, "malformed_mode": "html",
         "fault_path_prefix": f"/messages/in_group/{group}"}
    )  # fmt: skip
    summary = await worker.run_once()
    assert summary.status == "PARTIAL"
    [(error,)] = await rows(
        db, "SELECT last_error FROM sync_feed WHERE kind = 'GROUP' AND external_id = :g", g=group
    )
    assert error.startswith("PayloadError: response is not JSON after 5 attempts")
