"""What the worker mirrors, one unit of work per page.

Each page's rows, the feed's cursor and the run's counters commit together, so a crash at
any point resumes from the last committed page: pages are re-read, never lost, and upserts
make re-reading harmless.  Change notifications are sent inside the same transaction
(``pg_notify`` is delivered at commit, and only if it commits).
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
    ) -> set[int]:
        """Upsert one page and move its feed's cursor, in one transaction; external ids seen."""
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
            messages = await self._ready(session, seen)
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
                    session, feed_id, items=len(posts), at=now, **(cursor or {})
                )
            await self._count(session, posts=len(posts))
            await _notify(session, result.inserted, result.metrics_changed, follower_changes)
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
        memory for its starter. Should the process die meanwhile, nothing is lost: the
        starter's reply count later sends the thread walk for it (``incomplete_threads``).
        """
        messages = {m.id: m for m in [*self.held.values(), *page]}
        starters = {m.id for m in messages.values() if m.thread_id == m.id}
        wanted = {m.thread_id for m in messages.values()} - starters
        known = starters | await mirror.existing_external_ids(session, wanted)
        ready = [m for m in messages.values() if m.thread_id in known]
        self.held = {m.id: m for m in messages.values() if m.thread_id not in known}
        return sorted(ready, key=lambda m: (m.thread_id != m.id, m.id))

    async def settle_held(self) -> None:
        """Fetch the threads of replies still waiting for their starter (a bounded number)."""
        threads = sorted({m.thread_id for m in self.held.values()}, reverse=True)
        for thread_id in threads[: self.settle_threads]:
            if self.should_stop():
                return
            await self.walk_thread(thread_id)
        if self.held:
            log.info("%d replies wait for threads not walked this pass", len(self.held))
            self.held.clear()

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
            if not feed.backfill_complete:
                await self._backfill(feed, endpoint)
            await self.settle_held()
        except Forbidden as exc:
            await self._feed_failed(feed, exc, inaccessible=True)
        except AuthFailed:
            raise  # a refused token fails the whole pass, not one feed
        except MicroblogError as exc:
            await self._feed_failed(feed, exc)

    async def _catch_up(self, feed: Any, endpoint: str) -> None:
        # Pages come newest first; the newest cursor moves only with the last page, so a crash
        # half-way re-reads the new pages instead of skipping the older new ones.
        pages = [
            page
            async for page in self.client.iter_feed(
                endpoint, feed.external_id, newer_than=feed.newest_seen_id
            )
        ]
        newest = max((m.id for p in pages for m in p.messages), default=None)
        # Oldest page first: starters before their replies.
        for i, page in enumerate(reversed(pages)):
            last = i == len(pages) - 1
            await self._commit_page(
                page, feed_id=feed.id, cursor={"newest_seen_id": newest} if last else {}
            )
            if self.should_stop():
                return
        if not pages:
            async with self.db.unit_of_work() as session:
                await sync_state.advance_feed(session, feed.id, at=self.clock())

    async def _backfill(self, feed: Any, endpoint: str) -> None:
        horizon = self.clock() - self.horizon
        finished = True
        async for page in self.client.iter_feed(
            endpoint, feed.external_id, older_than=feed.oldest_seen_id, horizon=horizon
        ):
            ids = [m.id for m in page.messages]
            cursor: dict[str, Any] = {}
            if ids:
                cursor = {"oldest_seen_id": min(ids)}
                if feed.newest_seen_id is None:
                    cursor["newest_seen_id"] = max(ids)
            await self._commit_page(page, feed_id=feed.id, cursor=cursor)
            if self.should_stop():
                finished = False
                break
        if finished:
            async with self.db.unit_of_work() as session:
                await sync_state.advance_feed(
                    session, feed.id, backfill_complete=True, at=self.clock()
                )

    # -- threads, metrics, followers -----------------------------------------------------------
    async def walk_thread(self, thread_id: int) -> None:
        """Mirror a whole thread; posts of ours it no longer has are marked deleted."""
        seen: set[int] = set()
        try:
            async for page in self.client.iter_feed("in_thread", thread_id):
                seen |= await self._commit_page(page)
        except NotFound:
            seen = set()  # the thread is gone: all of it
            self.held = {i: m for i, m in self.held.items() if m.thread_id != thread_id}
        except AuthFailed:
            raise  # a refused token fails the whole pass, not one feed
        except MicroblogError as exc:
            self.stats.errors += 1
            log.warning("thread %s not refreshed: %s", thread_id, exc)
            return
        self.stats.threads_walked += 1
        async with self.db.unit_of_work() as session:
            gone = await mirror.thread_external_ids(session, thread_id) - seen
            deleted = await mirror.mark_deleted(session, sorted(gone), self.clock())
            self.stats.deleted += len(deleted)

    async def refresh_recent(self, days: int, limit: int) -> None:
        """Re-read the most recent threads: new likes and replies, edits and deletions."""
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
