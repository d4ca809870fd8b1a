"""Batched keyset pages and counts per parent, for any table: one statement per batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.pagination import (
    ColumnLike,
    Page,
    PageResult,
    keyset_order,
    keyset_where,
    to_page_result,
)

Where = Callable[[Any], Sequence[sa.ColumnElement[bool]]]


def unnest_keys(keys: Sequence[Any], key_type: sa.types.TypeEngine[Any]) -> Any:
    """``unnest(:keys) AS parent(key)``: the parents a batched statement answers for."""
    return (
        sa.func.unnest(sa.literal(list(keys), ARRAY(key_type)))
        .table_valued("key")
        .render_derived(name="parent")
    )


async def page_per_parent(
    session: AsyncSession,
    *,
    columns: Sequence[Any],
    keys: Sequence[Any],
    key_type: sa.types.TypeEngine[Any],
    where: Where,
    sort: ColumnLike,
    id_col: ColumnLike,
    page: Page,
) -> dict[Any, PageResult]:
    """One page for each parent key, as a LATERAL top-N: each parent uses its index range."""
    parent = unnest_keys(keys, key_type)
    inner = (
        sa.select(*columns, sort.label("sort_value"))
        .where(*where(parent.c.key), keyset_where(sort, id_col, page))
        .order_by(*keyset_order(sort, id_col, page))
        .limit(page.first + 1)
        .lateral("page")
    )
    stmt = sa.select(parent.c.key.label("parent_key"), inner).select_from(
        parent.join(inner, sa.true())
    )
    grouped: dict[Any, list[Any]] = defaultdict(list)
    for row in await session.execute(stmt):
        grouped[row.parent_key].append(row)
    return {key: to_page_result(grouped.get(key, []), page, "sort_value") for key in keys}


async def count_per_parent(
    session: AsyncSession,
    *,
    table: Any,
    keys: Sequence[Any],
    key_type: sa.types.TypeEngine[Any],
    where: Where,
) -> dict[Any, int]:
    parent = unnest_keys(keys, key_type)
    count = sa.select(sa.func.count()).select_from(table).where(*where(parent.c.key))
    rows = await session.execute(
        sa.select(parent.c.key, count.scalar_subquery().label("n")).select_from(parent)
    )
    return {row.key: row.n for row in rows}


async def page_all(
    session: AsyncSession,
    *,
    columns: Sequence[Any],
    where: Sequence[sa.ColumnElement[bool]],
    sort: ColumnLike,
    id_col: ColumnLike,
    page: Page,
) -> PageResult:
    """One page of a whole table (a root list): the per-parent form with a single parent."""
    pages = await page_per_parent(
        session,
        columns=columns,
        keys=[0],
        key_type=sa.BigInteger(),
        where=lambda _key: where,
        sort=sort,
        id_col=id_col,
        page=page,
    )
    return pages[0]


async def count_all(
    session: AsyncSession, table: Any, where: Sequence[sa.ColumnElement[bool]] = ()
) -> int:
    stmt = sa.select(sa.func.count()).select_from(table).where(*where)
    return int((await session.execute(stmt)).scalar_one())
