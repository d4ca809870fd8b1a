"""What runs and workers record: exact counts, dead workers' runs closed as ABANDONED, and
``lastSuccessAt`` only for complete passes."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from api.db.repositories import sync_runs
from api.db.session import Database
from api.sync.scheduler import Worker
from tests.integration.sync.conftest import Sim, make_client, make_worker, rows
from tests.integration.sync.test_feed_edges import _missing, _revived_old_threads


async def _run(db: Database, run_id: int) -> tuple[str, int, int, str | None]:
    [row] = await rows(
        db, "SELECT status, requests, errors, error FROM sync_run WHERE id = :r", r=run_id
    )
    return row[0], row[1], row[2], row[3]


async def test_a_run_counts_exactly_the_requests_it_made_and_its_errors(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    # Faults, including failures counted only in memory (the directory, a topic search).
    sim.config.update({"error_next": 40, "error_statuses": [503]})
    sim.state.log.clear()
    summary = await worker.run_once()
    status, requests, errors, _ = await _run(db, summary.run_id)
    assert requests == len(sim.state.log.records)
    assert errors == summary.stats.errors > 0
    assert status == "PARTIAL"


async def test_a_killed_workers_run_is_abandoned_by_the_next_worker(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    # What a process killed mid-pass leaves: its run RUNNING, its worker row ACTIVE, and a
    # heartbeat that stopped (here an hour ago, rather than waiting for it to age).
    async with db.unit_of_work() as session:
        await sync_runs.heartbeat(
            session, worker_id="dead", role="ACTIVE", state="SYNCING", source="sim",
            requests_in_window=0, poll_interval_seconds=60,
        )  # fmt: skip
        killed = await sync_runs.start_run(session, "SCHEDULE", datetime.now(UTC), "dead")
    async with db.unit_of_work() as session:
        await session.execute(
            sa.text(
                "UPDATE sync_worker SET heartbeat_at = now() - interval '1 hour'"
                " WHERE worker_id = 'dead'"
            )
        )
    summary = await worker.run_once()
    assert summary.status == "SUCCEEDED"
    status, _, _, error = await _run(db, killed)
    assert status == "ABANDONED"
    assert error is not None
    assert "stopped reporting" in error
    [(role,)] = await rows(db, "SELECT role FROM sync_worker WHERE worker_id = 'dead'")
    assert role == "LOST"


async def test_a_live_workers_run_is_left_alone(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    async with db.unit_of_work() as session:
        await sync_runs.heartbeat(
            session, worker_id="alive", role="ACTIVE", state="SYNCING", source="sim",
            requests_in_window=0, poll_interval_seconds=60,
        )  # fmt: skip
        running = await sync_runs.start_run(session, "SCHEDULE", datetime.now(UTC), "alive")
    await worker.run_once()
    assert (await _run(db, running))[0] == "RUNNING"


async def test_a_restarted_worker_abandons_its_own_previous_run(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, _ = mirrored
    async with make_client(sim) as client:
        # A container restart: same host name and pid, so the same worker id, beating fresh.
        restarted = make_worker(db, client, worker_id="pod:1")
        async with db.unit_of_work() as session:
            await sync_runs.heartbeat(
                session, worker_id="pod:1", role="ACTIVE", state="SYNCING", source="sim",
                requests_in_window=0, poll_interval_seconds=60,
            )  # fmt: skip
            before = await sync_runs.start_run(session, "SCHEDULE", datetime.now(UTC), "pod:1")
        await restarted.run_once()
    assert (await _run(db, before))[0] == "ABANDONED"


async def test_last_success_counts_only_complete_passes(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    async with db.reading() as session:
        complete = await sync_runs.last_success(session)
    assert complete is not None  # the set-up pass
    worker.stop.set()  # a pass stopped at once is partial
    partial = await worker.run_once()
    assert partial.status == "PARTIAL"
    async with db.reading() as session:
        assert await sync_runs.last_success(session) == complete


async def test_a_restarted_worker_reads_the_directory_on_its_interval_not_at_start(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, _ = mirrored  # the set-up pass read the directory
    sim.state.log.clear()
    async with make_client(sim) as client:
        restarted = make_worker(db, client)  # a new process: nothing in memory
        await restarted.run_once()
        assert sim.state.log.count(path_prefix="/api/v1/users.json") == 0
        assert sim.state.log.count(path_prefix="/api/v1/groups.json") == 0
        # Once the interval has passed since the last read, whoever made it, it is read again.
        interval = make_worker(db, client, directory_every=timedelta(0))
        await interval.run_once()
    assert sim.state.log.count(path_prefix="/api/v1/users.json") > 0
    assert sim.state.log.count(path_prefix="/api/v1/groups.json") > 0


async def test_a_pass_never_asks_twice_for_what_it_already_has(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    worker.config.directory_every = timedelta(0)  # the directory is read in this pass too
    # Replies the group feed leaves out, and replies to old threads the mirror lacks: the
    # threads are walked to settle them, and are also among the recent ones to refresh.
    sim.config.update({"in_group_omit_replies": 0.5})
    replies = _revived_old_threads(sim, 10)
    sim.state.log.clear()
    summary = await worker.run_once()
    assert summary.status == "SUCCEEDED", summary
    asked = Counter((r.path, r.query) for r in sim.state.log.records)
    assert {request: n for request, n in asked.items() if n > 1} == {}
    # users.json gave everyone's follower count seconds before: no users/{id} after it.
    assert sim.state.log.count(path_prefix="/api/v1/users/") == 0
    assert summary.stats.threads_walked >= 10
    assert await _missing(db, replies) == []  # and nothing is missed for asking less
