"""What the worker mirrors, one unit of work per page.

Each page's rows, the feed's cursor and the run's counters commit together, so a crash at
any point resumes from the last committed page: pages are re-read, never lost, and upserts
make re-reading harmless.  Change notifications are sent inside the same transaction
(``pg_notify`` is delivered at commit, and only if it commits).

Nothing is concluded from a walk that did not reach its end (``FeedWalk.reached_end``): a
backfill is complete, a newest cursor moves past what was read, and a message missing from a
thread counts as deleted, only after a walk that saw everything it asked for.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.db.enums import SyncFeedKind
from api.db.repositories import ingest, mirror, sync_state
from api.db.session import Database
from api.sync import mapping
from api.sync.errors import AuthFailed, Forbidden, MicroblogError, NotFound
from api.sync.payloads import FeedPage, Message

log = logging.getLogger(__name__)
CHANNEL = "campaign_activity"
FEED_ENDPOINTS = {
    SyncFeedKind.GROUP: "in_group",
    SyncFeedKind.TOPIC: "about_topic",
    SyncFeedKind.USER: "from_user",
    SyncFeedKind.THREAD: "in_thread",
}


@dataclass
class PassStats:
    pages: int = 0
    posts: int = 0
    errors: int = 0
    failed_feeds: list[str] = field(default_factory=list)
    threads_walked: int = 0
    deleted: int = 0
    # Threads owed a walk (replies waiting for their starter) left for a later pass: recorded
    # in sync_feed, so deferred rather than lost.
    deferred_threads: int = 0


class IncompleteWalk(MicroblogError):
    """Paging stopped before the end (the server ignored the cursor, a page bound): what was
    read is kept, but nothing may be concluded from what was not read."""


@dataclass
class Mirror:
    """Mirrors through ``client`` into ``db`` for the run ``run_id``."""

    db: Database
    client: Any  # api.sync.client.MicroblogClient
    run_id: int
    clock: Callable[[], datetime]
    horizon: timedelta = timedelta(days=90)
    stats: PassStats = field(default_factory=PassStats)
    should_stop: Callable[[], bool] = lambda: False
    # Replies seen before their thread starter: held until it is mirrored (see _commit_page).
    held: dict[int, Message] = field(default_factory=dict)
    # Threads settle_held has walked (or tried to) this pass: one that fails is not retried
    # after every feed, but next pass.
    settled: set[int] = field(default_factory=set)
    # Threads this pass recorded as owed a walk because of replies it still holds (see
    # _commit_page); once those replies leave memory, only a walk settles the thread.
    owed_here: set[int] = field(default_factory=set)
    # What this pass already wrote of each post: feeds overlap (a group, a topic, a manager),
    # and a message read again unchanged needs no second write.
    written: dict[tuple[str, int], Any] = field(default_factory=dict)
    settle_threads: int = 50
    # Managers and campaign hashtags, read once a pass rather than once a page.
    classifier: ingest.Classifier | None = None

    # -- units of work ----------------------------------------------------------------------
    async def _commit_page(
        self,
        page: FeedPage,
        *,
        feed_id: int | None = None,
        cursor: dict[str, Any] | None = None,
        succeeded: bool = True,
    ) -> set[int]:
        """Upsert one page and move its feed's cursor, in one transaction; external ids seen.

        ``succeeded=False``: the page is kept, but the feed's walk is not done (or ended
        early), so its error state stands (``sync_state.advance_feed``).
        """
        now = self.clock()
        people = self._unwritten("person", [mapping.person_row(u) for u in page.users().values()])
        groups_seen = self._unwritten(
            "group", [mapping.group_row(g) for g in page.groups().values()]
        )
        topics = {
            i: tag
            for i, tag in mapping.topic_hashtags(page).items()
            if ("topic", i) not in self.written
        }
        async with self.db.unit_of_work() as session:
            person_ids, follower_changes = await mirror.upsert_people(session, people, now)
            await mirror.upsert_groups(session, groups_seen, now)
            await mirror.learn_topic_ids(session, topics)
            seen = mapping.ordered_messages(page)
            held_before = {m.thread_id for m in self.held.values()}
            messages = await self._ready(session, seen)
            held = {m.thread_id for m in self.held.values()}
            # The cursor moves past the held replies with this commit, and nothing else leads
            # back to a thread whose starter is not stored: owe it a walk in the same commit.
            owed = await sync_state.owe_thread_walks(session, sorted(held - held_before))
            # Released, a thread's held replies are written with this page, and if it was owed
            # for them alone (not by an earlier pass, whose replies memory no longer has), it
            # is owed nothing more: no walk for a reply that merely came a page early.
            released = (held_before - held) & self.owed_here
            await sync_state.thread_walks_done(session, sorted(released))
            person_ids.update(
                await mirror.ensure_people(session, {m.sender_id for m in messages}, now)
            )
            groups = await mirror.group_ids(
                session, {m.group_id for m in messages if m.group_id is not None}
            )
            threads = page.threads()
            posts = [
                mapping.incoming_post(
                    m,
                    author_id=person_ids[m.sender_id],
                    group_id=groups.get(m.group_id) if m.group_id is not None else None,
                    thread=threads.get(m.thread_id),
                )
                for m in messages
                # Direct messages are private conversations, not campaign content.
                if not m.direct_message
            ]
            fresh = [p for p in posts if self.written.get(("post", p.external_id)) != _version(p)]
            if self.classifier is None:
                self.classifier = await ingest.classifier(session)
            result = await ingest.upsert_posts(session, fresh, now, context=self.classifier)
            if feed_id is not None:
                await sync_state.advance_feed(
                    session, feed_id, items=len(posts), at=now, succeeded=succeeded,
                    **(cursor or {}),
                )  # fmt: skip
            await self._count(session, posts=len(posts))
            await _notify(session, result.inserted, result.metrics_changed, follower_changes)
        self.owed_here = (self.owed_here | owed) - released
        # Only now, with the page committed, are these known to be written.
        self.written.update((("post", p.external_id), _version(p)) for p in fresh)
        self.written.update((("person", r["external_id"]), r) for r in people)
        self.written.update((("group", r["external_id"]), r) for r in groups_seen)
        self.written.update((("topic", i), tag) for i, tag in topics.items())
        self.stats.pages += 1
        self.stats.posts += len(posts)
        return {m.id for m in seen}

    def _unwritten(self, kind: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows that differ from what this pass already wrote (feeds repeat users and groups)."""
        return [r for r in rows if self.written.get((kind, r["external_id"])) != r]

    async def _ready(self, session: AsyncSession, page: list[Message]) -> list[Message]:
        """The page's messages plus held replies, less the replies whose starter is unknown.

        Feeds come newest first, so a reply often arrives a page (or a feed) before its
        thread starter. Stored then, it would look like a starter itself; instead it waits in
        memory for its starter, and its thread is owed a walk (``_commit_page`` records it
        with the page). Should the process die meanwhile, nothing is lost: the owed walk is
        made by a later pass.
        """
        messages = {m.id: m for m in [*self.held.values(), *page]}
        starters = {m.id for m in messages.values() if m.thread_id == m.id}
        wanted = {m.thread_id for m in messages.values()} - starters
        known = starters | await mirror.existing_external_ids(session, wanted)
        ready = [m for m in messages.values() if m.thread_id in known]
        self.held = {m.id: m for m in messages.values() if m.thread_id not in known}
        return sorted(ready, key=lambda m: (m.thread_id != m.id, m.id))

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

    async def _count(self, session: AsyncSession, *, posts: int = 0, errors: int = 0) -> None:
        """Add the requests made since the last count, and this page's figures, to the run."""
        made = self.client.take_stats().requests
        await sync_state.count_run(session, self.run_id, requests=made, posts=posts, errors=errors)

    async def _feed_failed(self, feed: Any, exc: Exception, *, inaccessible: bool = False) -> None:
        self.stats.errors += 1
        self.stats.failed_feeds.append(feed.name)
        log.warning("feed %s %s failed: %s", feed.kind.name, feed.name, exc)
        async with self.db.unit_of_work() as session:
            await sync_state.feed_failed(
                session,
                feed.id,
                f"{type(exc).__name__}: {exc}",
                self.clock(),
                inaccessible=inaccessible,
            )
            if inaccessible and feed.kind is SyncFeedKind.GROUP:
                await mirror.mark_group_inaccessible(session, feed.external_id)
            await self._count(session, errors=1)

    # -- the directory ------------------------------------------------------------------------
    async def sync_directory(self) -> None:
        """All groups (private ones through ``mine=true``) and all users, page by page."""
        now = self.clock()
        for mine in (False, True):
            async for groups in self.client.iter_groups(mine=mine):
                async with self.db.unit_of_work() as session:
                    rows = [mapping.group_row(g, joined=True if mine else None) for g in groups]
                    await mirror.upsert_groups(session, rows, now)
                    await self._count(session)
        async for users in self.client.iter_users():
            async with self.db.unit_of_work() as session:
                _, changes = await mirror.upsert_people(
                    session, [mapping.person_row(u) for u in users], now
                )
                await _notify(session, set(), set(), changes)
                await self._count(session)

    # -- feeds --------------------------------------------------------------------------------
    async def sync_feed(self, feed: Any) -> None:
        """New messages since the feed's newest cursor, then backfill towards the horizon."""
        endpoint = FEED_ENDPOINTS[feed.kind]
        try:
            if feed.newest_seen_id is not None:
                await self._catch_up(feed, endpoint)
            # A feed found empty has no newest cursor to poll from, backfilled or not: it is
            # walked from the top again (one request while it stays empty) until it has one.
            if (not feed.backfill_complete or feed.newest_seen_id is None) and not (
                self.should_stop()
            ):
                await self._backfill(feed, endpoint)
            await self.settle_held()
        except Forbidden as exc:
            await self._feed_failed(feed, exc, inaccessible=True)
        except AuthFailed:
            raise  # a refused token fails the whole pass, not one feed
        except MicroblogError as exc:
            await self._feed_failed(feed, exc)

    async def _catch_up(self, feed: Any, endpoint: str) -> None:
        # Pages come newest first, and each is committed as it comes, so a failure or a stop
        # keeps what was read. The newest cursor moves only with the page that reaches it:
        # until then the messages between the old cursor and the oldest page read are unread,
        # and the next pass reads again from the old cursor (upserts make that harmless)
        # rather than skip them. Replies read before their starter wait for its page.
        walk = self.client.iter_feed(endpoint, feed.external_id, newer_than=feed.newest_seen_id)
        newest: int | None = None
        async for page in walk:
            ids = [m.id for m in page.messages]
            newest = max([*ids, newest] if newest is not None else ids, default=None)
            done = walk.reached_end
            await self._commit_page(
                page,
                feed_id=feed.id,
                cursor={"newest_seen_id": newest} if done and newest is not None else {},
                succeeded=done,
            )
            if self.should_stop():
                return
        if not walk.reached_end:
            raise IncompleteWalk(
                f"catch-up of {feed.name} stopped early ({walk.stop_reason}); read again next pass"
            )

    async def _backfill(self, feed: Any, endpoint: str) -> None:
        horizon = self.clock() - self.horizon
        walk = self.client.iter_feed(
            endpoint, feed.external_id, older_than=feed.oldest_seen_id, horizon=horizon
        )
        async for page in walk:
            ids = [m.id for m in page.messages]
            # Complete only with the page that reaches the end or the horizon (and not
            # complete while a feed once found empty is walked again from the top).
            cursor: dict[str, Any] = {"backfill_complete": walk.reached_end}
            if ids:
                cursor["oldest_seen_id"] = min(ids)
                if feed.newest_seen_id is None:
                    cursor["newest_seen_id"] = max(ids)
            # A page that ends the walk early is kept, but the feed did not succeed.
            early = walk.stop_reason is not None and not walk.reached_end
            await self._commit_page(page, feed_id=feed.id, cursor=cursor, succeeded=not early)
            if self.should_stop():
                return
        if not walk.reached_end:
            raise IncompleteWalk(
                f"backfill of {feed.name} stopped early ({walk.stop_reason}); not complete"
            )

    # -- threads, metrics, followers -----------------------------------------------------------
    async def walk_thread(self, thread_id: int) -> None:
        """Mirror a whole thread; posts of ours it no longer has are marked deleted.

        Only a walk that reached the thread's end says what it no longer has, and only the
        starter's own 404 says the thread is gone; anything else is an error, concluding
        nothing. A thread owed a walk stays owed until one succeeds.
        """
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

    async def discover_topics(self, hashtags: Iterable[str]) -> dict[int, str]:
        """Learn campaign topics' microblog ids by searching for them (one request each).

        Pages teach most ids through their references; this finds the topic of a hashtag
        used only where no tracked feed reaches. Only an exact match of the normalised name
        counts. Returns what was learnt (topic id -> hashtag).
        """
        learnt: dict[int, str] = {}
        for hashtag in hashtags:
            if self.should_stop():
                break
            try:
                found = await self.client.search_topics(hashtag)
            except AuthFailed:
                raise
            except MicroblogError as exc:
                self.stats.errors += 1
                log.warning("topic #%s not searched: %s", hashtag, exc)
                continue
            learnt.update(
                (i, tag) for i, tag in mapping.hashtags_of(found).items() if tag == hashtag
            )
        async with self.db.unit_of_work() as session:
            if learnt:
                await mirror.learn_topic_ids(session, learnt)
            await self._count(session)
        return learnt

    async def sync_followers(self) -> None:
        """Follower counts of campaign owners and topic managers (user stats)."""
        async with self.db.reading() as session:
            people = await mirror.people_to_watch(session)
        for _person_id, external_id in people:
            try:
                user = await self.client.user(external_id)
            except AuthFailed:
                raise  # a refused token fails the whole pass, not one feed
            except MicroblogError as exc:
                self.stats.errors += 1
                log.warning("followers of user %s not read: %s", external_id, exc)
                continue
            async with self.db.unit_of_work() as session:
                _, changes = await mirror.upsert_people(
                    session, [mapping.person_row(user)], self.clock()
                )
                await _notify(session, set(), set(), changes)
                await self._count(session)


def _version(post: ingest.IncomingPost) -> tuple[Any, ...]:
    return (
        post.body, post.like_count, post.reply_count, post.share_count, post.group_id,
        post.replied_to_external_id, post.message_type,
    )  # fmt: skip


async def _notify(
    session: AsyncSession,
    published: set[int],
    metrics: set[int],
    followers: list[tuple[int, int, int]],
) -> None:
    """Tell API processes what changed; delivered when (and only if) the page commits."""
    if not (published or metrics or followers):
        return
    payload: dict[str, Any] = {
        "published": sorted(published),
        "metrics": sorted(metrics),
        "followers": [{"person": p, "followers": n, "delta": d} for p, n, d in followers],
    }
    body = json.dumps(payload, separators=(",", ":"))
    if len(body) > 7900:  # NOTIFY payloads are limited to 8000 bytes; send ids in parts
        payload = {
            "published": payload["published"][:500],
            "metrics": payload["metrics"][:500],
            "followers": payload["followers"][:100],
            "truncated": True,
        }
        body = json.dumps(payload, separators=(",", ":"))
    await sync_state.notify(session, CHANNEL, body)
