"""Learning resources, their topics and episodes, and tracked-link clicks."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models
from api.db.pagination import Page, PageResult
from api.db.repositories.paging import count_all, page_all
from api.domain.enums import ResourceKind, Visibility

Resource = models.Resource
RESOURCE_COLUMNS = list(Resource.__table__.c)


@dataclass(frozen=True, slots=True)
class ResourceFilter:
    hashtag: str | None = None
    kinds: tuple[ResourceKind, ...] = ()
    # For readers outside the company (the LMS): INTERNAL resources are left out.
    public_only: bool = False

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        out: list[sa.ColumnElement[bool]] = []
        if self.hashtag is not None:
            out.append(
                Resource.id.in_(
                    sa.select(models.ResourceTopic.resource_id)
                    .join(models.Topic, models.Topic.id == models.ResourceTopic.topic_id)
                    .where(models.Topic.hashtag == self.hashtag)
                )
            )
        if self.kinds:
            out.append(Resource.kind.in_(self.kinds))
        if self.public_only:
            out.append(Resource.visibility == Visibility.PUBLIC)
        if ResourceKind.PODCAST_EPISODE not in self.kinds:
            # Episodes are listed under their series unless asked for by kind.
            out.append(Resource.series_id.is_(None))
        return out


async def get_resources(session: AsyncSession, ids: list[int]) -> dict[int, Any]:
    rows = await session.execute(sa.select(*RESOURCE_COLUMNS).where(Resource.id.in_(ids)))
    return {row.id: row for row in rows}


async def get_by_token(session: AsyncSession, token: str) -> Any:
    rows = await session.execute(
        sa.select(Resource.id, Resource.url).where(Resource.tracking_token == token)
    )
    return rows.first()


async def get_by_normalized_urls(session: AsyncSession, urls: list[str]) -> dict[str, int]:
    if not urls:
        return {}
    rows = await session.execute(
        sa.select(Resource.normalized_url, Resource.id).where(Resource.normalized_url.in_(urls))
    )
    return dict(rows.all())


async def page_resources(session: AsyncSession, flt: ResourceFilter, page: Page) -> PageResult:
    conditions = flt.conditions()
    return await page_all(
        session,
        columns=RESOURCE_COLUMNS,
        where=conditions,
        sort=Resource.id,
        id_col=Resource.id,
        page=page,
    )


async def count_resources(session: AsyncSession, flt: ResourceFilter) -> int:
    return await count_all(session, Resource, flt.conditions())


async def topics_by_resource(session: AsyncSession, ids: list[int]) -> dict[int, list[Any]]:
    T = models.Topic
    RT = models.ResourceTopic
    rows = await session.execute(
        sa.select(RT.resource_id, *T.__table__.c)
        .join(T, T.id == RT.topic_id)
        .where(RT.resource_id.in_(ids))
        .order_by(RT.resource_id, T.id)
    )
    out: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        out[row.resource_id].append(row)
    return out


async def resources_by_topic(session: AsyncSession, topic_ids: list[int]) -> dict[int, list[Any]]:
    """Top-level resources (not episodes) of each topic."""
    RT = models.ResourceTopic
    rows = await session.execute(
        sa.select(RT.topic_id, *RESOURCE_COLUMNS)
        .join(Resource, Resource.id == RT.resource_id)
        .where(RT.topic_id.in_(topic_ids), Resource.series_id.is_(None))
        .order_by(RT.topic_id, Resource.id)
    )
    out: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        out[row.topic_id].append(row)
    return out


async def resources_by_post(session: AsyncSession, post_ids: list[int]) -> dict[int, list[Any]]:
    PR = models.PostResource
    rows = await session.execute(
        sa.select(PR.post_id, *RESOURCE_COLUMNS)
        .join(Resource, Resource.id == PR.resource_id)
        .where(PR.post_id.in_(post_ids))
        .order_by(PR.post_id, Resource.id)
    )
    out: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        out[row.post_id].append(row)
    return out


async def episodes_by_series(session: AsyncSession, ids: list[int]) -> dict[int, list[Any]]:
    rows = await session.execute(
        sa.select(*RESOURCE_COLUMNS)
        .where(Resource.series_id.in_(ids))
        .order_by(Resource.series_id, Resource.position, Resource.id)
    )
    out: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        out[row.series_id].append(row)
    return out


async def click_counts(session: AsyncSession, ids: list[int]) -> dict[int, int]:
    C = models.ResourceClick
    rows = await session.execute(
        sa.select(C.resource_id, sa.func.count())
        .where(C.resource_id.in_(ids))
        .group_by(C.resource_id)
    )
    return dict(rows.all())


async def record_click(session: AsyncSession, resource_id: int, client: str) -> None:
    await session.execute(
        sa.insert(models.ResourceClick).values(resource_id=resource_id, client=client)
    )


async def create_resource(session: AsyncSession, *, topic_ids: list[int], **values: Any) -> Any:
    """Insert a resource; None when a resource with the same normalised URL exists."""
    row = (
        await session.execute(
            insert(Resource)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Resource.normalized_url])
            .returning(*RESOURCE_COLUMNS)
        )
    ).first()
    if row is not None and topic_ids:
        await session.execute(
            sa.insert(models.ResourceTopic),
            [{"resource_id": row.id, "topic_id": topic_id} for topic_id in topic_ids],
        )
    return row
