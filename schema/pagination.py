"""Relay connections with ``totalCount`` and ``nodes``, built from keyset pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.pagination import PageResult
from api.db.request_session import Reads

T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    """A page of a list that can grow. ``totalCount`` runs a count only when asked for."""

    nodes: list[T]
    page_info: PageInfo
    _cursors: strawberry.Private[list[str]]
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
    def edges(self) -> list[Edge[T]]:
        return [Edge(cursor=c, node=n) for c, n in zip(self._cursors, self.nodes, strict=True)]

    @strawberry.field(description="How many items the whole list holds, across all pages.")
    async def total_count(self) -> int:
        return await self._count()


def connection(
    page: PageResult, build: Callable[[Any], T], count: Callable[[], Awaitable[int]]
) -> Connection[T]:
    nodes = [build(row) for row in page.rows]
    return Connection(
        nodes=nodes,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        ),
        _cursors=page.cursors,
        _count=count,
    )


async def root_connection(
    db: Reads,
    fetch: Callable[[AsyncSession], Awaitable[PageResult]],
    count: Callable[[AsyncSession], Awaitable[int]],
    build: Callable[[Any], T],
) -> Connection[T]:
    """A root list's page, read through the request's reads; the count runs only when asked
    for (in the same snapshot, so it agrees with the page)."""
    async with db.reading() as session:
        result = await fetch(session)

    async def total() -> int:
        async with db.reading() as session:
            return await count(session)

    return connection(result, build, total)
