"""Reading the maintained post counts (api/db/models/counts.py), and counting afresh.

A topic's, a group's and a resource's posts are live thread starters linked to the key;
triggers (migration t8c1) keep their numbers in the transaction of every write, so
``totalCount`` of an unfiltered feed reads a row or two per key instead of counting tens of
thousands of posts.  ``fresh`` counts the same definition from the posts themselves: the
reference the tests hold the maintained numbers to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models
from api.db.repositories.scopes import Scope

# The scopes whose unfiltered counts are maintained: the count table and its key column.
MAINTAINED: dict[Scope, tuple[Any, Any]] = {
    Scope.TOPIC: (models.HashtagPostCount, models.HashtagPostCount.hashtag),
    Scope.GROUP: (models.GroupPostCount, models.GroupPostCount.group_id),
    Scope.RESOURCE: (models.ResourcePostCount, models.ResourcePostCount.resource_id),
}


def _summed(scope: Scope) -> Any:
    """A key's count: the sum of its delta rows (api/db/models/counts.py)."""
    table, _key = MAINTAINED[scope]
    return sa.func.sum(table.starters)


def total(scope: Scope, key: Any) -> sa.ScalarSelect[Any]:
    """One key's maintained count as a scalar subquery (0 when it has no rows), for statements
    that count inside a larger query (the compiled plans, api/db/compiled/compiler.py)."""
    _table, column = MAINTAINED[scope]
    summed = sa.cast(sa.func.coalesce(_summed(scope), 0), sa.BigInteger)
    return sa.select(summed).where(column == key).scalar_subquery()


async def maintained(session: AsyncSession, scope: Scope, keys: Sequence[Any]) -> dict[Any, int]:
    """Each key's live thread starters; a key with no rows has none."""
    _table, key = MAINTAINED[scope]
    rows = await session.execute(
        sa.select(key, _summed(scope)).where(key.in_(list(keys))).group_by(key)
    )
    found = {k: int(n) for k, n in rows}
    return {k: found.get(k, 0) for k in keys}


async def all_maintained(session: AsyncSession, scope: Scope) -> dict[Any, int]:
    """Every key's maintained count (keys whose rows sum to nothing included)."""
    _table, key = MAINTAINED[scope]
    rows = await session.execute(sa.select(key, _summed(scope)).group_by(key))
    return {k: int(n) for k, n in rows if n}


async def all_fresh(session: AsyncSession, scope: Scope) -> dict[Any, int]:
    """Every key's live thread starters, counted from the posts: what ``maintained`` keeps."""
    P = models.Post
    live = [P.thread_starter_id.is_(None), P.deleted_at.is_(None)]
    stmt: Any  # one of three typed selects
    if scope is Scope.GROUP:
        stmt = sa.select(P.group_id, sa.func.count()).where(*live, P.group_id.is_not(None))
        stmt = stmt.group_by(P.group_id)
    elif scope is Scope.TOPIC:
        H = models.PostHashtag
        stmt = sa.select(H.hashtag, sa.func.count()).join(P, P.id == H.post_id).where(*live)
        stmt = stmt.group_by(H.hashtag)
    else:
        R = models.PostResource
        stmt = sa.select(R.resource_id, sa.func.count()).join(P, P.id == R.post_id).where(*live)
        stmt = stmt.group_by(R.resource_id)
    return {k: int(n) for k, n in await session.execute(stmt)}


async def rebuild(session: AsyncSession) -> None:
    """Count every key afresh, in place of the maintained rows: after the triggers were
    disabled (a benchmark, a bulk repair).  Blocks writers of posts and links meanwhile."""
    await session.execute(sa.text("LOCK TABLE post, post_hashtag, post_resource IN SHARE MODE"))
    for scope, (table, key) in MAINTAINED.items():
        await session.execute(sa.delete(table))
        fresh = await all_fresh(session, scope)
        if fresh:
            await session.execute(
                sa.insert(table), [{key.key: k, "starters": n} for k, n in sorted(fresh.items())]
            )
