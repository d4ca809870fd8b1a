"""Upserting groups the worker mirrors, and the microblog ids of campaign topics.

Monotonic like ``people_write``: a row is only overwritten by an observation at least as
recent as the one it holds.  Nothing here commits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models
from api.db.repositories.people_write import upsert_by_external_id

log = logging.getLogger(__name__)

Group = models.MicroblogGroup


async def upsert_groups(
    session: AsyncSession, rows: Sequence[dict[str, Any]], observed_at: datetime
) -> dict[int, int]:
    """Insert or update groups by external id; returns external id -> group id."""
    if not rows:
        return {}
    by_external = {row["external_id"]: row for row in rows}
    await upsert_by_external_id(session, Group, list(by_external.values()), observed_at)
    found = await session.execute(
        sa.select(Group.external_id, Group.id).where(Group.external_id.in_(list(by_external)))
    )
    return dict(found.all())


async def group_ids(session: AsyncSession, external_ids: set[int]) -> dict[int, int]:
    if not external_ids:
        return {}
    rows = await session.execute(
        sa.select(Group.external_id, Group.id).where(Group.external_id.in_(external_ids))
    )
    return dict(rows.all())


async def mark_group_inaccessible(session: AsyncSession, external_id: int) -> None:
    await session.execute(
        sa.update(Group).where(Group.external_id == external_id).values(accessible=False)
    )


async def topics_without_id(session: AsyncSession) -> list[str]:
    """Hashtags of topics whose microblog id no page has taught us yet."""
    T = models.Topic
    rows = await session.execute(
        sa.select(T.hashtag).where(T.external_id.is_(None)).order_by(T.hashtag)
    )
    return list(rows.scalars())


async def learn_topic_ids(session: AsyncSession, topics: dict[int, str]) -> None:
    """Record the microblog's topic id of campaign topics, matched by normalised name.

    An id already recorded for another campaign topic is left there (``topic.external_id`` is
    unique): the microblog topic was renamed, and its new name happens to be another tracked
    hashtag. Moving the id would silently re-point the first topic; that is for a person to do.
    """
    if not topics:
        return
    T = models.Topic
    known = dict(
        (
            await session.execute(
                sa.select(T.external_id, T.hashtag).where(T.external_id.in_(list(topics)))
            )
        ).all()
    )
    for external_id, hashtag in topics.items():
        if external_id in known:
            if known[external_id] != hashtag:
                log.warning(
                    "topic id %s now named #%s is already #%s's; left as it is",
                    external_id,
                    hashtag,
                    known[external_id],
                )
            continue
        await session.execute(
            sa.update(T)
            .where(T.hashtag == hashtag, T.external_id.is_(None))
            .values(external_id=external_id)
        )
