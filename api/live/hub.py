"""The fan-out: one LISTEN connection per process, its events routed to this process's
subscribers by campaign.

A notification carries a change-log row's id (``api/db/repositories/activity.py``). One task
reads the rows it is told about (batched: whatever arrived meanwhile is read together), turns
them into the events of the campaigns this process has subscribers for, in one statement per
kind, and hands each subscriber its campaign's batch without waiting for it: every subscriber
has a bounded queue, and one whose queue is full is dropped (its WebSocket closed with 1013,
"try again later") rather than let it hold up the others or grow without bound.

After the LISTEN connection comes back, the rows logged since the last one read are read, so
a subscriber misses nothing of a short cut.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

from api import metrics
from api.db.listener import Listener
from api.db.repositories import activity
from api.db.session import Database
from api.domain.activity import ActivityEvent

log = logging.getLogger(__name__)

# graphql-ws retries a connection closed with 1013 ("try again later"), as a slow client should.
TOO_SLOW = 1013
_CATCH_UP = -1
KEEP_CHANGES = timedelta(days=1)
PRUNE_EVERY = 3600.0


class Subscriber:
    def __init__(self, campaign_id: int, connection: Any, queue_size: int) -> None:
        self.campaign_id = campaign_id
        self.connection = connection
        self.queue: asyncio.Queue[list[ActivityEvent]] = asyncio.Queue(maxsize=queue_size)
        self.dropped = False

    async def batches(self) -> AsyncIterator[list[ActivityEvent]]:
        # A dropped subscriber's stream just ends: its socket is being closed (1013), which
        # is what the client is told; what was queued is not sent.
        while not self.dropped:
            batch = await self.queue.get()
            if not self.dropped:
                yield batch


class ActivityHub:
    def __init__(self, db: Database, listen_url: str | None, *, queue_size: int = 100) -> None:
        self.db = db
        self.queue_size = queue_size
        self.subscribers: dict[int, set[Subscriber]] = defaultdict(set)
        self.listener = (
            Listener(listen_url, activity.CHANNEL, self._notified, self._connected)
            if listen_url
            else None
        )
        self._pending: asyncio.Queue[int] = asyncio.Queue()
        self._last_id: int | None = None  # the newest change read; None until connected
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- the schema's side (schema.subscriptions.ActivityFeed) ----------------------------
    @asynccontextmanager
    async def subscribe(
        self, campaign_id: int, connection: Any
    ) -> AsyncIterator[AsyncIterator[list[ActivityEvent]]]:
        subscriber = Subscriber(campaign_id, connection, self.queue_size)
        self.subscribers[campaign_id].add(subscriber)
        metrics.SUBSCRIBERS.inc()
        try:
            yield subscriber.batches()
        finally:
            self._forget(subscriber)

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self.subscribers.values())

    # -- lifespan -------------------------------------------------------------------------
    async def start(self) -> None:
        if self.listener is None:
            log.warning("live activity is off: no database URL to LISTEN on")
            return
        # The database may be away at start: the listener keeps trying.
        self._spawn(self._read_changes(), "activity reader")
        self._spawn(self._prune(), "activity pruning")
        self.listener.start()

    async def stop(self) -> None:
        if self.listener is not None:
            await self.listener.stop()
        for task in list(self._tasks):
            task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await task

    def _spawn(self, coroutine: Any, name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the listener's side ------------------------------------------------------------
    def _notified(self, payload: str) -> None:
        if payload.isdigit():
            self._pending.put_nowait(int(payload))
        else:
            log.warning("ignored a notification that is not a change id: %.80r", payload)

    async def _connected(self) -> None:
        self._pending.put_nowait(_CATCH_UP)

    async def _read_changes(self) -> None:
        while True:
            ids = {await self._pending.get()}
            while not self._pending.empty():
                ids.add(self._pending.get_nowait())
            try:
                await self._deliver(ids)
            except Exception:  # the database is away: read what was missed once it is back
                log.exception("live activity: changes %s not read; catching up", sorted(ids))
                await asyncio.sleep(1.0)
                self._pending.put_nowait(_CATCH_UP)

    async def _deliver(self, ids: set[int]) -> None:
        catch_up = _CATCH_UP in ids
        ids.discard(_CATCH_UP)
        campaigns = [c for c, subscribers in self.subscribers.items() if subscribers]
        if not campaigns:
            # Nobody to tell, and no statement: remember how far the log goes when known; after
            # a reconnection it is not, and read only once someone subscribes.
            if catch_up or self._last_id is None:
                self._last_id = None
            else:
                self._last_id = max([self._last_id, *ids])
            return
        # The primary, never a replica: the NOTIFY came from the primary's commit, which a
        # replica may not have replayed yet.
        async with self.db.primary_reading() as session:
            if self._last_id is None:  # nothing to catch up with: where the log is now
                self._last_id = max([await activity.last_id(session), *ids])
                catch_up = False
            rows = await activity.changes(session, ids) if ids else []
            if catch_up:
                rows += await activity.changes_after(session, self._last_id)
            unique = {row.id: row for row in rows}
            rows = [unique[i] for i in sorted(unique)]
            events = await activity.events(session, rows, campaigns)
        if rows:
            self._last_id = max(self._last_id, rows[-1].id)
        by_campaign: dict[int, list[ActivityEvent]] = defaultdict(list)
        for event in events:
            by_campaign[event.campaign_id].append(event)
        for campaign_id, batch in by_campaign.items():
            for subscriber in list(self.subscribers.get(campaign_id, ())):
                self._offer(subscriber, batch)

    def _offer(self, subscriber: Subscriber, batch: list[ActivityEvent]) -> None:
        try:
            subscriber.queue.put_nowait(batch)
        except asyncio.QueueFull:
            self._drop(subscriber)

    def _drop(self, subscriber: Subscriber) -> None:
        subscriber.dropped = True
        self._forget(subscriber)
        log.info(
            "dropped a subscriber to campaign %s: %d changes waiting",
            subscriber.campaign_id,
            subscriber.queue.qsize(),
        )
        close = getattr(subscriber.connection, "close", None)
        if close is not None:
            # Its own task: closing a connection whose client reads nothing may wait.
            reason = f"Too slow: more than {self.queue_size} changes were waiting."
            self._spawn(_close(close, reason), "drop a slow subscriber")

    def _forget(self, subscriber: Subscriber) -> None:
        subscribers = self.subscribers.get(subscriber.campaign_id)
        if subscribers is not None and subscriber in subscribers:
            subscribers.discard(subscriber)
            metrics.SUBSCRIBERS.dec()
            if not subscribers:
                del self.subscribers[subscriber.campaign_id]

    async def _prune(self) -> None:
        while True:
            # Not at start (a process's first requests owe it nothing), and spread out so that
            # replicas do not all prune at once.
            await asyncio.sleep(PRUNE_EVERY * (0.5 + random.random()))
            try:
                async with self.db.unit_of_work() as session:
                    await activity.prune(session, datetime.now(UTC) - KEEP_CHANGES)
            except Exception:
                log.exception("live activity: the change log was not pruned")


async def _close(close: Any, reason: str) -> None:
    with suppress(Exception):  # already gone
        await close(code=TOO_SLOW, reason=reason)
