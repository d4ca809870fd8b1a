"""The demo seed's statements: set-up rows written straight into their tables.

The demo (`api.seed.demo`) decides what the rows hold; posts still go through ingest like every
other post.  Only the seed writes this way, into a database that holds no campaign yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models


async def has_campaign(session: AsyncSession) -> bool:
    """Whether any campaign exists: the demo is set up only in a database without one."""
    return (await session.execute(sa.select(models.Campaign.id).limit(1))).first() is not None


async def campaign_starts_on(session: AsyncSession, slug: str) -> date | None:
    result = await session.execute(
        sa.select(models.Campaign.starts_on).where(models.Campaign.slug == slug)
    )
    return result.scalar_one_or_none()


async def person_ids_by_email(session: AsyncSession, emails: Iterable[str]) -> dict[str, int]:
    rows = await session.execute(
        sa.select(models.Person.email, models.Person.id).where(
            models.Person.email.in_(list(emails))
        )
    )
    return {str(email): pid for email, pid in rows.all()}


async def group_ids_by_name(session: AsyncSession, names: Iterable[str]) -> dict[str, int]:
    rows = await session.execute(
        sa.select(models.MicroblogGroup.name, models.MicroblogGroup.id).where(
            models.MicroblogGroup.name.in_(list(names))
        )
    )
    return {str(name): gid for name, gid in rows.all()}


async def insert_returning_ids(
    session: AsyncSession, model: Any, rows: list[dict[str, Any]]
) -> list[int]:
    """Insert ``rows`` into ``model``'s table in one statement; their ids, in order."""
    table = model.__table__
    result = await session.execute(
        sa.insert(model).values(rows).returning(*table.c["id"].base_columns)
    )
    return list(result.scalars())


async def insert_rows(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    await session.execute(sa.insert(model), rows)


async def clear_metric_snapshots(session: AsyncSession) -> None:
    """Drop every post metrics snapshot, so the seed can write its own history in their place.

    The whole table: the seed runs on a database whose only posts are its own.
    """
    await session.execute(sa.delete(models.PostMetricsSnapshot))


async def delete_post(session: AsyncSession, post_id: int, deleted_at: datetime) -> None:
    await session.execute(
        sa.update(models.Post).where(models.Post.id == post_id).values(deleted_at=deleted_at)
    )
