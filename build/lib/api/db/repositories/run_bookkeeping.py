"""Closing what dead workers left behind: their runs (ABANDONED) and their rows (LOST).

A worker reports a heartbeat every few seconds (``sync_worker.heartbeat_at``, the database's
clock). A run still RUNNING whose worker has been silent for several heartbeats, was stopped,
or is unknown cannot be finished by anyone: the next worker closes it, so a killed pass does
not look like one still going for ever.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models

Run = models.SyncRun
Worker = models.SyncWorker
ABANDONED_ERROR = "its worker stopped reporting before the pass was complete"


def _alive(silent_for: timedelta) -> sa.ColumnElement[bool]:
    return sa.and_(
        Worker.role.in_(("ACTIVE", "STANDBY")),
        Worker.heartbeat_at > sa.func.now() - silent_for,
    )


async def abandon_dead_runs(
    session: AsyncSession, worker_id: str, silent_for: timedelta, at: datetime
) -> list[int]:
    """Close as ABANDONED the RUNNING runs of workers silent for ``silent_for`` (or stopped,
    or unknown), and those of ``worker_id`` itself: called before it starts a pass, when none
    of its own can be in flight, so one of its id is a previous process's (a restart reuses
    the host and pid of a container). Returns the runs closed."""
    live = sa.select(Worker.worker_id).where(_alive(silent_for), Worker.worker_id != worker_id)
    rows = await session.execute(
        sa.update(Run)
        .where(
            Run.status == "RUNNING",
            sa.or_(Run.worker_id.is_(None), Run.worker_id.not_in(live)),
        )
        .values(status="ABANDONED", error=ABANDONED_ERROR, finished_at=at)
        .returning(Run.id)
    )
    return sorted(rows.scalars())


async def mark_lost_workers(session: AsyncSession, worker_id: str, silent_for: timedelta) -> int:
    """Workers (other than ``worker_id``) still shown ACTIVE or STANDBY but silent for
    ``silent_for`` become LOST; returns how many."""
    rows = await session.execute(
        sa.update(Worker)
        .where(
            Worker.worker_id != worker_id,
            Worker.role.in_(("ACTIVE", "STANDBY")),
            Worker.heartbeat_at <= sa.func.now() - silent_for,
        )
        .values(role="LOST", state="IDLE")
        .returning(Worker.worker_id)
    )
    return len(rows.all())
