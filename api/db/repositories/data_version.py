"""The data version: one counter, bumped by every transaction that changes what the API shows.

GET answers carry an ETag made from it (``api/http_cache.py``). Bumped in the writer's own
transaction, as its last statement, so the new version becomes visible exactly when the data
does, and the row's lock is held only for the moment before the commit. A reader reads the
version *before* executing: an answer then holds data at least as new as its version, so a
change can make an ETag stale-looking (one 200 too many), never a stale answer look current.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models
from api.db.prepared import prepare
from api.db.request_session import Reads, RequestSession

V = models.DataVersion


def subquery() -> Any:
    """The version as a scalar subquery, for a bookkeeping statement that reads it beside its
    own work (``RequestSession.folds_version``)."""
    return sa.select(V.version).where(V.id == 1).scalar_subquery()


_CURRENT = prepare(sa.select(V.version).where(V.id == 1))


async def bump(session: AsyncSession) -> None:
    """Move the version on with this transaction (call it last, just before the commit)."""
    await session.execute(sa.update(V).where(V.id == 1).values(version=V.version + 1))


async def current(session: AsyncSession) -> int:
    found = await session.scalar(sa.select(V.version).where(V.id == 1))
    return int(found or 0)


async def current_on(reads: Reads) -> int:
    """The version, for a request about to read through ``reads``: the one a bookkeeping
    statement read beside its own work when there was one, else one statement on the read side
    (a replica behind the primary gives an older version, never a newer one than its data)."""
    if isinstance(reads, RequestSession) and reads.data_version is not None:
        return reads.data_version
    row = await reads.bookkeeping_row(_CURRENT, _CURRENT.args(), primary=False)
    version = int(row[0]) if row is not None and row[0] is not None else 0
    if isinstance(reads, RequestSession):
        reads.data_version = version
    return version
