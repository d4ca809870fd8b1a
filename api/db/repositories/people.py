"""People, groups and follower history."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models
from api.db.pagination import Page, PageResult
from api.db.repositories.paging import count_all, count_per_parent, page_all, page_per_parent

Person = models.Person
Group = models.MicroblogGroup
PERSON_COLUMNS = [c for c in Person.__table__.c if c.name != "search"]
GROUP_COLUMNS = list(Group.__table__.c)
_WORD = re.compile(r"\w+", re.UNICODE)


def search_query(text: str | None) -> str | None:
    """The ``to_tsquery('simple', ...)`` text of a people search: every word as a prefix."""
    words = _WORD.findall(text or "")
    return " & ".join(f"{word.lower()}:*" for word in words) if words else None


def people_search(text: str | None) -> list[sa.ColumnElement[bool]]:
    """Prefix match on every word of ``text`` across name, job title and department."""
    query = search_query(text)
    if query is None:
        return []
    return [
        Person.search.op("@@")(sa.func.to_tsquery(sa.literal_column("'simple'::regconfig"), query))
    ]


async def get_people(session: AsyncSession, ids: list[int]) -> dict[int, Any]:
    rows = await session.execute(sa.select(*PERSON_COLUMNS).where(Person.id.in_(ids)))
    return {row.id: row for row in rows}


async def find_person(session: AsyncSession, subject: str) -> Any:
    """The person a token's subject names: an email, or a person id."""
    if subject.isascii() and subject.isdigit():
        if int(subject) >= 2**63:  # not a BIGINT, so nobody's id
            return None
        condition = Person.id == int(subject)
    else:
        condition = sa.func.lower(Person.email) == subject.lower()
    return (await session.execute(sa.select(*PERSON_COLUMNS).where(condition))).first()


async def page_people(session: AsyncSession, search: str | None, page: Page) -> PageResult:
    conditions = people_search(search)
    return await page_all(
        session,
        columns=PERSON_COLUMNS,
        where=conditions,
        sort=Person.full_name,
        id_col=Person.id,
        page=page,
    )


def maintained_total() -> sa.ScalarSelect[Any]:
    """How many people there are, from the maintained count (``person_count``, kept by
    triggers on ``person``, migration p4c1) instead of counting every person: the one
    expression the resolvers and the compiled plans (api/db/compiled/compiler.py) read."""
    summed = sa.func.coalesce(sa.func.sum(models.PersonCount.people), 0)
    return sa.select(sa.cast(summed, sa.BigInteger)).scalar_subquery()


async def count_people(session: AsyncSession, search: str | None) -> int:
    conditions = people_search(search)
    if not conditions:
        return int((await session.execute(sa.select(maintained_total()))).scalar_one())
    return await count_all(session, Person, conditions)


async def get_groups(session: AsyncSession, ids: list[int]) -> dict[int, Any]:
    rows = await session.execute(sa.select(*GROUP_COLUMNS).where(Group.id.in_(ids)))
    return {row.id: row for row in rows}


def _campaign_groups(key: Any) -> list[sa.ColumnElement[bool]]:
    return [
        Group.id.in_(
            sa.select(models.CampaignGroup.group_id)
            .where(models.CampaignGroup.campaign_id == key)
            .correlate_except(models.CampaignGroup)
        )
    ]


async def page_groups_by_campaign(
    session: AsyncSession, campaign_ids: list[int], page: Page
) -> dict[int, PageResult]:
    return await page_per_parent(
        session,
        columns=GROUP_COLUMNS,
        keys=campaign_ids,
        key_type=sa.BigInteger(),
        where=_campaign_groups,
        sort=Group.name,
        id_col=Group.id,
        page=page,
    )


async def count_groups_by_campaign(
    session: AsyncSession, campaign_ids: list[int]
) -> dict[int, int]:
    return await count_per_parent(
        session, table=Group, keys=campaign_ids, key_type=sa.BigInteger(), where=_campaign_groups
    )


def _group_search(search: str | None) -> list[sa.ColumnElement[bool]]:
    # autoescape: a '%' or '_' in the search is a character to find, not a wildcard.
    return [Group.name.icontains(search, autoescape=True)] if search else []


async def page_groups(session: AsyncSession, search: str | None, page: Page) -> PageResult:
    conditions = _group_search(search)
    return await page_all(
        session,
        columns=GROUP_COLUMNS,
        where=conditions,
        sort=Group.name,
        id_col=Group.id,
        page=page,
    )


async def count_groups(session: AsyncSession, search: str | None) -> int:
    return await count_all(session, Group, _group_search(search))


async def follower_snapshots(session: AsyncSession, person_ids: list[int]) -> dict[int, list[Any]]:
    """Every snapshot of these people, oldest first (growth series are computed in SQL elsewhere)."""
    S = models.FollowerSnapshot
    rows = await session.execute(
        sa.select(S.person_id, S.observed_at, S.followers)
        .where(S.person_id.in_(person_ids))
        .order_by(S.person_id, S.observed_at)
    )
    out: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        out[row.person_id].append(row)
    return out


async def record_followers(
    session: AsyncSession, person_id: int, followers: int, observed_at: Any
) -> bool:
    """Set a person's follower count; append a snapshot only when it changed."""
    previous = (
        await session.execute(
            sa.select(Person.follower_count).where(Person.id == person_id).with_for_update()
        )
    ).scalar_one()
    last = (
        await session.execute(
            sa.select(models.FollowerSnapshot.followers)
            .where(models.FollowerSnapshot.person_id == person_id)
            .order_by(models.FollowerSnapshot.observed_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if last == followers and previous == followers:
        return False
    await session.execute(
        sa.update(Person).where(Person.id == person_id).values(follower_count=followers)
    )
    if last != followers:
        await session.execute(
            sa.insert(models.FollowerSnapshot).values(
                person_id=person_id, observed_at=observed_at, followers=followers
            )
        )
    return True
