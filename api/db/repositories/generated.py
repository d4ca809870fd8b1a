"""What the synthetic network generator (``api.seed.generator``) writes besides posts.

Its posts go through the one write path (``posts_write``); here are the people, groups and
histories (follower counts, early metric observations) a mirror would have gathered over
time, as set-based inserts of arrays.  Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models

_TABLES = {"person": models.Person, "microblog_group": models.MicroblogGroup}


async def lock(session: AsyncSession) -> None:
    """Two generators at once would pick the same external ids: the second waits."""
    await session.execute(
        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext("campaign-generator")))
    )


async def next_external_id(session: AsyncSession, table: str) -> int:
    """After the largest one, so generated data can go on top of demo or earlier data."""
    model: Any = _TABLES.get(table, models.Post)
    found = await session.scalar(sa.select(sa.func.coalesce(sa.func.max(model.external_id), 0)))
    return int(found or 0) + 1


async def person_external_ids(session: AsyncSession) -> list[int]:
    P = models.Person
    return list((await session.execute(sa.select(P.external_id).order_by(P.id))).scalars())


async def resources(session: AsyncSession) -> list[tuple[str, str]]:
    """(url, normalised url) of every resource, in id order."""
    R = models.Resource
    rows = await session.execute(sa.select(R.url, R.normalized_url).order_by(R.id))
    return [(a, b) for a, b in rows.all()]


_PEOPLE = sa.text("""
INSERT INTO person (external_id, full_name, email, job_title, department, web_url,
    follower_count, following_count, synced_at)
SELECT *, CAST(:at AS timestamptz) FROM unnest(CAST(:ext AS bigint[]), CAST(:name AS text[]),
    CAST(:email AS text[]), CAST(:title AS text[]), CAST(:dept AS text[]),
    CAST(:web_url AS text[]), CAST(:followers AS int[]), CAST(:following AS int[]))
ORDER BY 1
""")
_FOLLOWERS = sa.text("""
INSERT INTO follower_snapshot (person_id, observed_at, followers)
SELECT p.id, h.observed_at, h.followers
FROM unnest(CAST(:ext AS bigint[]), CAST(:observed AS timestamptz[]), CAST(:n AS int[]))
    AS h (external_id, observed_at, followers)
JOIN person p ON p.external_id = h.external_id
""")
_GROUPS = sa.text("""
INSERT INTO microblog_group (external_id, name, description, privacy, member_count, web_url,
    joined, synced_at)
SELECT *, CAST(:at AS timestamptz) FROM unnest(CAST(:ext AS bigint[]), CAST(:name AS text[]),
    CAST(:description AS text[]), CAST(:privacy AS text[]), CAST(:members AS int[]),
    CAST(:web_url AS text[]), CAST(:joined AS boolean[]))
ORDER BY 1
""")
_METRICS = sa.text("""
INSERT INTO post_metrics_snapshot (post_id, observed_at, likes, replies, shares)
SELECT p.id, h.observed_at, h.likes, h.replies, h.shares
FROM unnest(CAST(:ext AS bigint[]), CAST(:observed AS timestamptz[]), CAST(:likes AS int[]),
    CAST(:replies AS int[]), CAST(:shares AS int[]))
    AS h (external_id, observed_at, likes, replies, shares)
JOIN post p ON p.external_id = h.external_id
ON CONFLICT DO NOTHING
""")


def _columns(rows: Sequence[Sequence[Any]], names: Sequence[str]) -> dict[str, list[Any]]:
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


async def insert_people(
    session: AsyncSession, rows: Sequence[Sequence[Any]], observed_at: datetime
) -> None:
    """(external id, name, email, title, department, web url, followers, following) rows."""
    if rows:
        names = ("ext", "name", "email", "title", "dept", "web_url", "followers", "following")
        await session.execute(_PEOPLE, {**_columns(rows, names), "at": observed_at})


async def insert_follower_history(session: AsyncSession, rows: Sequence[Sequence[Any]]) -> None:
    """(person external id, observed at, followers) rows."""
    if rows:
        await session.execute(_FOLLOWERS, _columns(rows, ("ext", "observed", "n")))


async def insert_groups(
    session: AsyncSession, rows: Sequence[Sequence[Any]], observed_at: datetime
) -> None:
    """(external id, name, description, privacy, members, web url, joined) rows."""
    if rows:
        names = ("ext", "name", "description", "privacy", "members", "web_url", "joined")
        await session.execute(_GROUPS, {**_columns(rows, names), "at": observed_at})


async def insert_metric_history(session: AsyncSession, rows: Sequence[Sequence[Any]]) -> None:
    """Earlier observations of posts' figures: (external id, at, likes, replies, shares)."""
    if rows:
        names = ("ext", "observed", "likes", "replies", "shares")
        await session.execute(_METRICS, _columns(rows, names))


async def analyze(session: AsyncSession) -> None:
    # Autovacuum may take a while to notice a bulk load; until it does the planner guesses
    # from an empty table.
    for table in ("person", "follower_snapshot", "microblog_group", "post", "post_hashtag"):
        await session.execute(sa.text(f"ANALYZE {table}"))
    await session.execute(sa.text("ANALYZE post_resource, post_metrics_snapshot"))
    # The tables the write path maintains beside the posts (migrations t8c1, r8a1): without
    # statistics the planner takes a topic's 200,000 author-rollup rows for one and reads
    # them once per topic (a nested loop; ManagerLeaderboard ~1.4 s at 300,000 posts).
    await session.execute(
        sa.text(
            "ANALYZE rollup_day, rollup_author_day, rollup_author_bits, hashtag_post_count,"
            " group_post_count, resource_post_count"
        )
    )
