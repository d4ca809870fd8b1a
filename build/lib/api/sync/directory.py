"""The directory and the campaign staff: groups, users, topic ids, follower counts."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable

from api.db.repositories import mirror
from api.sync import mapping
from api.sync.errors import AuthFailed, MicroblogError
from api.sync.notify import notify
from api.sync.pages import PageMirror

log = logging.getLogger(__name__)


class DirectorySync(PageMirror):
    """``Mirror``'s directory work, on the page unit of work."""

    async def sync_directory(self) -> set[int]:
        """All groups (private ones through ``mine=true``) and all users, page by page.

        Returns the users whose follower counts it read: ``users.json`` carries full
        profiles, so ``sync_followers`` need not ask for them again in the same pass.
        """
        now = self.clock()
        followers_read: set[int] = set()
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
                await notify(session, set(), set(), changes)
                await self._count(session)
            followers_read.update(
                u.id for u in users if u.stats is not None and u.stats.followers is not None
            )
        return followers_read

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

    async def sync_followers(self, already_read: Collection[int] = ()) -> None:
        """Follower counts of campaign owners and topic managers (user stats), but for those
        ``already_read`` this pass (by the directory, seconds before)."""
        async with self.db.reading() as session:
            people = await mirror.people_to_watch(session)
        for _person_id, external_id in people:
            if external_id in already_read:
                continue
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
                await notify(session, set(), set(), changes)
                await self._count(session)
