"""Thread walks: whole threads re-read, held replies' threads settled, recent threads refreshed.

A thread is the unit the microblog can answer for in full (``messages/in_thread``), so it is
where deletions are inferred: only from a walk that reached the thread's end, and a whole
thread only when its starter itself answers 404.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from api.db.repositories import mirror, sync_state
from api.sync.errors import AuthFailed, Forbidden, IncompleteWalk, MicroblogError, NotFound
from api.sync.pages import PageMirror

log = logging.getLogger(__name__)


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
            seen = await self._read_thread(thread_id)
        except AuthFailed:
            raise  # a refused token fails the whole pass, not one feed
        except MicroblogError as exc:
            await self._thread_failed(thread_id, exc, inaccessible=isinstance(exc, Forbidden))
            return
        if seen is None:
            return  # stopped part-way
        self.stats.threads_walked += 1
        self.walked.add(thread_id)
        async with self.db.unit_of_work() as session:
            gone = await mirror.thread_external_ids(session, thread_id) - seen
            deleted = await mirror.mark_deleted(session, sorted(gone), self.clock())
            await sync_state.thread_walks_done(session, [thread_id])
        self.stats.deleted += len(deleted)
        # Read alive again later this pass, they must be written again (and so live again).
        for external_id in gone:
            self.written.pop(("post", external_id), None)

    async def _read_thread(self, thread_id: int) -> set[int] | None:
        """The ids of a thread's messages, read to its end (empty: the thread is gone), or
        None when stopped part-way."""
        seen: set[int] = set()
        try:
            walk = self.client.iter_feed("in_thread", thread_id)
            async for page in walk:
                seen |= await self._commit_page(page)
                if self.should_stop() and not walk.reached_end:
                    return None
        except NotFound as exc:
            # A 404 means deleted *or* no access (spec §10.1), and a stray one must not
            # tombstone a whole thread: the starter's own 404 (one more request) confirms it.
            try:
                await self.client.message(thread_id)
            except NotFound:
                self.held = {i: m for i, m in self.held.items() if m.thread_id != thread_id}
                self.owed_here.discard(thread_id)
                return set()
            raise MicroblogError(
                "the thread answered 404 but its starter is there", path=exc.path, status=404
            ) from exc
        if not walk.reached_end:
            raise IncompleteWalk(f"thread paging stopped early ({walk.stop_reason})")
        return seen

    async def _thread_failed(
        self, thread_id: int, exc: Exception, *, inaccessible: bool = False
    ) -> None:
        self.stats.errors += 1
        log.warning("thread %s not refreshed: %s", thread_id, exc)
        async with self.db.unit_of_work() as session:
            await sync_state.thread_walk_failed(
                session,
                thread_id,
                f"{type(exc).__name__}: {exc}",
                self.clock(),
                inaccessible=inaccessible,
            )
            await self._count(session, errors=1)

    async def refresh_recent(self, days: int, limit: int) -> None:
        """Re-read the most recent threads: new likes and replies, edits and deletions.

        Threads owed a walk go first (a run asked only for threads has no feed to settle).
        """
        await self.settle_held()
        if self.should_stop():
            return
        async with self.db.reading() as session:
            recent = await mirror.recent_posts(
                session, self.clock() - timedelta(days=days), limit * 5
            )
        threads = list(dict.fromkeys(thread for _, thread in recent))[:limit]
        for thread_id in threads:
            if self.should_stop():
                return
            await self.walk_thread(thread_id)
