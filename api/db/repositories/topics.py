"""Topics (campaign hashtags) and the people who manage them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models
from api.db.pagination import Page, PageResult
from api.db.repositories.paging import count_all, count_per_parent, page_all, page_per_parent

Topic = models.Topic
Manager = models.TopicManager
TOPIC_COLUMNS = list(Topic.__table__.c)
MANAGER_COLUMNS = list(Manager.__table__.c)


def current_assignment(today: Any = None) -> sa.ColumnElement[bool]:
    """Assignments that cover today: begun, with no end date or one in the future.

    Assignments are the days ``[since, until)`` and a topic's never overlap (the exclusion
    constraint ``ex_topic_manager_one_at_a_time``), so a topic has at most one current manager.
    A handover planned for a later day leaves the outgoing manager current until that day.
    """
    today = today if today is not None else sa.func.current_date()
    return sa.and_(Manager.since <= today, not_ended(today))


def not_ended(today: Any = None) -> sa.ColumnElement[bool]:
    """Assignments with no end date or one in the future: current ones and those planned.

    The worker follows a planned manager's feed before their first day, so that what they post
    on the day they take over is already mirrored; everything else wants ``current_assignment``.
    """
    today = today if today is not None else sa.func.current_date()
    return sa.or_(Manager.until.is_(None), Manager.until > today)


def staff_ids() -> sa.Subquery:
    """Person ids of the people whose feeds the worker follows: every campaign's owner and the
    topic managers whose assignment has not ended (``not_ended``)."""
    owners = sa.select(models.Campaign.owner_id.label("id")).where(
        models.Campaign.owner_id.is_not(None)
    )
    managers = sa.select(Manager.person_id.label("id")).where(not_ended())
    return sa.union(owners, managers).subquery()


async def get_topics(session: AsyncSession, ids: list[int]) -> dict[int, Any]:
    rows = await session.execute(sa.select(*TOPIC_COLUMNS).where(Topic.id.in_(ids)))
    return {row.id: row for row in rows}


async def get_topics_by_hashtag(session: AsyncSession, hashtags: list[str]) -> dict[str, Any]:
    rows = await session.execute(sa.select(*TOPIC_COLUMNS).where(Topic.hashtag.in_(hashtags)))
    return {row.hashtag: row for row in rows}


async def page_topics_by_campaign(
    session: AsyncSession, campaign_ids: list[int], page: Page
) -> dict[int, PageResult]:
    return await page_per_parent(
        session,
        columns=TOPIC_COLUMNS,
        keys=campaign_ids,
        key_type=sa.BigInteger(),
        where=lambda key: [Topic.campaign_id == key],
        sort=Topic.id,
        id_col=Topic.id,
        page=page,
    )


async def count_topics_by_campaign(
    session: AsyncSession, campaign_ids: list[int]
) -> dict[int, int]:
    return await count_per_parent(
        session,
        table=Topic,
        keys=campaign_ids,
        key_type=sa.BigInteger(),
        where=lambda key: [Topic.campaign_id == key],
    )


async def page_topics(session: AsyncSession, page: Page) -> PageResult:
    return await page_all(
        session,
        columns=TOPIC_COLUMNS,
        where=[],
        sort=Topic.id,
        id_col=Topic.id,
        page=page,
    )


async def count_topics(session: AsyncSession) -> int:
    return await count_all(session, Topic)


async def get_managers(session: AsyncSession, ids: list[int]) -> dict[int, Any]:
    rows = await session.execute(sa.select(*MANAGER_COLUMNS).where(Manager.id.in_(ids)))
    return {row.id: row for row in rows}


async def current_managers_by(
    session: AsyncSession, column: str, keys: list[int]
) -> dict[int, list[Any]]:
    """Current assignments grouped by ``topic_id``, ``person_id`` or the topic's ``campaign_id``."""
    stmt = sa.select(*MANAGER_COLUMNS, Topic.campaign_id).join(Topic, Topic.id == Manager.topic_id)
    key_col = Topic.campaign_id if column == "campaign_id" else getattr(Manager, column)
    rows = await session.execute(
        stmt.where(key_col.in_(keys), current_assignment()).order_by(Manager.since, Manager.id)
    )
    out: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        out[getattr(row, column)].append(row)
    return out


async def managed_topic_ids(session: AsyncSession, person_id: int) -> set[int]:
    rows = await session.execute(
        sa.select(Manager.topic_id).where(Manager.person_id == person_id, current_assignment())
    )
    return set(rows.scalars())


async def create_topic(
    session: AsyncSession, *, campaign_id: int, hashtag: str, name: str, description: str | None
) -> Any:
    row = await session.execute(
        insert(Topic)
        .values(campaign_id=campaign_id, hashtag=hashtag, name=name, description=description)
        .on_conflict_do_nothing(index_elements=[Topic.hashtag])
        .returning(*TOPIC_COLUMNS)
    )
    return row.first()


async def assign_manager(
    session: AsyncSession, *, topic_id: int, person_id: int, since: date | None
) -> Any:
    """Make a person the topic's manager from ``since`` (default: today, the database's date).

    An assignment of this person that is current is returned unchanged.  Otherwise the
    assignment running on ``since`` is handed over (it ends that day) and the new one starts.
    An assignment that begins on or after ``since`` cannot be overlapped: the exclusion
    constraint refuses the insert (IntegrityError).

    Assignments of one topic take turns on the topic's row lock.  The constraint alone would
    keep the data right, but two transactions inserting overlapping rows at once can each wait
    for the other's exclusion check, and PostgreSQL then aborts one as a deadlock; in turns,
    each call sees the one before it and gets that call's answer (the same assignment, a
    handover, or the constraint's CONFLICT).  NO KEY UPDATE: rows referring to the topic
    (posts' hashtags, resources) are not held up.
    """
    await session.execute(
        sa.select(Topic.id).where(Topic.id == topic_id).with_for_update(key_share=True)
    )
    existing = (
        await session.execute(
            sa.select(*MANAGER_COLUMNS).where(
                Manager.topic_id == topic_id, Manager.person_id == person_id, current_assignment()
            )
        )
    ).first()
    if existing is not None:
        return existing
    start: Any = since if since is not None else sa.func.current_date()
    await session.execute(
        sa.update(Manager)
        .where(
            Manager.topic_id == topic_id,
            Manager.since < start,
            sa.or_(Manager.until.is_(None), Manager.until > start),
        )
        .values(until=start)
    )
    return (
        await session.execute(
            sa.insert(Manager)
            .values(topic_id=topic_id, person_id=person_id, since=start)
            .returning(*MANAGER_COLUMNS)
        )
    ).one()
