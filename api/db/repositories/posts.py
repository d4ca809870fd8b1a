"""Reading posts: by id, paged feeds per parent (batched), counts, search, metric history."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models
from api.db.pagination import ColumnLike, Direction, Page, PageResult
from api.db.repositories import post_counts
from api.db.repositories.paging import count_per_parent, page_per_parent
from api.db.repositories.scopes import SCOPES, Scope, membership
from api.domain.enums import PostKind
from api.errors import BadUserInput

P = models.Post
# Every column but the tsvector, which only the database needs.
POST_COLUMNS = [c for c in P.__table__.c if c.name != "search"]


class PostSort(Enum):
    CREATED_AT = "CREATED_AT"
    LIKES = "LIKES"
    REPLIES = "REPLIES"
    RELEVANCE = "RELEVANCE"


@dataclass(frozen=True, slots=True)
class PostFilter:
    text: str | None = None
    hashtags: tuple[str, ...] = ()
    kinds: tuple[PostKind, ...] = ()
    author_id: int | None = None
    group_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        out: list[sa.ColumnElement[bool]] = []
        if self.text:
            out.append(P.search.op("@@")(_query(self.text)))
        if self.hashtags:
            out.append(
                P.id.in_(
                    sa.select(models.PostHashtag.post_id).where(
                        models.PostHashtag.hashtag.in_(self.hashtags)
                    )
                )
            )
        if self.kinds:
            out.append(P.kind.in_(self.kinds))
        if self.author_id is not None:
            out.append(P.author_id == self.author_id)
        if self.group_id is not None:
            out.append(P.group_id == self.group_id)
        if self.since is not None:
            out.append(P.created_at >= self.since)
        if self.until is not None:
            out.append(P.created_at < self.until)
        return out


@dataclass(frozen=True, slots=True)
class PostQuery:
    """Everything but the parent that decides a page; loaders batch parents per query."""

    page: Page
    sort: PostSort = PostSort.CREATED_AT
    filter: PostFilter = PostFilter()


def _query(text: str) -> Any:
    return sa.func.websearch_to_tsquery(sa.literal_column("'english'::regconfig"), text)


def _sort_expression(query: PostQuery) -> ColumnLike:
    match query.sort:
        case PostSort.CREATED_AT:
            return P.created_at
        case PostSort.LIKES:
            return P.like_count
        case PostSort.REPLIES:
            return P.reply_count
        case PostSort.RELEVANCE:
            if not query.filter.text:
                return P.created_at
            return sa.func.ts_rank(P.search, _query(query.filter.text))


async def get_many(session: AsyncSession, ids: list[int]) -> dict[int, Any]:
    rows = await session.execute(
        sa.select(*POST_COLUMNS).where(P.id.in_(ids), P.deleted_at.is_(None))
    )
    return {row.id: row for row in rows}


async def get_by_external_id(session: AsyncSession, external_id: int) -> Any:
    row = await session.execute(sa.select(*POST_COLUMNS).where(P.external_id == external_id))
    return row.first()


async def page_by_parent(
    session: AsyncSession, scope: Scope, keys: list[Any], query: PostQuery
) -> dict[Any, PageResult]:
    """One page of posts for each parent key, in one statement."""
    return await page_per_parent(
        session,
        columns=POST_COLUMNS,
        keys=keys,
        key_type=SCOPES[scope].key_type,
        where=lambda key: [membership(scope, key), *query.filter.conditions()],
        sort=_sort_expression(query),
        id_col=P.id,
        page=query.page,
    )


async def count_by_parent(
    session: AsyncSession, scope: Scope, keys: list[Any], post_filter: PostFilter
) -> dict[Any, int]:
    # An unfiltered topic, group or resource feed has its count maintained by the writes
    # (post_counts); any filter, or another scope, counts the matching rows.
    if post_filter == PostFilter() and scope in post_counts.MAINTAINED:
        return await post_counts.maintained(session, scope, keys)
    return await count_per_parent(
        session,
        table=P,
        keys=keys,
        key_type=SCOPES[scope].key_type,
        where=lambda key: [membership(scope, key), *post_filter.conditions()],
    )


def cursor_type(sort: PostSort) -> type:
    """The type of the sort value a cursor of this order carries."""
    return {PostSort.CREATED_AT: datetime, PostSort.RELEVANCE: float}.get(sort, int)


INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1


def check_cursor(sort: PostSort, page: Page) -> None:
    """Likes and replies are ``integer`` columns: a cursor beyond 32 bits is none this service
    gave out (and asyncpg would refuse to bind it)."""
    counted = sort in (PostSort.LIKES, PostSort.REPLIES)
    if counted and page.after is not None and not INT4_MIN <= page.after.value <= INT4_MAX:
        raise BadUserInput("The cursor is not one this service gave out.", field="after")


def default_direction(scope: Scope) -> Direction:
    # A thread reads oldest first; every other feed newest first (contract README).
    return Direction.ASC if scope is Scope.THREAD else Direction.DESC


async def hashtags_by_post(session: AsyncSession, post_ids: list[int]) -> dict[int, list[str]]:
    rows = await session.execute(
        sa.select(models.PostHashtag.post_id, models.PostHashtag.hashtag)
        .where(models.PostHashtag.post_id.in_(post_ids))
        .order_by(models.PostHashtag.post_id, models.PostHashtag.hashtag)
    )
    out: dict[int, list[str]] = defaultdict(list)
    for row in rows:
        out[row.post_id].append(row.hashtag)
    return out


async def topics_by_post(session: AsyncSession, post_ids: list[int]) -> dict[int, list[Any]]:
    T = models.Topic
    rows = await session.execute(
        sa.select(models.PostHashtag.post_id, *T.__table__.c)
        .join(T, T.hashtag == models.PostHashtag.hashtag)
        .where(models.PostHashtag.post_id.in_(post_ids))
        .order_by(models.PostHashtag.post_id, T.hashtag)
    )
    out: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        out[row.post_id].append(row)
    return out


async def metrics_history_by_post(
    session: AsyncSession, post_ids: list[int], page: Page
) -> dict[int, PageResult]:
    """Snapshots oldest first, one page per post, in one statement."""
    S = models.PostMetricsSnapshot
    return await page_per_parent(
        session,
        columns=list(S.__table__.c),
        keys=post_ids,
        key_type=sa.BigInteger(),
        where=lambda key: [S.post_id == key],
        sort=S.observed_at,
        id_col=S.id,
        page=page,
    )


async def count_metrics_history(session: AsyncSession, post_ids: list[int]) -> dict[int, int]:
    S = models.PostMetricsSnapshot
    rows = await session.execute(
        sa.select(S.post_id, sa.func.count()).where(S.post_id.in_(post_ids)).group_by(S.post_id)
    )
    return {post_id: n for post_id, n in rows}
