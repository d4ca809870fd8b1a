"""When periodic sync work last succeeded (``sync_mark``): the directory, topic searches.

Kept in the database rather than in the worker's memory, so a restart, ``sync --once`` or a
replica taking over does not redo within its interval what was just done.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models

Mark = models.SyncMark


async def last_done(session: AsyncSession, names: Iterable[str]) -> dict[str, datetime]:
    """When each of ``names`` was last done (names never done are absent)."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    rows = await session.execute(sa.select(Mark.name, Mark.done_at).where(Mark.name.in_(wanted)))
    return {name: at for name, at in rows.all()}


async def mark_done(session: AsyncSession, names: Iterable[str], at: datetime) -> None:
    """Record ``names`` as done at ``at`` (a mark never moves back)."""
    wanted = sorted(set(names))
    if not wanted:
        return
    stmt = insert(Mark).values([{"name": name, "done_at": at} for name in wanted])
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Mark.name],
            set_={"done_at": sa.func.greatest(Mark.done_at, stmt.excluded.done_at)},
        )
    )
