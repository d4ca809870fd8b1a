"""Drawing query cost from a principal's budget: one atomic statement per request.

The statement refills the bucket by the time elapsed since its last draw (capped at its
capacity), then subtracts the cost if that many points are there, and says which happened.
Concurrent requests, in this process or another, queue on the row's lock, and each sees the
level the previous one left, so two of them can never both spend the last points.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models

B = models.QueryBudget


@dataclass(frozen=True, slots=True)
class Draw:
    granted: bool
    # Points left after this request (after its cost when granted).
    available: float
    # When refused: when the request's cost will have dripped back.
    throttled_until: datetime | None


def _draw_statement() -> Any:
    """The draw, built once: every request sends the same statement with its own values
    (building it per request cost more Python than the rest of the step)."""
    principal = sa.bindparam("principal", type_=sa.Text())
    cost = sa.bindparam("cost", type_=sa.BigInteger())
    capacity = sa.bindparam("capacity", type_=sa.Float())
    restore_per_second = sa.bindparam("restore", type_=sa.Float())
    fresh = sa.bindparam("fresh", type_=sa.Float())  # a new bucket: capacity - cost
    now = sa.func.statement_timestamp()
    # The clock of a request that waited for the row lock can read earlier than the
    # updated_at its predecessor wrote; such a request gets no refill, never a negative one.
    elapsed = sa.func.greatest(0.0, sa.extract("epoch", now - B.updated_at))
    refilled = sa.func.least(capacity, B.available + restore_per_second * elapsed)
    enough = refilled >= cost
    new = insert(B).values(
        principal=principal, available=fresh, updated_at=now, throttled_until=None
    )
    return new.on_conflict_do_update(
        index_elements=[B.principal],
        set_={
            "available": sa.case((enough, refilled - cost), else_=refilled),
            "updated_at": sa.func.greatest(B.updated_at, now),
            "throttled_until": sa.case(
                (enough, sa.null()),
                else_=now
                + sa.func.make_interval(0, 0, 0, 0, 0, 0, (cost - refilled) / restore_per_second),
            ),
        },
    ).returning(B.available, B.throttled_until)


_DRAW = _draw_statement()


async def draw(
    session: AsyncSession, principal: str, cost: int, capacity: int, restore_per_second: float
) -> Draw:
    """Take ``cost`` points from ``principal``'s bucket if it holds them; a new bucket is full.

    ``cost`` must not exceed ``capacity`` (the caller refuses such a query as too complex).
    """
    values = {
        "principal": principal,
        "cost": cost,
        "capacity": float(capacity),
        "restore": float(restore_per_second),
        "fresh": float(capacity - cost),
    }
    stmt = _DRAW
    row = (await session.execute(stmt, values)).one()
    return Draw(
        granted=row.throttled_until is None,
        available=row.available,
        throttled_until=row.throttled_until,
    )
