"""``syncStatus``: is the mirror current, and what is it doing (admins only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import strawberry

from api.db.pagination import Direction, Page
from api.db.repositories import freshness, sync_runs, sync_state
from schema.context import Info
from schema.pagination import Connection, root_connection
from schema.permissions import SYNC_STATE
from schema.types.sync import SyncFeed, SyncRun, SyncState, ThreadFreshness

# The active worker reports every 10 s (api.sync.scheduler); silent for a minute, it is gone.
OFFLINE_AFTER = timedelta(seconds=60)
# A thread due is read by the next pass or the one after: overdue only past that.
OVERDUE_AFTER_POLLS = 2
DEFAULT_POLL_SECONDS = 60


@strawberry.type
class SyncStatus:
    state: SyncState
    source: str | None = strawberry.field(description="The microblog mirrored (or the simulator).")
    last_success_at: datetime | None
    lag_seconds: int | None = strawberry.field(description="Seconds since the last good run.")
    requests_in_last_window: int = strawberry.field(
        description="Requests made to the microblog with the active worker's token in its rate "
        "window, by every process using that token (as of the worker's last report)."
    )
    feeds: list[SyncFeed]
    freshness: ThreadFreshness

    @strawberry.field(description="Runs and queued requests, newest first.")
    async def recent_runs(
        self, info: Info, first: int | None = 10, after: str | None = None
    ) -> Connection[SyncRun]:
        page = Page.build(first, after, direction=Direction.DESC, value_type=int)
        return await root_connection(
            info.context.reads,
            lambda session: sync_runs.page_runs(session, page),
            sync_runs.count_runs,
            SyncRun.from_row,
        )


@strawberry.type
class SyncQueries:
    @strawberry.field(permission_classes=[SYNC_STATE])
    async def sync_status(self, info: Info) -> SyncStatus:
        async with info.context.reads.reading() as session:
            worker = await sync_runs.active_worker(session)
            feeds = await sync_state.list_feeds(session)
            last = await sync_runs.last_success(session)
            now = datetime.now(UTC)
            poll = worker.poll_interval_seconds if worker is not None else DEFAULT_POLL_SECONDS
            threads = await freshness.freshness(
                session, now, timedelta(seconds=OVERDUE_AFTER_POLLS * poll)
            )
        alive = worker is not None and worker.age <= OFFLINE_AFTER
        oldest = threads.oldest_refreshed_at
        return SyncStatus(
            state=SyncState(worker.state) if alive else SyncState.OFFLINE,
            source=worker.source if worker is not None else None,
            last_success_at=last,
            lag_seconds=int((now - last).total_seconds()) if last else None,
            requests_in_last_window=worker.requests_in_window if alive else 0,
            feeds=[SyncFeed.from_row(f) for f in feeds],
            freshness=ThreadFreshness(
                stalest_thread_age_seconds=(
                    max(int((now - oldest).total_seconds()), 0) if oldest else None
                ),
                overdue_threads=threads.overdue,
            ),
        )
