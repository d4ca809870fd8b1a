"""Drawing query cost from a principal's budget: one atomic statement per request.

The statement refills the bucket by the time elapsed since its last draw (capped at its
capacity), then subtracts the cost if that many points are there, and says which happened.
Concurrent requests, in this process or another, queue on the row's lock, and each sees the
level the previous one left, so two of them can never both spend the last points.

**Committed asynchronously.** The draw is a write, and a commit waits for its WAL to reach
disk: on the machine the benchmarks run on that flush took 5-9 ms, several times everything
else a request does. The statement sets ``synchronous_commit`` off for its own transaction
(``set_config(..., true)``; PostgreSQL decides per transaction, by the setting in effect when it
commits). The commit is visible to every other session at once, exactly as before, so the
bucket stays exact across processes; only a crash of PostgreSQL itself can lose the draws of
its last moments (at most three times ``wal_writer_delay``), which refunds those few points. Other
writes (mutations, the worker) keep synchronous commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models
from api.db.prepared import prepare
from api.db.repositories import api_keys, data_version
from api.db.request_session import Reads, RequestSession
from api.domain.enums import Role

B = models.QueryBudget


@dataclass(frozen=True, slots=True)
class Draw:
    granted: bool
    # Points left after this request (after its cost when granted).
    available: float
    # When refused: when the request's cost will have dripped back.
    throttled_until: datetime | None


def _draw_statement(key: Any = None) -> Any:
    """The draw, built once: every request sends the same statement with its own values
    (building it per request cost more Python than the rest of the step). ``key``: an API
    key's check (``_KEY``, a CTE): the bucket is then that key's, and the draw happens only
    when the check found the key, unrevoked and of the role priced for."""
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
    if key is None:
        new = insert(B).values(
            principal=sa.bindparam("principal", type_=sa.Text()),
            available=fresh,
            updated_at=now,
            throttled_until=None,
        )
    else:
        # The key's principal, "ROLE:api-key:name": the prefix is given (schema/budgets.py
        # writes it as it writes every principal), the name is the row's.
        prefix = sa.bindparam("prefix", type_=sa.Text())
        new = insert(B).from_select(
            ["principal", "available", "updated_at", "throttled_until"],
            sa.select(prefix + key.c.name, fresh, now, sa.null()).where(
                key.c.role == sa.bindparam("role", type_=sa.Text())
            ),
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


def _drawing(*extra: Any) -> Any:
    """The draw, committed asynchronously (module docstring), returning the bucket's level, when
    it was refused until, and ``extra``."""
    drawn = _draw_statement().cte("drawn")
    return sa.select(
        drawn.c.available,
        drawn.c.throttled_until,
        *extra,
        sa.func.set_config("synchronous_commit", "off", sa.true()).label("commit"),
    ).select_from(drawn)


_DRAW = _drawing()
_PREPARED_DRAW = prepare(_DRAW)
_PREPARED_DRAW_AND_VERSION = prepare(_drawing(data_version.subquery().label("version")))


def _key_check_and_draw(*extra: Any) -> Any:
    """An API key's check and its draw in one statement (``draw_for_key_on``): the key's row
    (none when it is unknown or revoked), the draw (only when there is a row, of the role),
    and ``extra``. One statement sees one snapshot: a revocation committed before it began
    is seen, and then nothing is drawn."""
    key = api_keys.active_key().cte("key")
    drawn = _draw_statement(key).cte("drawn")
    return (
        sa.select(
            key.c.id,
            key.c.name,
            key.c.role,
            drawn.c.available,
            drawn.c.throttled_until,
            *extra,
            sa.func.set_config("synchronous_commit", "off", sa.true()).label("commit"),
        )
        .select_from(key)
        .outerjoin(drawn, sa.true())
    )


_PREPARED_KEY_DRAW = prepare(_key_check_and_draw())
_PREPARED_KEY_DRAW_AND_VERSION = prepare(
    _key_check_and_draw(data_version.subquery().label("version"))
)


def _values(principal: str, cost: int, capacity: int, restore_per_second: float) -> dict[str, Any]:
    return {
        "principal": principal,
        "cost": cost,
        "capacity": float(capacity),
        "restore": float(restore_per_second),
        "fresh": float(capacity - cost),  # a new bucket
    }


async def draw(
    session: AsyncSession, principal: str, cost: int, capacity: int, restore_per_second: float
) -> Draw:
    """Take ``cost`` points from ``principal``'s bucket if it holds them; a new bucket is full.
    (A request draws with ``draw_on``: the same statement, prepared.) The session's transaction
    then commits asynchronously: keep other writes out of it.

    ``cost`` must not exceed ``capacity`` (the caller refuses such a query as too complex).
    """
    values = _values(principal, cost, capacity, restore_per_second)
    row = (await session.execute(_DRAW, values)).one()
    return Draw(
        granted=row.throttled_until is None,
        available=row.available,
        throttled_until=row.throttled_until,
    )


async def draw_on(
    reads: Reads, principal: str, cost: int, capacity: int, restore_per_second: float
) -> Draw:
    """``draw`` as a request's bookkeeping, on the primary (a prepared statement on the
    request's connection when it is the primary's). Reads the data version in the same
    statement when the request can use it (``RequestSession.folds_version``)."""
    fold = isinstance(reads, RequestSession) and reads.folds_version()
    statement = _PREPARED_DRAW_AND_VERSION if fold else _PREPARED_DRAW
    values = _values(principal, cost, capacity, restore_per_second)
    row = await reads.bookkeeping_row(statement, statement.args(**values))
    assert row is not None  # an upsert's RETURNING always has its row
    if fold and isinstance(reads, RequestSession):
        reads.data_version = int(row[2])
    return Draw(granted=row[1] is None, available=float(row[0]), throttled_until=row[1])


@dataclass(frozen=True, slots=True)
class KeyDraw:
    """An API key's check and draw together: ``key`` None when the key is unknown or revoked
    (nothing drawn); ``drawn`` None when the key's role is not the one priced for (nothing
    drawn either: the caller draws again at that role's price)."""

    key: api_keys.ActiveKey | None
    drawn: Draw | None


async def draw_for_key_on(
    reads: Reads,
    key_hash: str,
    role: Role,
    principal_prefix: str,
    cost: int,
    capacity: int,
    restore_per_second: float,
) -> KeyDraw:
    """Check an API key and draw ``cost`` from its bucket (``ROLE:api-key:<name>``, the
    principal ``principal_prefix`` + its name) in one statement on the primary: for a request
    whose cost is known before its key is checked (the HTTP fast path's known documents, whose
    role is the one API keys have). A revoked or unknown key draws nothing. Reads the data
    version too when the request can use it (``RequestSession.folds_version``)."""
    fold = isinstance(reads, RequestSession) and reads.folds_version()
    statement = _PREPARED_KEY_DRAW_AND_VERSION if fold else _PREPARED_KEY_DRAW
    values = _values("", cost, capacity, restore_per_second)
    del values["principal"]
    args = statement.args(key_hash=key_hash, role=role.name, prefix=principal_prefix, **values)
    row = await reads.bookkeeping_row(statement, args)
    if row is None:
        return KeyDraw(key=None, drawn=None)
    if fold and isinstance(reads, RequestSession):
        reads.data_version = int(row[5])
    key = api_keys.ActiveKey(id=int(row[0]), name=str(row[1]), role=Role[row[2]])
    if row[3] is None:
        return KeyDraw(key=key, drawn=None)
    return KeyDraw(
        key=key,
        drawn=Draw(granted=row[4] is None, available=float(row[3]), throttled_until=row[4]),
    )
