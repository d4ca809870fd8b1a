"""What the worker asks of mirrored posts and threads, and tombstones.

People and groups are written by ``people_write`` and ``groups_write`` (re-exported here under
their old names), posts by the one write path, ``posts_write``.  Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models
from api.db.repositories.groups_write import (
    group_ids,
    learn_topic_ids,
    mark_group_inaccessible,
    topics_without_id,
    upsert_groups,
)
from api.db.repositories.people_write import (
    PERSON_FIELDS,
    Placeholder,
    ensure_people,
    upsert_people,
)
from api.db.repositories.topics import staff_ids

__all__ = [
    "PERSON_FIELDS",
    "Placeholder",
    "ensure_people",
    "existing_external_ids",
    "group_ids",
    "learn_topic_ids",
    "mark_deleted",
    "mark_group_inaccessible",
    "people_to_watch",
    "thread_external_ids",
    "topics_without_id",
    "upsert_groups",
    "upsert_people",
]

Person = models.Person


async def mark_deleted(
    session: AsyncSession, external_ids: Sequence[int], observed_at: datetime
) -> list[int]:
    """Tombstone posts the microblog no longer has (never a silent drop); returns their ids."""
    if not external_ids:
        return []
    P = models.Post
    rows = await session.execute(
        sa.update(P)
        .where(P.external_id.in_(list(external_ids)), P.deleted_at.is_(None))
        .values(deleted_at=observed_at)
        .returning(P.id)
    )
    return list(rows.scalars())


async def thread_external_ids(session: AsyncSession, starter_external_id: int) -> set[int]:
    """External ids of a mirrored thread's live posts (the starter and its replies)."""
    P = models.Post
    starter = sa.select(P.id).where(P.external_id == starter_external_id).scalar_subquery()
    rows = await session.execute(
        sa.select(P.external_id).where(
            sa.or_(P.id == starter, P.thread_starter_id == starter), P.deleted_at.is_(None)
        )
    )
    return set(rows.scalars())


async def people_to_watch(session: AsyncSession) -> list[tuple[int, int]]:
    """(person id, external id) of campaign owners and topic managers (``staff_ids``)."""
    ids = staff_ids()
    rows = await session.execute(
        sa.select(Person.id, Person.external_id).join(ids, ids.c.id == Person.id)
    )
    return [(a, b) for a, b in rows.all()]


async def existing_external_ids(session: AsyncSession, external_ids: set[int]) -> set[int]:
    """Which of these microblog message ids are mirrored (deleted ones included)."""
    if not external_ids:
        return set()
    P = models.Post
    rows = await session.execute(sa.select(P.external_id).where(P.external_id.in_(external_ids)))
    return set(rows.scalars())
