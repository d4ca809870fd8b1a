"""Admins watch the mirror and ask for a run: syncStatus and requestSync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa

from api.db.repositories import freshness, sync_runs, sync_state
from api.db.session import Database
from api.domain.enums import Role, SyncFeedKind
from api.domain.freshness import FreshnessPolicy
from api.sync.budget import MESSAGES, OTHER, RateBudget
from api.sync.scheduler import Worker, WorkerConfig
from api.sync.shared_budget import PostgresBudget
from tests.e2e.conftest import Api, operation

SYNC = operation("admin/SyncStatus.graphql")
FRESHNESS = "{ syncStatus { freshness { stalestThreadAgeSeconds overdueThreads } } }"


async def test_offline_before_any_worker(empty_api: Api) -> None:
    data = await empty_api.data(SYNC, operation_name="SyncStatus")
    status = data["syncStatus"]
    assert status["state"] == "OFFLINE"
    assert status["lastSuccessAt"] is None
    assert status["lagSeconds"] is None
    assert status["feeds"] == []
    assert status["recentRuns"]["nodes"] == []


async def test_status_reports_worker_feeds_and_runs(empty_api: Api, fresh_db: Database) -> None:
    now = datetime.now(UTC)
    async with fresh_db.unit_of_work() as session:
        await sync_runs.heartbeat(
            session,
            worker_id="w1",
            role="ACTIVE",
            state="SYNCING",
            source="http://sim",
            requests_in_window=7,
            poll_interval_seconds=60,
        )
        await sync_state.ensure_feeds(
            session, [sync_state.FeedRef(SyncFeedKind.GROUP, 42, "Employee Engagement")]
        )
        feed = (await sync_state.list_feeds(session))[0]
        await sync_state.advance_feed(session, feed.id, newest_seen_id=10, items=20, at=now)
        run_id = await sync_runs.start_run(session, "SCHEDULE", now - timedelta(seconds=30))
        await sync_runs.count_run(session, run_id, requests=5, posts=20)
        await sync_runs.finish_run(session, run_id, "SUCCEEDED", None, now - timedelta(seconds=20))
    status = (await empty_api.data(SYNC, operation_name="SyncStatus"))["syncStatus"]
    assert (status["state"], status["source"], status["requestsInLastWindow"]) == (
        "SYNCING",
        "http://sim",
        7,
    )
    assert status["lagSeconds"] >= 20
    assert status["feeds"] == [
        {
            "kind": "GROUP",
            "name": "Employee Engagement",
            "lastRunAt": status["feeds"][0]["lastRunAt"],
            "lastError": None,
            "itemsMirrored": 20,
            "backfillComplete": False,
        }
    ]
    [run] = status["recentRuns"]["nodes"]
    assert (run["status"], run["requests"], run["postsUpserted"], run["error"]) == (
        "SUCCEEDED",
        5,
        20,
        None,
    )


async def test_requests_in_last_window_counts_every_process_on_the_token(
    empty_api: Api, fresh_db: Database
) -> None:
    def process_budget(token: str) -> RateBudget:
        # What each process using the token holds: its own budget, drawing from the shared one.
        budget = RateBudget(requests=10, window=30.0)
        budget.share(PostgresBudget(fresh_db, token))
        return budget

    workers, once, elsewhere = (process_budget(t) for t in ("token", "token", "another token"))
    for budget, buckets in (
        (workers, [MESSAGES, MESSAGES]),
        (once, [MESSAGES, OTHER, OTHER]),  # `campaign sync --once` while the worker polls
        (elsewhere, [OTHER]),  # another token's budget is not this one's
    ):
        for bucket in buckets:
            await budget.release(await budget.acquire(bucket))
    worker = Worker(fresh_db, SimpleNamespace(budget=workers), WorkerConfig(source="sim"))
    await worker._beat("ACTIVE", "SYNCING")  # its heartbeat reports the token's count
    status = (await empty_api.data(SYNC, operation_name="SyncStatus"))["syncStatus"]
    assert (status["state"], status["requestsInLastWindow"]) == ("SYNCING", 5)


async def test_request_sync_queues_one_run(empty_api: Api) -> None:
    first = await empty_api.data(
        SYNC, {"input": {"feeds": ["GROUP"]}}, operation_name="RequestSync"
    )
    assert first["requestSync"] == {"accepted": True, "userErrors": []}
    # A second request while one waits is folded into it rather than piling up.
    second = await empty_api.data(SYNC, {"input": {}}, operation_name="RequestSync")
    assert second["requestSync"]["accepted"] is False
    runs = (await empty_api.data(SYNC, operation_name="SyncStatus"))["syncStatus"]["recentRuns"][
        "nodes"
    ]
    assert [r["status"] for r in runs] == ["QUEUED"]


async def test_sync_control_is_for_admins(empty_api: Api) -> None:
    for role in (Role.MANAGER, Role.MEMBER, Role.LMS):
        body = await empty_api.post(SYNC, operation_name="SyncStatus", role=role)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        body = await empty_api.post(SYNC, {"input": {}}, operation_name="RequestSync", role=role)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_status_reports_how_fresh_the_threads_are(api: Api, demo_db: Database) -> None:
    before = (await api.data(FRESHNESS))["syncStatus"]["freshness"]
    assert before == {"stalestThreadAgeSeconds": None, "overdueThreads": 0}  # none enrolled yet
    now = datetime.now(UTC)
    async with demo_db.unit_of_work() as session:
        await freshness.enroll(session, now, FreshnessPolicy())
        await session.execute(
            sa.text("UPDATE sync_thread SET refreshed_at = :now, due_at = :later"),
            {"now": now, "later": now + timedelta(hours=1)},
        )
        # One thread read three days ago; two due an hour ago (past the grace of two polls).
        await session.execute(
            sa.text(
                "UPDATE sync_thread SET refreshed_at = :then WHERE thread_id ="
                " (SELECT min(thread_id) FROM sync_thread)"
            ),
            {"then": now - timedelta(days=3)},
        )
        await session.execute(
            sa.text(
                "UPDATE sync_thread SET due_at = :due WHERE thread_id IN"
                " (SELECT thread_id FROM sync_thread ORDER BY thread_id DESC LIMIT 2)"
            ),
            {"due": now - timedelta(hours=1)},
        )
    after = (await api.data(FRESHNESS))["syncStatus"]["freshness"]
    assert 3 * 86400 <= after["stalestThreadAgeSeconds"] < 3 * 86400 + 600
    assert after["overdueThreads"] == 2
