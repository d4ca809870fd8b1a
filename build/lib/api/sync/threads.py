"""Thread walks: whole threads re-read, held replies' threads settled, every live thread
refreshed on the freshness policy's schedule (``api.domain.freshness``).

A thread is the unit the microblog can answer for in full (``messages/in_thread``), so it is
where deletions are inferred: only from a walk that reached the thread's end, and a whole
thread only when its starter itself answers 404. A walk that reached the end also sets the
starter's reply count to the replies it read, so the two always agree.
"""

from __future__ import annotations

import logging
from datetime import datetime

from api.db.repositories import freshness, mirror, sync_state
from api.sync.errors import AuthFailed, Forbidden, IncompleteWalk, MicroblogError, NotFound
from api.sync.freshness import counted_as_read
from api.sync.pages import PageMirror
from api.sync.paging import FEED_PAGE_SIZE
from api.sync.payloads import ThreadStats

log = logging.getLogger(__name__)
MAX_DUE_PER_PASS = 10_000  # without a budget, a bound on one pass's list of due threads


class ThreadWalks(PageMirror):
    """``Mirror``'s thread walking, on the page unit of work."""

    async def settle_held(self) -> None:
        """Walk the threads of replies still waiting for their starter, then threads owed a
        walk from before: at most ``settle_threads`` per call, each at most once a pass.

        Every held reply's thread is recorded as owed with the page that brought it, so the
        replies can leave memory: the threads not walked now are walked by a later call or
        pass (and counted as deferred meanwhile), never silently dropped.
        """
        async with self.db.reading() as session:
            owed = await sync_state.owed_thread_walks(
                session, self.settle_threads + len(self.settled)
            )
        held = sorted({m.thread_id for m in self.held.values()}, reverse=True)
        due = [t for t in dict.fromkeys([*held, *owed]) if t not in self.settled]
        for thread_id in due[: self.settle_threads]:
            if self.should_stop():
                break
            self.settled.add(thread_id)
            await self.walk_thread(thread_id)
        self.held.clear()
        self.owed_here.clear()
        async with self.db.reading() as session:
            self.stats.deferred_threads = await sync_state.count_owed_thread_walks(session)
        if self.stats.deferred_threads:
            log.info("%d threads are owed a walk by a later pass", self.stats.deferred_threads)

    async def walk_thread(self, thread_id: int) -> None:
        """Mirror a whole thread; posts of ours it no longer has are marked deleted.

        Only a walk that reached the thread's end says what it no longer has, and only the
        starter's own 404 says the thread is gone; anything else is an error, concluding
        nothing. A thread owed a walk stays owed until one succeeds. A thread already read
        to its end this pass is not asked for again.
        """
        if thread_id in self.walked:
            return
        try:
            read = await self._read_thread(thread_id)
        except AuthFailed:
            raise  # a refused token fails the whole pass, not one feed
        except MicroblogError as exc:
            await self._thread_failed(thread_id, exc, inaccessible=isinstance(exc, Forbidden))
            return
        if read is None:
            return  # stopped part-way
        seen, stats = read
        self.stats.threads_walked += 1
        self.walked.add(thread_id)
        now = self.clock()
        async with self.db.unit_of_work() as session:
            gone = await mirror.thread_external_ids(session, thread_id) - seen
            deleted = await mirror.mark_deleted(session, sorted(gone), now)
            await sync_state.thread_walks_done(session, [thread_id])
            if seen:
                await freshness.walked(
                    session, thread_id, now, self.freshness,
                    updates=stats.updates, latest_reply_id=stats.latest_reply_id,
                )  # fmt: skip
            else:
                await freshness.forget(session, [thread_id])
        self.stats.deleted += len(deleted)
        # Read alive again later this pass, they must be written again (and so live again).
        for external_id in gone:
            self.written.pop(("post", external_id), None)

    async def _read_thread(self, thread_id: int) -> tuple[set[int], ThreadStats] | None:
        """The ids of a thread's messages, read to its end (empty: the thread is gone), and
        its reference's stats as the microblog gave them; None when stopped part-way."""
        seen: set[int] = set()
        stats = ThreadStats()
        try:
            walk = self.client.iter_feed("in_thread", thread_id)
            async for page in walk:
                self.stats.thread_requests += 1
                ref = page.threads().get(thread_id)
                stats = ref.stats if ref is not None else stats
                if walk.reached_end:  # the last page, with the starter: count what was read
                    ids = {m.id for m in page.all_messages()}
                    page = counted_as_read(page, thread_id, len(seen | ids))
                seen |= await self._commit_page(page)
                if self.should_stop() and not walk.reached_end:
                    return None
        except NotFound as exc:
            # A 404 means deleted *or* no access (spec §10.1), and a stray one must not
            # tombstone a whole thread: the starter's own 404 (one more request) confirms it.
            self.stats.thread_requests += 1
            try:
                await self.client.message(thread_id)
            except NotFound:
                self.held = {i: m for i, m in self.held.items() if m.thread_id != thread_id}
                self.owed_here.discard(thread_id)
                return set(), stats
            raise MicroblogError(
                "the thread answered 404 but its starter is there", path=exc.path, status=404
            ) from exc
        if not walk.reached_end:
            raise IncompleteWalk(f"thread paging stopped early ({walk.stop_reason})")
        return seen, stats

    async def _thread_failed(
        self, thread_id: int, exc: Exception, *, inaccessible: bool = False
    ) -> None:
        self.stats.errors += 1
        log.warning("thread %s not refreshed: %s", thread_id, exc)
        error = f"{type(exc).__name__}: {exc}"
        async with self.db.unit_of_work() as session:
            await sync_state.thread_walk_failed(
                session, thread_id, error, self.clock(), inaccessible=inaccessible
            )
            await freshness.walk_failed(session, thread_id, error, self.clock(), self.freshness)
            await self._count(session, errors=1)

    async def refresh_threads(self, since: datetime, allowance: int | None) -> None:
        """Re-read the threads the freshness policy wants read by ``since`` (the pass's
        start), most urgent first, within ``allowance`` requests (None: no limit).

        Threads owed a walk go first (a run asked only for threads has no feed to settle).
        The allowance is spent in order, at a thread's most: a thread that may not fit ends
        the refresh, so the stalest are never passed over for smaller ones; one larger than a
        whole allowance gets a pass of its own.
        """
        await self.settle_held()
        if self.should_stop():
            return
        async with self.db.unit_of_work() as session:
            await freshness.enroll(session, since, self.freshness)
            await freshness.reschedule(session, since, self.freshness)
        async with self.db.reading() as session:
            due = await freshness.due_threads(
                session, since, allowance if allowance is not None else MAX_DUE_PER_PASS
            )
        spent = 0
        for thread in due:
            if self.should_stop():
                return
            if thread.thread_id in self.settled:
                continue  # walked (or tried) already this pass
            # Its pages, and one more in case it answers 404 and its starter is checked.
            cost = thread.messages // FEED_PAGE_SIZE + 2
            if allowance is not None and spent + cost > allowance and spent > 0:
                log.info("%d requests spent on threads; the rest wait for a later pass", spent)
                return
            before = self.stats.thread_requests
            self.settled.add(thread.thread_id)
            await self.walk_thread(thread.thread_id)
            spent += self.stats.thread_requests - before
