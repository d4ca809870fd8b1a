"""Resolver helpers shared by several types: post feeds, performance, follower growth."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from api.analytics.performance import Totals
from api.db.pagination import Direction, Page
from api.db.repositories.posts import (
    PostFilter,
    PostQuery,
    PostSort,
    check_cursor,
    cursor_type,
    default_direction,
)
from api.db.repositories.scopes import Scope
from api.domain.periods import Interval, check_range, periods
from schema.context import Info
from schema.pagination import Connection, connection
from schema.types.analytics import FollowerPoint, Performance

if TYPE_CHECKING:
    from schema.inputs import PostFilterInput, PostOrder
    from schema.types.post import Post

FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


async def posts_connection(
    info: Info,
    scope: Scope,
    parent: Any,
    first: int | None,
    after: str | None,
    order_by: PostOrder | None = None,
    filter: PostFilterInput | None = None,
) -> Connection[Post]:
    from schema.types.post import Post

    post_filter = filter.to_filter() if filter is not None else PostFilter()
    if order_by is not None:
        sort, direction = order_by.field, order_by.direction
    elif post_filter.text:
        sort, direction = PostSort.RELEVANCE, Direction.DESC
    else:
        sort, direction = PostSort.CREATED_AT, default_direction(scope)
    page = Page.build(first, after, direction=direction, value_type=cursor_type(sort))
    check_cursor(sort, page)
    query = PostQuery(page=page, sort=sort, filter=post_filter)
    loaders = info.context.loaders
    result = await loaders.post_page.load((parent, (scope, query)))

    async def count() -> int:
        return int(await loaders.post_count.load((parent, (scope, post_filter))))

    return connection(result, Post.from_row, count)


def asks_for(info: Info, name: str) -> bool:
    """Whether the query selects ``name`` (as spelt in GraphQL) on this field's result,
    directly or through fragments: lets a resolver skip work nobody asked for."""
    from strawberry.types.nodes import SelectedField

    def within(selections: Iterable[Any]) -> bool:
        for selection in selections:
            if isinstance(selection, SelectedField):
                if selection.name == name:
                    return True
            elif within(selection.selections):  # a fragment: its fields are this level's
                return True
        return False

    return any(within(field.selections) for field in info.selected_fields)


async def followers_change(
    info: Info, person_ids: Iterable[int], since: datetime, until: datetime
) -> int:
    """The follower change over ``[since, until)``: a change observed at ``since`` counts,
    one observed at ``until`` does not (it belongs to the next range)."""
    ids = list(person_ids)
    if not ids:
        return 0
    # Both ends in one batch: one statement however many people.
    counts = await info.context.loaders.followers_before.load_many(
        [(pid, until) for pid in ids] + [(pid, since) for pid in ids]
    )
    return int(sum(counts[: len(ids)]) - sum(counts[len(ids) :]))


async def performance(
    info: Info,
    scope: Scope,
    parent: Any,
    since: datetime,
    until: datetime,
    follower_ids: Any,
) -> Performance:
    """Performance of a scope; ``follower_ids`` is an async callable giving whose followers count."""
    check_range(since, until)
    authors = asks_for(info, "activeAuthors")
    by_period = await info.context.loaders.totals.load(
        (parent, (scope, since, until, None, authors))
    )
    totals = by_period.get(None, Totals())

    async def new_followers() -> int:
        return await followers_change(info, await follower_ids(), since, until)

    return Performance.of(totals, new_followers)


async def follower_growth(
    info: Info, person_id: int | None, since: datetime, until: datetime, interval: Interval
) -> list[FollowerPoint]:
    spans = periods(since, until, interval)
    if person_id is None:
        return []
    # A period [start, end) ends just before `end`: its count is the last snapshot within it,
    # the same end value `followers_change` uses, so consecutive points differ by exactly that
    # period's newFollowers.
    counts = await info.context.loaders.followers_before.load_many(
        [(person_id, end) for _, _, end in spans]
    )
    return [
        FollowerPoint(period_start=start, followers=int(n))
        for (start, _, _), n in zip(spans, counts, strict=True)
    ]
