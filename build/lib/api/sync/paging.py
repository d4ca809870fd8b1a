"""Walking the microblog's paged listings without trusting its own stop signals (spec §5).

Message feeds page backwards: ask again with ``older_than = min(id on the page)``. The walk
stops on a short page, whatever ``meta.older_available`` claims (it is known to say false
while older messages exist, and nothing promises it never says true at the end), and on any
page that does not move the cursor strictly down, so a server that ignores ``older_than``
cannot loop us. Directory lists (``users.json``, ``groups.json``) page by number and stop on
an empty or short page, or on a page that repeats the previous one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Literal, Protocol, TypeVar

from api.sync.payloads import FeedPage

log = logging.getLogger(__name__)

FEED_PAGE_SIZE = 20  # the documented maximum per call
LIST_PAGE_SIZE = 50
OTHER_LIST_PAGE_SIZES = frozenset({20})  # what some clients document for groups.json
MAX_LIST_PAGES = 10_000  # 500k users or groups; a bound, not an expectation

StopReason = Literal["short_page", "no_progress", "caught_up", "horizon", "max_pages"]
# The endings after which nothing asked for is left unread; ``no_progress`` and ``max_pages``
# leave the walk incomplete.
COMPLETE: frozenset[StopReason] = frozenset({"short_page", "caught_up", "horizon"})


class FeedWalk:
    """An async iterator over one feed's pages, newest first; one page per request.

    ``stop_reason`` says why it ended (``None`` while it goes on, or if the caller broke off
    before its last page): ``short_page`` (the feed is exhausted), ``caught_up`` (reached
    ``newer_than``), ``horizon`` (reached messages older than the horizon), ``no_progress``
    (the server did not honour the cursor: the walk may be incomplete, so the run should say
    so) or ``max_pages``. It is set before the last page is yielded, so a caller can commit
    "this walk is done" in the same unit of work as that page. ``reached_end`` tells the
    endings that saw everything asked for from those that did not. ``next_older_than`` is
    the cursor a later walk would resume from.
    """

    def __init__(
        self,
        fetch: Callable[[int | None], Awaitable[FeedPage]],
        *,
        older_than: int | None = None,
        newer_than: int | None = None,
        horizon: datetime | None = None,
        threaded: bool = False,
        limit: int = FEED_PAGE_SIZE,
        max_pages: int | None = None,
    ) -> None:
        self._fetch = fetch
        self.next_older_than = older_than
        self._newer_than = newer_than
        self._horizon = horizon
        self._threaded = threaded
        self._limit = limit
        self._max_pages = max_pages
        self.pages = 0
        self.stop_reason: StopReason | None = None

    def __aiter__(self) -> AsyncIterator[FeedPage]:
        return self._walk()

    async def _walk(self) -> AsyncIterator[FeedPage]:
        while True:
            cursor = self.next_older_than
            page = await self._fetch(cursor)
            self.pages += 1
            # Decide before yielding, so the caller can read the resume cursor and whether this
            # is the last page while it handles the page.
            reason = self._stop_reason(page, cursor)
            self.stop_reason = reason
            if reason == "no_progress":
                log.warning("feed paging made no progress at older_than=%s; stopped", cursor)
            yield page
            if reason is not None:
                return

    @property
    def reached_end(self) -> bool:
        """Whether the walk saw all it was asked for: the feed's end, ``newer_than`` or the
        horizon. Only then may a caller call a backfill complete, move its newest cursor past
        everything read, or take a message missing from the walk for deleted."""
        return self.stop_reason in COMPLETE

    def _stop_reason(self, page: FeedPage, cursor: int | None) -> StopReason | None:
        if len(page.messages) < self._limit:
            return "short_page"
        next_cursor = self._cursor(page)
        if cursor is not None and next_cursor >= cursor:
            return "no_progress"
        self.next_older_than = next_cursor
        if self._newer_than is not None and next_cursor <= self._newer_than:
            # Only possible if the server ignored newer_than; older pages were seen already.
            return "caught_up"
        if self._horizon is not None and self._oldest_activity(page) < self._horizon:
            return "horizon"
        if self._max_pages is not None and self.pages >= self._max_pages:
            return "max_pages"
        return None

    def _cursor(self, page: FeedPage) -> int:
        if not self._threaded:
            return min(message.id for message in page.messages)
        # Threaded feeds are ordered by activity: page on each thread's latest reply (§5.3).
        threads = page.threads()
        keys = []
        for message in page.messages:
            ref = threads.get(message.thread_id)
            latest = ref.stats.latest_reply_id if ref else None
            replies = page.threaded_extended.get(message.thread_id, [])
            keys.append(latest or max([message.id, *(reply.id for reply in replies)]))
        return min(keys)

    def _oldest_activity(self, page: FeedPage) -> datetime:
        if not self._threaded:
            return min(message.created_at for message in page.messages)
        threads = page.threads()
        moments = []
        for message in page.messages:
            ref = threads.get(message.thread_id)
            replies = page.threaded_extended.get(message.thread_id, [])
            seen = [message.created_at, *(reply.created_at for reply in replies)]
            latest = ref.stats.latest_reply_at if ref else None
            moments.append(latest or max(seen))
        return min(moments)


class _HasId(Protocol):
    @property
    def id(self) -> int: ...


Item = TypeVar("Item", bound=_HasId)


async def numbered_pages(
    fetch: Callable[[int], Awaitable[list[Item]]],
    *,
    page_size: int = LIST_PAGE_SIZE,
    max_pages: int = MAX_LIST_PAGES,
) -> AsyncIterator[list[Item]]:
    """Pages 1, 2, ... of a bare-array listing, until an empty or short page.

    Lists page by 50 by most accounts and by 20 by others (``groups.json``, reference §3.4,
    unconfirmed): a first page of exactly one of those sizes is taken as full, and later pages
    are short when they fall below it. At worst that costs one extra (empty) request.
    """
    previous: list[int] | None = None
    full = page_size
    for number in range(1, max_pages + 1):
        items = await fetch(number)
        ids = [item.id for item in items]
        if not items:
            return
        if ids == previous:
            log.warning("page %d repeats page %d; the server ignores `page`", number, number - 1)
            return
        if number == 1 and len(items) in OTHER_LIST_PAGE_SIZES:
            full = len(items)
        yield items
        if len(items) < full:
            return
        previous = ids
    log.warning("listing stopped at the %d-page bound", max_pages)
