"""Private messages stay out of the mirror unless an admin chose their community.

The token reads what its user may read, private communities they belong to included. A topic
feed or a colleague's feed can therefore list a message of a private community no campaign
tracks; copied into the mirror it would be shown to everyone with access to the dashboard,
a leak (reference §11.7). So a page's messages are kept only when they are public, or when
their group is one of the tracked groups (``sync_feed`` GROUP rows, what campaigns follow).
Direct messages never are (``PageMirror._commit_page`` leaves them out as well).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

from api.db.repositories import sync_state
from api.domain.enums import SyncFeedKind
from api.sync.pages import PageMirror
from api.sync.payloads import FeedPage, Group, Message

log = logging.getLogger(__name__)


def may_store(message: Message, groups: Mapping[int, Group], tracked: Collection[int]) -> bool:
    """Whether ``message`` may be mirrored: not a direct message, and public or in a tracked
    group. Privacy comes from the message, else its group's reference; unknown is private
    (a hidden post is better than a leak), but for posts in no group (storyline), which are
    as public as their author."""
    if message.direct_message:
        return False
    if message.group_id is None:
        return message.privacy != "private"
    if message.group_id in tracked:
        return True
    if message.privacy is not None:
        return message.privacy == "public"
    group = groups.get(message.group_id)
    return group is not None and group.privacy == "public"


class PrivateMessages(PageMirror):
    """``Mirror``'s filter in front of the page unit of work."""

    _tracked_groups: frozenset[int] | None = None

    async def _commit_page(self, page: FeedPage, **kwargs: Any) -> set[int]:
        tracked = await self._tracked()
        groups = page.groups()
        kept = [m for m in page.messages if may_store(m, groups, tracked)]
        extended = {
            thread: [m for m in replies if may_store(m, groups, tracked)]
            for thread, replies in page.threaded_extended.items()
        }
        left_out = (
            len(page.messages)
            - len(kept)
            + sum(
                len(replies) - len(extended[thread])
                for thread, replies in page.threaded_extended.items()
            )
        )
        if not left_out:
            return await super()._commit_page(page, **kwargs)
        log.info("left out %d private messages of untracked groups", left_out)
        seen = {m.id for m in page.all_messages()}
        narrowed = page.model_copy(update={"messages": kept, "threaded_extended": extended})
        # What was read is reported as read (cursors, walks); only the rows are left out.
        return await super()._commit_page(narrowed, **kwargs) | seen

    async def _tracked(self) -> frozenset[int]:
        if self._tracked_groups is None:
            async with self.db.reading() as session:
                feeds = await sync_state.list_feeds(session, [SyncFeedKind.GROUP])
            self._tracked_groups = frozenset(f.external_id for f in feeds)
        return self._tracked_groups
