"""The data version: one counter, bumped by every transaction that changes what the API shows.

GET answers carry an ETag made from it (``api/http_cache.py``). Bumped in the writer's own
transaction, as its last statement, so the new version becomes visible exactly when the data
does, and the row's lock is held only for the moment before the commit. A reader reads the
version *before* executing: an answer then holds data at least as new as its version, so a
change can make an ETag stale-looking (one 200 too many), never a stale answer look current.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models

V = models.DataVersion


async def bump(session: AsyncSession) -> None:
    """Move the version on with this transaction (call it last, just before the commit)."""
    await session.execute(sa.update(V).where(V.id == 1).values(version=V.version + 1))


async def current(session: AsyncSession) -> int:
    found = await session.scalar(sa.select(V.version).where(V.id == 1))
    return int(found or 0)
