"""What the worker mirrors: feeds (catch-up and backfill) here, threads and the directory in
``threads`` and ``directory``, each page in one unit of work (``pages``).

Nothing is concluded from a walk that did not reach its end (``FeedWalk.reached_end``): a
backfill is complete, a newest cursor moves past what was read, and a message missing from a
thread counts as deleted, only after a walk that saw everything it asked for.
"""

from __future__ import annotations

import logging
from typing import Any

from api.domain.enums import SyncFeedKind
from api.sync.directory import DirectorySync
from api.sync.errors import AuthFailed, Forbidden, IncompleteWalk, MicroblogError
from api.sync.pages import PassStats
from api.sync.privacy import PrivateMessages
from api.sync.threads import ThreadWalks

log = logging.getLogger(__name__)
FEED_ENDPOINTS = {
    SyncFeedKind.GROUP: "in_group",
    SyncFeedKind.TOPIC: "about_topic",
    SyncFeedKind.USER: "from_user",
    SyncFeedKind.THREAD: "in_thread",
}


class Mirror(PrivateMessages, DirectorySync, ThreadWalks):
    """Mirrors through ``client`` into ``db`` for the run ``run_id``: feeds here, threads
    (``ThreadWalks``) and the directory (``DirectorySync``) in their own modules, all on the
    page unit of work of ``PageMirror``, behind the filter of ``PrivateMessages``."""

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


__all__ = ["FEED_ENDPOINTS", "Mirror", "PassStats"]
