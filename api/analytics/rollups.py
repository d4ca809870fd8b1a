"""Performance of topics and campaigns from the daily rollups (migration r8a1), batched by parent.

The rollups hold whole UTC days by the starter's day of creation; a range's whole days are read
from them (hundreds of rows, however many posts) and its partial edge days are scanned live,
so every answer equals ``api.analytics.performance``'s scan of the whole range exactly:

- posts, likes, replies: the rollup sums for the whole days plus the edge starters' figures
  (likes and replies are the starters' current counts, which the rollups keep current);
- active authors: a distinct count cannot be summed over days, so ``rollup_author_day`` keeps
  one row per (starter's day, contribution's day, author); an author counts for the whole days
  when both days of one of their rows are among them.  They are read as ``rollup_author_bits``
  (migration c7w2), the same set as bitmaps of author ids per day pair and chunk of ids: a
  few rows per day pair, not one per contribution.  The edges add, by a live scan, the
  starters created in an edge window with their in-range replies' authors, and the replies
  written in an edge window to starters of the whole days, each as its own bit.  The bitmaps
  are OR-ed per chunk and their bits counted: each author once.

A range with no whole UTC day (under a day long) is scanned: it is small.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from api.analytics.performance import (
    Totals,
    bucket_of,
    scan_totals,
    scan_totals_by_kind,
    starters_cte,
    within,
)
from api.db import models
from api.db.repositories.paging import unnest_keys
from api.db.repositories.scopes import SCOPES, Scope, membership
from api.domain.enums import PostKind
from api.domain.periods import Interval, Split, split

P = models.Post
DAY = models.RollupDay
BITS = models.RollupAuthorBits
# The scopes the rollups hold, with their letter in the tables' `scope` column.
ROLLED = {Scope.TOPIC: "T", Scope.CAMPAIGN: "C"}


def probed(scope: Scope, key: Any) -> sa.ColumnElement[bool]:
    """``membership`` for the edge windows, which hold few posts: each post is probed by
    primary key (``LIMIT 1`` keeps the planner from turning the probe into a hash of every
    post under the topic's hashtag or the campaign's topics, 60,000 and more at 300,000 posts)."""
    H, T, G = models.PostHashtag, models.Topic, models.CampaignGroup
    if scope is Scope.TOPIC:
        tagged = sa.select(sa.literal(1)).where(H.post_id == P.id, H.hashtag == key)
        condition = _probe(tagged.correlate_except(H))
    elif scope is Scope.CAMPAIGN:
        on_topic = (
            sa.select(sa.literal(1))
            .select_from(H)
            .join(T, T.hashtag == H.hashtag)
            .where(H.post_id == P.id, T.campaign_id == key)
            .correlate_except(H, T)
        )
        in_group = (
            sa.select(sa.literal(1))
            .where(G.group_id == P.group_id, G.campaign_id == key)
            .correlate_except(G)
        )
        condition = sa.or_(_probe(on_topic), _probe(in_group))
    else:
        return membership(scope, key)
    return sa.and_(condition, P.deleted_at.is_(None), P.thread_starter_id.is_(None))


def _probe(stmt: Any) -> sa.ColumnElement[bool]:
    return stmt.limit(1).scalar_subquery().is_not(None)


def _day_bucket(interval: Interval | None, day: Any) -> Any:
    """The period a rollup day falls in, as ``bucket_of`` gives it for an instant that day."""
    if interval is None:
        return sa.literal(None, sa.Date())
    unit = interval.value.lower()
    return sa.cast(sa.func.date_trunc(unit, sa.cast(day, sa.DateTime())), sa.Date())


def _rolled_keys(keys: list[Any]) -> dict[str, Any]:
    """The tables' text keys (a campaign's id, a topic's hashtag) -> the caller's keys."""
    return {str(key): key for key in keys}


async def totals(
    session: AsyncSession,
    scope: Scope,
    keys: list[Any],
    since: datetime,
    until: datetime,
    interval: Interval | None = None,
    authors: bool = True,
) -> dict[Any, dict[date | None, Totals]]:
    """As ``performance.scan_totals``: per parent key and per period (None without interval)."""
    parts = split(since, until)
    if scope not in ROLLED or parts is None:
        return await scan_totals(session, scope, keys, since, until, interval, authors)
    letter, by_text = ROLLED[scope], _rolled_keys(keys)

    def bucket(column: Any) -> Any:
        return bucket_of(interval, column)

    day_bucket = _day_bucket(interval, DAY.day).label("bucket")
    counts = [
        sa.select(DAY.key, day_bucket, DAY.posts, DAY.likes, DAY.replies).where(
            DAY.scope == letter,
            DAY.key.in_(list(by_text)),
            DAY.day >= parts.first,
            DAY.day < parts.end,
        )
    ]
    edge = None
    if parts.edges:
        edge = starters_cte(scope, keys, parts.edges, bucket, name="edge", member=probed)
        counts.append(
            sa.select(
                sa.cast(edge.c.key, sa.Text()),
                edge.c.bucket,
                sa.literal(1, sa.BigInteger()),
                edge.c.like_count,
                edge.c.reply_count,
            )
        )
    everything = sa.union_all(*counts).subquery("counts")
    post_totals = (
        sa.select(
            everything.c.key,
            everything.c.bucket,
            sa.func.sum(everything.c.posts).label("posts"),
            sa.func.sum(everything.c.likes).label("likes"),
            sa.func.sum(everything.c.replies).label("replies"),
        )
        .group_by(everything.c.key, everything.c.bucket)
        .having(sa.func.sum(everything.c.posts) > 0)
        .subquery("post_totals")
    )
    out: dict[Any, dict[date | None, Totals]] = defaultdict(dict)
    if not authors:
        for row in await session.execute(sa.select(post_totals)):
            out[by_text[row.key]][row.bucket] = Totals(
                int(row.posts), int(row.likes), int(row.replies)
            )
        return out
    author_parts = [_rolled_authors(letter, list(by_text), parts, interval)]
    if edge is not None:
        edge_authors = _edge_authors(scope, keys, since, until, parts, edge, interval, bucket)
        author_parts += [_one_bit(part.subquery()) for part in edge_authors]
    everyone = sa.union_all(*author_parts).subquery("authors")
    # One bitmap per (parent, period, chunk of ids), then its bits counted: each author once,
    # without a row per contribution.
    bitmaps = (
        sa.select(everyone.c.key, everyone.c.bucket, sa.func.bit_or(everyone.c.bits).label("m"))
        .group_by(everyone.c.key, everyone.c.bucket, everyone.c.chunk)
        .subquery("bitmaps")
    )
    author_totals = (
        sa.select(
            bitmaps.c.key,
            bitmaps.c.bucket,
            sa.cast(sa.func.sum(sa.func.bit_count(bitmaps.c.m)), sa.BigInteger).label("authors"),
        )
        .group_by(bitmaps.c.key, bitmaps.c.bucket)
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
        out[by_text[row.key]][row.bucket] = Totals(
            int(row.posts), int(row.likes), int(row.replies), int(row.authors)
        )
    return out


def _rolled_authors(letter: str, keys: list[str], parts: Split, interval: Interval | None) -> Any:
    """Bitmaps of the authors of contributions whose starter and own days are both whole days
    of the range (and, per period, in the same period): ``rollup_author_bits``, migration c7w2."""
    stmt = sa.select(
        BITS.key.label("key"),
        _day_bucket(interval, BITS.day).label("bucket"),
        BITS.chunk.label("chunk"),
        BITS.bits.label("bits"),
    ).where(
        BITS.scope == letter,
        BITS.key.in_(keys),
        BITS.day >= parts.first,
        BITS.day < parts.end,
        BITS.other_day >= parts.first,
        BITS.other_day < parts.end,
    )
    if interval is not None:
        stmt = stmt.where(_day_bucket(interval, BITS.day) == _day_bucket(interval, BITS.other_day))
    return stmt


def _one_bit(rows: Any) -> Any:
    """(key, bucket, author_id) rows as rollup_author_bits' (key, bucket, chunk, bits)."""
    key, bucket, author = list(rows.c)
    return sa.select(
        key,
        bucket,
        author.op(">>")(sa.literal_column("12")),
        sa.literal_column("B'1'::bit(4096)").op(">>")(
            sa.cast(author.op("&")(sa.literal_column("4095")), sa.Integer)
        ),
    )


def _edge_authors(
    scope: Scope,
    keys: list[Any],
    since: datetime,
    until: datetime,
    parts: Split,
    edge: Any,
    interval: Interval | None,
    bucket: Any,
) -> list[Any]:
    """Authors the edge windows add: edge starters' and their in-range replies', and in-edge
    replies to starters of the whole days."""
    R = aliased(P, name="r")
    replies_to_edge = (
        sa.select(sa.cast(edge.c.key, sa.Text()), edge.c.bucket, R.author_id)
        .join(R, R.thread_starter_id == edge.c.id)
        .where(R.deleted_at.is_(None), R.created_at >= since, R.created_at < until)
    )
    if interval is not None:
        replies_to_edge = replies_to_edge.where(bucket(R.created_at) == edge.c.bucket)
    parent = unnest_keys(keys, SCOPES[scope].key_type)
    conditions = [
        probed(scope, parent.c.key),
        within(P.created_at, [parts.whole]),
        R.deleted_at.is_(None),
        within(R.created_at, parts.edges),
    ]
    if interval is not None:
        conditions.append(bucket(R.created_at) == bucket(P.created_at))
    inner = (
        sa.select(bucket(P.created_at).label("bucket"), R.author_id)
        .select_from(P)
        .join(R, R.thread_starter_id == P.id)
        .where(*conditions)
        .lateral("w")
    )
    edge_replies = sa.select(
        sa.cast(parent.c.key, sa.Text()), inner.c.bucket, inner.c.author_id
    ).select_from(parent.join(inner, sa.true()))
    return [
        sa.select(sa.cast(edge.c.key, sa.Text()), edge.c.bucket, edge.c.author_id),
        replies_to_edge,
        edge_replies,
    ]


async def totals_by_kind(
    session: AsyncSession, scope: Scope, keys: list[Any], since: datetime, until: datetime
) -> dict[Any, dict[PostKind, Totals]]:
    """As ``performance.scan_totals_by_kind``."""
    parts = split(since, until)
    if scope not in ROLLED or parts is None:
        return await scan_totals_by_kind(session, scope, keys, since, until)
    letter, by_text = ROLLED[scope], _rolled_keys(keys)
    counts = [
        sa.select(DAY.key, DAY.kind, DAY.posts, DAY.likes, DAY.replies).where(
            DAY.scope == letter,
            DAY.key.in_(list(by_text)),
            DAY.day >= parts.first,
            DAY.day < parts.end,
        )
    ]
    if parts.edges:
        edge = starters_cte(
            scope,
            keys,
            parts.edges,
            lambda column: sa.literal(None, sa.Date()),
            name="edge",
            member=probed,
        )
        counts.append(
            sa.select(
                sa.cast(edge.c.key, sa.Text()),
                sa.cast(edge.c.kind, sa.Text()),
                sa.literal(1, sa.BigInteger()),
                edge.c.like_count,
                edge.c.reply_count,
            )
        )
    everything = sa.union_all(*counts).subquery("counts")
    stmt = (
        sa.select(
            everything.c.key,
            everything.c.kind,
            sa.func.sum(everything.c.posts).label("posts"),
            sa.func.sum(everything.c.likes).label("likes"),
            sa.func.sum(everything.c.replies).label("replies"),
        )
        .group_by(everything.c.key, everything.c.kind)
        .having(sa.func.sum(everything.c.posts) > 0)
        .order_by(everything.c.key, everything.c.kind)
    )
    out: dict[Any, dict[PostKind, Totals]] = defaultdict(dict)
    for row in await session.execute(stmt):
        out[by_text[row.key]][PostKind[row.kind]] = Totals(
            int(row.posts), int(row.likes), int(row.replies)
        )
    return out
