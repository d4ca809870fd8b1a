"""Upserting what the worker mirrors: people, groups, topic ids, deletions.

Upserts are idempotent and monotonic: a row is only overwritten by an observation at least as
recent as the one it holds (``synced_at``), so replaying an old page cannot move data back.
Follower counts append a snapshot only when they change.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models

Person = models.Person
Group = models.MicroblogGroup
PERSON_FIELDS = ("full_name", "email", "job_title", "department", "avatar_url", "web_url")


async def upsert_people(
    session: AsyncSession, rows: Sequence[dict[str, Any]], observed_at: datetime
) -> tuple[dict[int, int], list[tuple[int, int, int]]]:
    """Insert or update people by external id.

    Rows carry ``external_id`` and any of the person fields; ``follower_count`` and
    ``following_count`` only when the payload had stats (references often do not).
    Returns (external id -> person id, [(person id, followers, change)] for changed counts).
    """
    if not rows:
        return {}, []
    by_external = {row["external_id"]: row for row in rows}  # a page may repeat a user
    before = {
        r.external_id: r.follower_count
        for r in await session.execute(
            sa.select(Person.external_id, Person.follower_count).where(
                Person.external_id.in_(list(by_external))
            )
        )
    }
    ids = await _upsert(session, Person, list(by_external.values()), observed_at)
    missing = [e for e in by_external if e not in ids]  # rows an older observation skipped
    if missing:
        found = await session.execute(
            sa.select(Person.external_id, Person.id).where(Person.external_id.in_(missing))
        )
        ids.update(dict(found.all()))
    changes = []
    for external_id, row in by_external.items():
        followers = row.get("follower_count")
        if followers is None or before.get(external_id) == followers:
            continue
        changes.append(
            (ids[external_id], followers, followers - before.get(external_id, followers))
        )
    if changes:
        await session.execute(
            insert(models.FollowerSnapshot)
            .values(
                [
                    {"person_id": pid, "observed_at": observed_at, "followers": followers}
                    for pid, followers, _ in changes
                ]
            )
            .on_conflict_do_nothing()
        )
    return ids, changes


async def _upsert(
    session: AsyncSession, model: Any, rows: list[dict[str, Any]], observed_at: datetime
) -> dict[int, int]:
    """Monotonic upsert by external id; rows may carry different sets of fields.

    Rows are grouped by the fields they carry, since a multi-row INSERT needs one shape and a
    field a payload did not have (a reference without stats) must keep its stored value.
    """
    table = model.__table__
    shapes: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(frozenset(row), []).append({**row, "synced_at": observed_at})
    ids: dict[int, int] = {}
    for keys, shaped in shapes.items():
        result = await session.execute(_upsert_by_external_id(table, keys), shaped)
        ids.update(dict(result.all()))
    return ids


@functools.cache
def _upsert_by_external_id(table: Any, keys: frozenset[str]) -> Any:
    """One statement per table and set of fields, run as executemany (compiled once)."""
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.external_id],
        set_={key: stmt.excluded[key] for key in (keys | {"synced_at"}) - {"external_id"}},
        where=table.c.synced_at <= stmt.excluded.synced_at,
    ).returning(table.c.external_id, table.c.id)


async def ensure_people(
    session: AsyncSession, external_ids: set[int], observed_at: datetime
) -> dict[int, int]:
    """Person ids for these external ids, creating placeholders for unknown senders.

    Deleted or suspended users still send old messages, and references may omit them.
    """
    if not external_ids:
        return {}
    found = dict(
        (
            await session.execute(
                sa.select(Person.external_id, Person.id).where(Person.external_id.in_(external_ids))
            )
        ).all()
    )
    missing = [e for e in external_ids if e not in found]
    if missing:
        rows = [{"external_id": e, "full_name": f"Former member {e}"} for e in missing]
        ids, _ = await upsert_people(session, rows, observed_at)
        found.update(ids)
    return found


async def upsert_groups(
    session: AsyncSession, rows: Sequence[dict[str, Any]], observed_at: datetime
) -> dict[int, int]:
    """Insert or update groups by external id; returns external id -> group id."""
    if not rows:
        return {}
    by_external = {row["external_id"]: row for row in rows}
    await _upsert(session, Group, list(by_external.values()), observed_at)
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
    """Record the microblog's topic id of campaign topics, matched by normalised name."""
    T = models.Topic
    for external_id, hashtag in topics.items():
        await session.execute(
            sa.update(T)
            .where(T.hashtag == hashtag, T.external_id.is_(None))
            .values(external_id=external_id)
        )


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


async def recent_posts(session: AsyncSession, since: datetime, limit: int) -> list[tuple[int, int]]:
    """(external id, thread external id) of live posts created since ``since``, newest first."""
    P = models.Post
    S = sa.orm.aliased(P)
    rows = await session.execute(
        sa.select(P.external_id, sa.func.coalesce(S.external_id, P.external_id))
        .outerjoin(S, S.id == P.thread_starter_id)
        .where(P.created_at >= since, P.deleted_at.is_(None))
        .order_by(P.created_at.desc())
        .limit(limit)
    )
    return [(a, b) for a, b in rows.all()]


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
    """(person id, external id) of campaign owners and current topic managers."""
    TM = models.TopicManager
    owners = sa.select(models.Campaign.owner_id.label("id")).where(
        models.Campaign.owner_id.is_not(None)
    )
    managers = sa.select(TM.person_id.label("id")).where(
        sa.or_(TM.until.is_(None), TM.until > sa.func.current_date())
    )
    ids = sa.union(owners, managers).subquery()
    rows = await session.execute(
        sa.select(Person.id, Person.external_id).join(ids, ids.c.id == Person.id)
    )
    return [(a, b) for a, b in rows.all()]


async def incomplete_threads(session: AsyncSession, limit: int) -> list[int]:
    """External ids of campaign-era starters with fewer mirrored replies than they report."""
    P = models.Post
    R = sa.orm.aliased(P)
    mirrored = (
        sa.select(sa.func.count())
        .where(R.thread_starter_id == P.id, R.deleted_at.is_(None))
        .correlate(P)
        .scalar_subquery()
    )
    rows = await session.execute(
        sa.select(P.external_id)
        .where(P.thread_starter_id.is_(None), P.deleted_at.is_(None), P.reply_count > mirrored)
        .order_by(P.created_at.desc())
        .limit(limit)
    )
    return list(rows.scalars())


async def existing_external_ids(session: AsyncSession, external_ids: set[int]) -> set[int]:
    """Which of these microblog message ids are mirrored (deleted ones included)."""
    if not external_ids:
        return set()
    P = models.Post
    rows = await session.execute(sa.select(P.external_id).where(P.external_id.in_(external_ids)))
    return set(rows.scalars())
