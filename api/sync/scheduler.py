"""The worker loop: one active poller among replicas, a pass per poll interval, clean stops.

Replicas share one microblog token, and the microblog's rate limit is per token, so exactly
one of them polls: the one holding a Postgres session-level advisory lock on a dedicated
connection.  The others stand by and try for the lock every few seconds; when the active
worker dies its connection closes, the lock goes with it, and a stand-by takes over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from api.db.repositories import mirror, run_bookkeeping, signals, sync_marks, sync_runs, sync_state
from api.db.session import Database
from api.domain.enums import SyncFeedKind
from api.domain.freshness import FreshnessPolicy
from api.sync.errors import AuthFailed, Interrupted, MicroblogError
from api.sync.jobs import Mirror, PassStats

log = logging.getLogger(__name__)
DIRECTORY = "directory"  # the sync_mark of the last complete directory read
TOPIC_SEARCH = "topic-search:"  # + hashtag: the last search for a topic not yet identified
HEARTBEAT_SECONDS = 10.0
# Silent for this many heartbeats, a worker is taken for dead and its running pass abandoned.
DEAD_AFTER_HEARTBEATS = 3


@dataclass
class WorkerConfig:
    poll_interval: float = 60.0  # the microblog asks for at most one poll a minute
    standby_interval: float = 5.0
    lock_check_interval: float = 5.0  # how often the active worker checks it still holds the lock
    horizon: timedelta = timedelta(days=90)
    directory_every: timedelta = timedelta(hours=6)
    # When threads are read again, and the share of the budget their walks may take.
    freshness: FreshnessPolicy = field(default_factory=FreshnessPolicy)
    source: str = "microblog"
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    dead_after: timedelta = timedelta(seconds=HEARTBEAT_SECONDS * DEAD_AFTER_HEARTBEATS)


@dataclass
class PassSummary:
    run_id: int
    status: str
    stats: PassStats
    error: str | None = None

    def __str__(self) -> str:
        s = self.stats
        failed = f", failed feeds: {', '.join(s.failed_feeds)}" if s.failed_feeds else ""
        # Threads owed a walk wait in sync_feed for a later pass: nothing lost, but say so.
        deferred = f", {s.deferred_threads} threads left for later" if s.deferred_threads else ""
        return (
            f"run {self.run_id} {self.status}: {s.pages} pages, {s.posts} posts, "
            f"{s.threads_walked} threads, {s.deleted} deleted, {s.errors} errors{failed}"
            + deferred
            + (f" ({self.error})" if self.error else "")
        )


class Worker:
    def __init__(
        self,
        db: Database,
        client: Any,
        config: WorkerConfig | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.client = client
        self.config = config or WorkerConfig()
        self.clock = clock
        self.stop = asyncio.Event()
        # Set when the polling lock's connection is lost while polling: another replica may
        # already hold the lock, so this one ends its pass and stands by again.
        self._lock_lost = asyncio.Event()
        # Rate-budget and back-off waits end early on either, instead of being sat out.
        client.budget.interrupt_when(self._halting)
        self._role, self._state = "STANDBY", "IDLE"

    # -- one pass -----------------------------------------------------------------------------
    async def run_once(self, *, trigger: str = "CLI", kinds: tuple[str, ...] = ()) -> PassSummary:
        # Alive first, so that no other worker takes this one's new run for a dead one's.
        await self._beat("ACTIVE", "SYNCING")
        self.client.take_stats()  # requests made outside any pass are no run's
        async with self.db.unit_of_work() as session:
            await self._close_dead_runs(session)
            run_id = await sync_runs.start_run(
                session, trigger, self.clock(), self.config.worker_id
            )
            kinds = kinds or tuple(await sync_runs.requested_kinds(session, run_id))
        job = Mirror(
            self.db, self.client, run_id, self.clock, self.config.horizon,
            should_stop=self._halting, freshness=self.config.freshness,
        )  # fmt: skip
        status, error = "SUCCEEDED", None
        try:
            await self._pass(job, set(kinds))
            if job.stats.errors:
                status = "PARTIAL"
            if self._halting():
                status, error = "PARTIAL", self._halt_reason()
        except Interrupted:
            status, error = "PARTIAL", self._halt_reason()
        except AuthFailed as exc:
            status, error = "FAILED", f"the microblog refused the token: {exc}"
        except MicroblogError as exc:
            status, error = "FAILED", f"{type(exc).__name__}: {exc}"
        except Exception as exc:
            log.exception("sync pass failed")
            status, error = "FAILED", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            async with self.db.unit_of_work() as session:
                await sync_runs.finish_run(
                    session, run_id, status, error, self.clock(),
                    requests=self.client.take_stats().requests, errors=job.stats.errors,
                )  # fmt: skip
            await self._beat("ACTIVE", "IDLE")
        summary = PassSummary(run_id, status, job.stats, error)
        log.info("%s", summary)
        return summary

    async def _pass(self, job: Mirror, kinds: set[str]) -> None:
        now = self.clock()
        # On its interval from the last complete read, whichever process made it: not on
        # every start (a 10,000-person directory is some 200 requests).
        followers_read: set[int] = set()
        if not kinds and await self._due([DIRECTORY], now):
            try:
                followers_read = await job.sync_directory()
                async with self.db.unit_of_work() as session:
                    await sync_marks.mark_done(session, [DIRECTORY], now)
            except AuthFailed:
                raise
            except MicroblogError as exc:
                # The feeds can still be mirrored; the directory is tried again next pass.
                job.stats.errors += 1
                log.warning("directory not mirrored: %s", exc)
        # Groups first: their pages teach us the microblog's ids of the campaign topics.
        for order in (SyncFeedKind.GROUP, SyncFeedKind.TOPIC, SyncFeedKind.USER):
            if kinds and order.name not in kinds:
                continue
            if order is SyncFeedKind.TOPIC:
                await self._discover_topics(job, now)  # the ones no group page identified
            async with self.db.unit_of_work() as session:
                await sync_state.ensure_feeds(session, await sync_state.campaign_feeds(session))
                feeds = await sync_state.list_feeds(session, [order])
            for feed in feeds:
                if self._halting():
                    return
                if feed.inaccessible:
                    continue  # a private group we cannot read: recorded, not retried forever
                await job.sync_feed(feed)
                await self._beat("ACTIVE", "SYNCING")
        if not kinds or "THREAD" in kinds:
            # After the feeds: new posts first, then old threads within the budget's share.
            policy = self.config.freshness
            await job.refresh_threads(now, policy.requests_per_pass(self.config.poll_interval))
        if not kinds or "USER" in kinds:
            await job.sync_followers(already_read=followers_read)

    async def _close_dead_runs(self, session: Any) -> None:
        """Runs left RUNNING by dead workers (or by this one before a restart) are closed as
        ABANDONED, and silent workers shown LOST: nobody else would ever finish them."""
        me, silent = self.config.worker_id, self.config.dead_after
        abandoned = await run_bookkeeping.abandon_dead_runs(session, me, silent, self.clock())
        lost = await run_bookkeeping.mark_lost_workers(session, me, silent)
        if abandoned or lost:
            log.info("closed %d abandoned runs and %d lost workers", len(abandoned), lost)

    def _halting(self) -> bool:
        return self.stop.is_set() or self._lock_lost.is_set()

    def _halt_reason(self) -> str:
        if self._lock_lost.is_set():
            return "lost the polling lock before the pass was complete"
        return "stopped before the pass was complete"

    async def _discover_topics(self, job: Mirror, now: datetime) -> None:
        """Search for campaign topics whose microblog id is still unknown, each at most once
        per directory interval (a hashtag nobody has used yet has no topic to find)."""
        async with self.db.reading() as session:
            unknown = await mirror.topics_without_id(session)
        due = await self._due([TOPIC_SEARCH + t for t in unknown], now)
        if due:
            # Marked before searching: a search that fails is not retried every poll either.
            async with self.db.unit_of_work() as session:
                await sync_marks.mark_done(session, due, now)
            await job.discover_topics([name.removeprefix(TOPIC_SEARCH) for name in due])

    async def _due(self, names: list[str], now: datetime) -> list[str]:
        """Those of ``names`` (sync marks) not done within the directory interval."""
        async with self.db.reading() as session:
            last = await sync_marks.last_done(session, names)
        every = self.config.directory_every
        return [n for n in names if n not in last or now - last[n] >= every]

    async def _beat(self, role: str, state: str) -> None:
        self._role, self._state = role, state
        budget = getattr(self.client, "budget", None)
        # The token's count, every process's (the shared budget's), not only this one's.
        in_window = await budget.requests_in_window() if budget else 0
        async with self.db.unit_of_work() as session:
            await sync_runs.heartbeat(
                session,
                worker_id=self.config.worker_id,
                role=role,
                state=state,
                source=self.config.source,
                requests_in_window=in_window,
                poll_interval_seconds=int(self.config.poll_interval),
            )

    async def run_exclusive(
        self, *, trigger: str = "CLI", kinds: tuple[str, ...] = (), wait: float = 300.0
    ) -> PassSummary:
        """One pass under the polling lock (``campaign sync --once``), so that it never
        polls at the same time as a running worker; waits up to ``wait`` seconds for it."""
        async with self.db.engine.connect() as conn:
            deadline = asyncio.get_running_loop().time() + wait
            while not await self._try_lock(conn):
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError("another worker holds the polling lock")
                await self._sleep(self.config.standby_interval)
            # A pass can wait minutes on the rate budget: keep reporting, or it looks dead.
            beating = asyncio.create_task(self._keep_beating())
            try:
                return await self.run_once(trigger=trigger, kinds=kinds)
            finally:
                beating.cancel()
                await self._unlock(conn)
                with contextlib.suppress(Exception):
                    await self._beat("STOPPED", "IDLE")

    @staticmethod
    async def _try_lock(conn: Any) -> bool:
        return await signals.try_polling_lock(conn)

    @staticmethod
    async def _unlock(conn: Any) -> None:
        with contextlib.suppress(Exception):  # a lost connection has released it already
            await signals.release_polling_lock(conn)

    # -- forever ------------------------------------------------------------------------------
    async def run_forever(self) -> None:
        """Poll while holding the lock; stand by otherwise; return once ``stop`` is set."""
        while not self.stop.is_set():
            try:
                await self._hold_lock_and_poll()
            except (OSError, MicroblogError) as exc:
                log.warning("worker interrupted (%s); retrying", exc)
            except Exception:  # a lost connection surfaces as a SQLAlchemy error
                log.exception("worker loop failed; retrying")
            await self._sleep(self.config.standby_interval)
        with contextlib.suppress(Exception):
            await self._beat("STOPPED", "IDLE")

    async def _hold_lock_and_poll(self) -> None:
        async with self.db.engine.connect() as conn:
            while not self.stop.is_set():
                if await self._try_lock(conn):
                    break
                await self._beat("STANDBY", "IDLE")
                await self._sleep(self.config.standby_interval)
            if self.stop.is_set():
                return
            log.info("worker %s is the active poller", self.config.worker_id)
            self._lock_lost.clear()
            # A pass can wait minutes on the rate budget; keep reporting while it does.
            beating = asyncio.create_task(self._keep_beating())
            guarding = asyncio.create_task(self._guard_lock(conn))
            try:
                while not self._halting():
                    await self.run_once(trigger="SCHEDULE")
                    await self._wait_for_next_pass()
            finally:
                beating.cancel()
                guarding.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await guarding
                await self._unlock(conn)
            if self._lock_lost.is_set():
                log.warning("worker %s lost the polling lock; standing by", self.config.worker_id)

    async def _guard_lock(self, conn: Any) -> None:
        """Check the lock's connection while polling. If it dies (a restarted database, a
        terminated backend, a network cut) the server has released the lock, and a stand-by
        may take it: stop polling at the next page rather than poll alongside it."""
        while True:
            await asyncio.sleep(self.config.lock_check_interval)
            try:
                held = await signals.holds_polling_lock(conn)
            except Exception as exc:  # the connection itself is gone
                log.warning("polling lock connection lost: %s", exc)
                held = False
            if not held:
                self._lock_lost.set()
                return

    async def _keep_beating(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            with contextlib.suppress(Exception):  # a missed beat is not worth a failed pass
                await self._beat(self._role, self._state)

    async def _wait_for_next_pass(self) -> None:
        """Sleep a poll interval, waking early for a requested run, a stop or a lost lock."""
        deadline = asyncio.get_running_loop().time() + self.config.poll_interval
        while not self._halting():
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return
            await self._sleep(min(left, 2.0))
            async with self.db.reading() as session:
                if await sync_runs.has_queued(session):
                    return

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)
