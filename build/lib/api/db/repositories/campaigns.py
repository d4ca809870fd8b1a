"""Campaigns, their goals, tracked groups and promotions."""

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
from api.domain.enums import GoalMetric, PromotionKind

Campaign = models.Campaign
Goal = models.CampaignGoal
Promotion = models.Promotion
CAMPAIGN_COLUMNS = list(Campaign.__table__.c)
GOAL_COLUMNS = list(Goal.__table__.c)
PROMOTION_COLUMNS = list(Promotion.__table__.c)


async def get_campaigns(session: AsyncSession, ids: list[int]) -> dict[int, Any]:
    rows = await session.execute(sa.select(*CAMPAIGN_COLUMNS).where(Campaign.id.in_(ids)))
    return {row.id: row for row in rows}


async def get_campaign_by_slug(session: AsyncSession, slug: str) -> Any:
    rows = await session.execute(sa.select(*CAMPAIGN_COLUMNS).where(Campaign.slug == slug))
    return rows.first()


async def page_campaigns(session: AsyncSession, page: Page) -> PageResult:
    return await page_all(
        session,
        columns=CAMPAIGN_COLUMNS,
        where=[],
        sort=Campaign.starts_on,
        id_col=Campaign.id,
        page=page,
    )


async def count_campaigns(session: AsyncSession) -> int:
    return await count_all(session, Campaign)


async def create_campaign(session: AsyncSession, **values: Any) -> Any:
    """Insert a campaign; None when the slug is taken."""
    row = await session.execute(
        insert(Campaign)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Campaign.slug])
        .returning(*CAMPAIGN_COLUMNS)
    )
    return row.first()


async def goals_by_campaign(session: AsyncSession, campaign_ids: list[int]) -> dict[int, list[Any]]:
    rows = await session.execute(
        sa.select(*GOAL_COLUMNS).where(Goal.campaign_id.in_(campaign_ids)).order_by(Goal.id)
    )
    out: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        out[row.campaign_id].append(row)
    return out


async def set_goal(
    session: AsyncSession, *, campaign_id: int, metric: GoalMetric, target: int, due_on: date | None
) -> Any:
    """One goal per metric: setting it again replaces target and due date."""
    stmt = insert(Goal).values(campaign_id=campaign_id, metric=metric, target=target, due_on=due_on)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Goal.campaign_id, Goal.metric],
        set_={"target": stmt.excluded.target, "due_on": stmt.excluded.due_on},
    )
    return (await session.execute(stmt.returning(*GOAL_COLUMNS))).one()


async def track_group(session: AsyncSession, *, campaign_id: int, group_id: int) -> None:
    await session.execute(
        insert(models.CampaignGroup)
        .values(campaign_id=campaign_id, group_id=group_id)
        .on_conflict_do_nothing()
    )


async def page_promotions_by_campaign(
    session: AsyncSession, campaign_ids: list[int], page: Page
) -> dict[int, PageResult]:
    return await page_per_parent(
        session,
        columns=PROMOTION_COLUMNS,
        keys=campaign_ids,
        key_type=sa.BigInteger(),
        where=lambda key: [Promotion.campaign_id == key],
        sort=Promotion.held_on,
        id_col=Promotion.id,
        page=page,
    )


async def count_promotions_by_campaign(
    session: AsyncSession, campaign_ids: list[int]
) -> dict[int, int]:
    return await count_per_parent(
        session,
        table=Promotion,
        keys=campaign_ids,
        key_type=sa.BigInteger(),
        where=lambda key: [Promotion.campaign_id == key],
    )


async def get_promotions(session: AsyncSession, ids: list[int]) -> dict[int, Any]:
    rows = await session.execute(sa.select(*PROMOTION_COLUMNS).where(Promotion.id.in_(ids)))
    return {row.id: row for row in rows}


async def create_promotion(
    session: AsyncSession,
    *,
    campaign_id: int,
    kind: PromotionKind,
    title: str,
    held_on: date,
    audience_size: int | None,
    notes: str | None,
    topic_ids: list[int],
) -> Any:
    row = (
        await session.execute(
            sa.insert(Promotion)
            .values(
                campaign_id=campaign_id,
                kind=kind,
                title=title,
                held_on=held_on,
                audience_size=audience_size,
                notes=notes,
            )
            .returning(*PROMOTION_COLUMNS)
        )
    ).one()
    if topic_ids:
        await session.execute(
            sa.insert(models.PromotionTopic),
            [{"promotion_id": row.id, "topic_id": topic_id} for topic_id in topic_ids],
        )
    return row


async def topics_by_promotion(
    session: AsyncSession, promotion_ids: list[int]
) -> dict[int, list[Any]]:
    T = models.Topic
    PT = models.PromotionTopic
    rows = await session.execute(
        sa.select(PT.promotion_id, *T.__table__.c)
        .join(T, T.id == PT.topic_id)
        .where(PT.promotion_id.in_(promotion_ids))
        .order_by(PT.promotion_id, T.id)
    )
    out: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        out[row.promotion_id].append(row)
    return out
