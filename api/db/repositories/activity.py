"""The change log behind live activity (``activity_change``) and what it means per campaign.

Writers (a worker's page, a mutation) ``record`` a row in their own transaction and
``NOTIFY`` its id on ``CHANNEL``: delivered when, and only if, the transaction commits, and
always a few bytes, however much changed. Readers (every API process's listener) read the rows
they are told about and turn them into events of the campaigns they have subscribers for.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models
from api.db.repositories.scopes import Scope, membership
from api.db.repositories.topics import not_ended
from api.domain.activity import ActivityEvent, CampaignChange, EventKind

CHANNEL = "campaign_activity"
Change = models.ActivityChange
P = models.Post
C = models.Campaign


async def record(
    session: AsyncSession,
    *,
    published: Iterable[int] = (),
    metrics: Iterable[int] = (),
    followers: Iterable[tuple[int, int, int]] = (),
    campaigns: Iterable[int] = (),
    change: CampaignChange | None = None,
) -> int | None:
    """Log what this transaction changed and notify its id; nothing when nothing changed.

    ``followers`` are (person id, follower count, delta)."""
    row = {
        "published": sorted(set(published)),
        "metrics": sorted(set(metrics)),
        "followers": [list(f) for f in followers],
        "campaigns": sorted(set(campaigns)),
        "change": change.value if change is not None else None,
    }
    if not (row["published"] or row["metrics"] or row["followers"] or row["campaigns"]):
        return None
    change_id: int = (
        await session.execute(sa.insert(Change).values(row).returning(Change.id))
    ).scalar_one()
    await session.execute(sa.select(sa.func.pg_notify(CHANNEL, str(change_id))))
    return change_id


async def changes(session: AsyncSession, ids: Collection[int]) -> list[Any]:
    stmt = sa.select(Change).where(Change.id.in_(ids)).order_by(Change.id)
    return list((await session.execute(stmt)).scalars())


async def changes_after(session: AsyncSession, last_id: int, limit: int = 1000) -> list[Any]:
    """Rows logged after ``last_id`` (what a listener missed while disconnected)."""
    stmt = sa.select(Change).where(Change.id > last_id).order_by(Change.id).limit(limit)
    return list((await session.execute(stmt)).scalars())


async def last_id(session: AsyncSession) -> int:
    return (
        await session.execute(sa.select(sa.func.coalesce(sa.func.max(Change.id), 0)))
    ).scalar_one()


async def prune(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(sa.delete(Change).where(Change.created_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


async def _posts_by_campaign(
    session: AsyncSession, post_ids: Collection[int], campaign_ids: Collection[int]
) -> list[Any]:
    """(campaign id, post id, created at) for each campaign's live thread starters among
    ``post_ids``: the same scope as the campaign's ``posts``."""
    if not post_ids:
        return []
    stmt = (
        sa.select(C.id.label("campaign_id"), P.id.label("post_id"), P.created_at)
        .select_from(C)
        .join(P, sa.true())
        .where(
            C.id.in_(campaign_ids),
            P.id.in_(post_ids),
            membership(Scope.CAMPAIGN, C.id),
        )
        .order_by(P.created_at, P.id)
    )
    return list((await session.execute(stmt)).all())


async def _people_by_campaign(
    session: AsyncSession, person_ids: Collection[int], campaign_ids: Collection[int]
) -> list[Any]:
    """(campaign id, person id) for campaign owners and current topic managers."""
    if not person_ids:
        return []
    T, M = models.Topic, models.TopicManager
    owners = sa.select(C.id.label("campaign_id"), C.owner_id.label("person_id")).where(
        C.id.in_(campaign_ids), C.owner_id.in_(person_ids)
    )
    managers = (
        sa.select(T.campaign_id, M.person_id)
        .join(M, M.topic_id == T.id)
        .where(
            T.campaign_id.in_(campaign_ids),
            M.person_id.in_(person_ids),
            not_ended(),
        )
    )
    return list((await session.execute(sa.union(owners, managers))).all())


async def events(
    session: AsyncSession, rows: Sequence[Any], campaign_ids: Collection[int]
) -> list[ActivityEvent]:
    """The events of ``rows`` for the campaigns ``campaign_ids``, in the rows' order."""
    found: list[ActivityEvent] = []
    if not campaign_ids:
        return found
    for row in rows:
        for post in await _posts_by_campaign(session, row.published, campaign_ids):
            found.append(
                ActivityEvent(
                    EventKind.POST_PUBLISHED,
                    post.campaign_id,
                    post.created_at,
                    post_id=post.post_id,
                )
            )
        for post in await _posts_by_campaign(session, row.metrics, campaign_ids):
            found.append(
                ActivityEvent(
                    EventKind.POST_METRICS_CHANGED,
                    post.campaign_id,
                    row.created_at,
                    post_id=post.post_id,
                )
            )
        deltas = {int(person): int(delta) for person, _count, delta in row.followers}
        for pair in await _people_by_campaign(session, deltas, campaign_ids):
            found.append(
                ActivityEvent(
                    EventKind.FOLLOWERS_CHANGED,
                    pair.campaign_id,
                    row.created_at,
                    person_id=pair.person_id,
                    delta=deltas[pair.person_id],
                )
            )
        if row.change is not None:
            change = CampaignChange(row.change)
            found.extend(
                ActivityEvent(EventKind.CAMPAIGN_CHANGED, c, row.created_at, change=change)
                for c in row.campaigns
                if c in campaign_ids
            )
    return found


async def record_campaign_change(
    session: AsyncSession,
    change: CampaignChange,
    *,
    campaigns: Iterable[int] = (),
    topics: Iterable[int] = (),
    posts: Iterable[int] = (),
) -> int | None:
    """Log a mutation's change to the campaigns named, those of ``topics`` and those whose
    posts include ``posts``; notified when (and only if) the mutation commits."""
    found = set(campaigns)
    topic_ids, post_ids = list(topics), list(posts)
    if topic_ids:
        stmt = sa.select(models.Topic.campaign_id).where(models.Topic.id.in_(topic_ids))
        found.update((await session.execute(stmt)).scalars())
    if post_ids:
        stmt = (
            sa.select(C.id)
            .select_from(C)
            .join(P, sa.true())
            .where(P.id.in_(post_ids), membership(Scope.CAMPAIGN, C.id))
        )
        found.update((await session.execute(stmt)).scalars())
    return await record(session, campaigns=found, change=change)
