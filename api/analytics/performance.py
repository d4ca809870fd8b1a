"""Performance of a scope's thread starters over a range, scanned from the posts themselves.

Meanings (contract README): thread starters created in [since, until); likes and replies are
the counts those posts have now; active authors are the distinct people who wrote those posts
or replied to them within the range.  A timeline point is the same for its calendar period.

These scans define the figures: ``api.analytics.rollups`` answers from the daily rollups and
falls back to them for what the rollups cannot hold (ranges shorter than a whole UTC day,
scopes without rollups); the differential tests hold the two equal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from api.db import models
from api.db.repositories.paging import unnest_keys
from api.db.repositories.scopes import SCOPES, Scope, membership
from api.domain.enums import PostKind
from api.domain.periods import Interval

P = models.Post


@dataclass(frozen=True, slots=True)
class Totals:
    posts: int = 0
    likes: int = 0
    replies: int = 0
    active_authors: int = 0


def bucket_of(interval: Interval | None, column: Any) -> Any:
    if interval is None:
        return sa.literal(None, sa.Date())
    unit = interval.value.lower()
    return sa.cast(sa.func.date_trunc(unit, sa.func.timezone("UTC", column)), sa.Date())


def within(column: Any, windows: list[tuple[datetime, datetime]]) -> sa.ColumnElement[bool]:
    """``column`` in one of the half-open ``windows``."""
    return sa.or_(*(sa.and_(column >= lo, column < hi) for lo, hi in windows))


def starters_cte(
    scope: Scope,
    keys: list[Any],
    windows: list[tuple[datetime, datetime]],
    bucket: Any,
    name: str = "starters",
    member: Callable[[Scope, Any], sa.ColumnElement[bool]] = membership,
) -> Any:
    """Live starters of each parent created within ``windows``, as a CTE; ``member`` is the
    scope's condition (``membership`` unless the caller probes otherwise)."""
    parent = unnest_keys(keys, SCOPES[scope].key_type)
    inner = (
        sa.select(
            P.id,
            P.author_id,
            P.like_count,
            P.reply_count,
            P.kind,
            bucket(P.created_at).label("bucket"),
        )
        .where(member(scope, parent.c.key), within(P.created_at, windows))
        .lateral("s")
    )
    return sa.select(parent.c.key, inner).select_from(parent.join(inner, sa.true())).cte(name)


async def scan_totals(
    session: AsyncSession,
    scope: Scope,
    keys: list[Any],
    since: datetime,
    until: datetime,
    interval: Interval | None = None,
    authors: bool = True,
) -> dict[Any, dict[date | None, Totals]]:
    """Totals per parent key and per period (the single key None when no interval is given).

    Active authors take the union of starters' and in-range replies' authors, the costliest
    part; ``authors=False`` leaves it out (``active_authors`` is then 0) for callers that do
    not show it.
    """

    def bucket(column: Any) -> Any:
        return bucket_of(interval, column)

    starters = starters_cte(scope, keys, [(since, until)], bucket)
    post_totals = (
        sa.select(
            starters.c.key,
            starters.c.bucket,
            sa.func.count().label("posts"),
            sa.func.coalesce(sa.func.sum(starters.c.like_count), 0).label("likes"),
            sa.func.coalesce(sa.func.sum(starters.c.reply_count), 0).label("replies"),
        )
        .group_by(starters.c.key, starters.c.bucket)
        .subquery("post_totals")
    )
    out: dict[Any, dict[date | None, Totals]] = defaultdict(dict)
    if not authors:
        for row in await session.execute(sa.select(post_totals)):
            out[row.key][row.bucket] = Totals(row.posts, int(row.likes), int(row.replies))
        return out
    R = aliased(P, name="r")
    reply_authors = (
        sa.select(starters.c.key, starters.c.bucket, R.author_id)
        .join(R, R.thread_starter_id == starters.c.id)
        .where(R.deleted_at.is_(None), R.created_at >= since, R.created_at < until)
    )
    if interval is not None:
        # A reply counts in its starter's period only when written within that period.
        reply_authors = reply_authors.where(bucket(R.created_at) == starters.c.bucket)
    everyone = sa.union(
        sa.select(starters.c.key, starters.c.bucket, starters.c.author_id), reply_authors
    ).subquery("authors")
    author_totals = (
        sa.select(everyone.c.key, everyone.c.bucket, sa.func.count().label("authors"))
        .group_by(everyone.c.key, everyone.c.bucket)
        .subquery("author_totals")
    )
    stmt = sa.select(
        post_totals, sa.func.coalesce(author_totals.c.authors, 0).label("authors")
    ).join(
        author_totals,
        sa.and_(
            author_totals.c.key == post_totals.c.key,
            author_totals.c.bucket.is_not_distinct_from(post_totals.c.bucket),
        ),
        isouter=True,
    )
    for row in await session.execute(stmt):
        out[row.key][row.bucket] = Totals(row.posts, int(row.likes), int(row.replies), row.authors)
    return out


async def scan_totals_by_kind(
    session: AsyncSession, scope: Scope, keys: list[Any], since: datetime, until: datetime
) -> dict[Any, dict[PostKind, Totals]]:
    starters = starters_cte(
        scope, keys, [(since, until)], lambda column: sa.literal(None, sa.Date())
    )
    stmt = (
        sa.select(
            starters.c.key,
            starters.c.kind,
            sa.func.count().label("posts"),
            sa.func.sum(starters.c.like_count).label("likes"),
            sa.func.sum(starters.c.reply_count).label("replies"),
        )
        .group_by(starters.c.key, starters.c.kind)
        .order_by(starters.c.key, starters.c.kind)
    )
    out: dict[Any, dict[PostKind, Totals]] = defaultdict(dict)
    for row in await session.execute(stmt):
        out[row.key][row.kind] = Totals(row.posts, int(row.likes), int(row.replies))
    return out


async def followers_before(
    session: AsyncSession, keys: list[tuple[int, datetime]]
) -> dict[tuple[int, datetime], int]:
    """A person's follower count just before an instant: the last snapshot observed before it.

    Ranges and periods are half-open, ``[since, until)``: a snapshot observed at ``since``
    belongs to the range and one observed at ``until`` to the next.  So a range's change is
    ``before(until) - before(since)``, and a period's closing count (the last snapshot within
    it) is ``before(period end)``; adjacent ranges' changes add up with no double counting.

    Before the first snapshot the count is taken to be the first snapshot's (nothing is known
    of earlier growth); with no snapshots at all, the person's current count.
    """
    S = models.FollowerSnapshot
    person_ids = [person_id for person_id, _ in keys]
    moments = [moment for _, moment in keys]
    k = (
        sa.func.unnest(
            sa.literal(person_ids, sa.ARRAY(sa.BigInteger())),
            sa.literal(moments, sa.ARRAY(sa.DateTime(timezone=True))),
        )
        .table_valued("person_id", "moment")
        .render_derived(name="k")
    )

    def snapshot(*conditions: Any, newest: bool) -> Any:
        order = S.observed_at.desc() if newest else S.observed_at.asc()
        return (
            sa.select(S.followers)
            .where(S.person_id == k.c.person_id, *conditions)
            .order_by(order)
            .limit(1)
            .correlate(k)
            .scalar_subquery()
        )

    current = (
        sa.select(models.Person.follower_count)
        .where(models.Person.id == k.c.person_id)
        .correlate(k)
        .scalar_subquery()
    )
    value = sa.func.coalesce(
        snapshot(S.observed_at < k.c.moment, newest=True), snapshot(newest=False), current, 0
    )
    rows = await session.execute(sa.select(k.c.person_id, k.c.moment, value.label("followers")))
    return {(row.person_id, row.moment): row.followers for row in rows}
