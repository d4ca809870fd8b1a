"""The mirror's unit of work: one page's rows, its feed's cursor, the run's counters and a
change notification, committed together (``PageMirror._commit_page``).

Each page commits as a whole, so a crash at any point resumes from the last committed page:
pages are re-read, never lost, and upserts make re-reading harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.db.repositories import (
    classification,
    data_version,
    freshness,
    groups_write,
    mirror,
    page_bookkeeping,
    people_write,
    posts_write,
    sync_runs,
    sync_state,
)
from api.db.session import Database
from api.domain.enums import SyncFeedKind
from api.domain.freshness import FreshnessPolicy
from api.domain.post_rows import Classifier, PostRow
from api.sync import mapping
from api.sync.freshness import thread_observations
from api.sync.payloads import FeedPage, Message

log = logging.getLogger(__name__)


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
    # Requests spent reading threads (in_thread pages, and a starter checked after a 404).
    thread_requests: int = 0


@dataclass
class PageMirror:
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
    # Threads read to their end this pass: a second walk in the same pass learns nothing.
    walked: set[int] = field(default_factory=set)
    # Threads this pass recorded as owed a walk because of replies it still holds (see
    # _commit_page); once those replies leave memory, only a walk settles the thread.
    owed_here: set[int] = field(default_factory=set)
    # What this pass already wrote of each post: feeds overlap (a group, a topic, a manager),
    # and a message read again unchanged needs no second write.
    written: dict[tuple[str, int], Any] = field(default_factory=dict)
    settle_threads: int = 50
    # Managers, campaign hashtags and resource URLs, read once a pass rather than once a page.
    classifier: Classifier | None = None
    # When each thread is read again (``threads.refresh_threads``); pages record what they show.
    freshness: FreshnessPolicy = field(default_factory=FreshnessPolicy)

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
        early), so its error state stands (``page_bookkeeping.page_done``).
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
            _, follower_changes = await people_write.upsert_people(session, people, now)
            await groups_write.upsert_groups(session, groups_seen, now)
            await groups_write.learn_topic_ids(session, topics)
            seen = mapping.ordered_messages(page)
            messages, owed, released = await self._release(session, seen)
            if self.classifier is None:
                self.classifier = await classification.classifier(session)
            # Map, write, move the cursor, notify.
            threads = page.threads()
            rows = [
                mapping.post_row(m, threads.get(m.thread_id), self.classifier)
                for m in messages
                # Direct messages are private conversations, not campaign content.
                if not m.direct_message
            ]
            fresh = [r for r in rows if self.written.get(("post", r.external_id)) != _version(r)]
            result = await posts_write.write_posts(session, fresh, now)
            unlinked = await _unlinked_replies(session, fresh, result.ids)
            await freshness.observe(session, thread_observations(page), now, self.freshness)
            # The run's counts, the feed's cursor and the change log (with its NOTIFY, sent
            # when, and only if, this commits) in one round trip.
            await page_bookkeeping.page_done(
                session, run_id=self.run_id, requests=self.client.take_stats().requests,
                posts=len(rows), at=now, feed_id=feed_id, items=len(rows), succeeded=succeeded,
                published=result.inserted, metrics=result.metrics_changed,
                followers=follower_changes, **(cursor or {}),
            )  # fmt: skip
            await data_version.bump(session)  # last: GET answers' ETags change with the commit
        self.owed_here = (self.owed_here | owed) - released
        # Only now, with the page committed, are these known to be written.
        # A reply whose parent is not stored yet was written without its link: it is not
        # "written" until read again with its parent there (e.g. by the thread walk).
        self.written.update(
            (("post", r.external_id), _version(r)) for r in fresh if r.external_id not in unlinked
        )
        self.written.update((("person", r["external_id"]), r) for r in people)
        self.written.update((("group", r["external_id"]), r) for r in groups_seen)
        self.written.update((("topic", i), tag) for i, tag in topics.items())
        self.stats.pages += 1
        self.stats.posts += len(rows)
        return {m.id for m in seen}

    async def _release(
        self, session: AsyncSession, seen: list[Message]
    ) -> tuple[list[Message], set[int], set[int]]:
        """Messages ready to write (see ``_ready``), and threads newly owed and no longer owed."""
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
        return messages, owed, released

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

    async def _count(self, session: AsyncSession, *, posts: int = 0, errors: int = 0) -> None:
        """Add the requests made since the last count, and this page's figures, to the run."""
        made = self.client.take_stats().requests
        await sync_runs.count_run(session, self.run_id, requests=made, posts=posts, errors=errors)

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
                await groups_write.mark_group_inaccessible(session, feed.external_id)
            await self._count(session, errors=1)


async def _unlinked_replies(
    session: AsyncSession, rows: list[PostRow], written: dict[int, int]
) -> set[int]:
    """External ids of the replies among ``rows`` whose replied-to message is not stored."""
    parents = {r.replied_to_external_id for r in rows if r.replied_to_external_id is not None}
    missing = parents - set(written)
    missing -= await mirror.existing_external_ids(session, missing)
    return {r.external_id for r in rows if r.replied_to_external_id in missing}


def _version(row: PostRow) -> tuple[Any, ...]:
    return (
        row.body, row.like_count, row.reply_count, row.share_count, row.group_external_id,
        row.replied_to_external_id, row.message_type, row.kind,
    )  # fmt: skip
