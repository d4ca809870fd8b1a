"""The worker's runs (scheduled, requested, claimed, counted, finished) and heartbeats."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models
from api.db.pagination import Page, PageResult
from api.db.repositories.paging import count_all, page_all

Run = models.SyncRun
Worker = models.SyncWorker


async def start_run(
    session: AsyncSession, trigger: str, at: datetime, worker_id: str | None = None
) -> int:
    """Claim the oldest queued request, or open a scheduled run; returns the run id."""
    queued = (
        await session.execute(
            sa.select(Run.id)
            .where(Run.status == "QUEUED")
            .order_by(Run.created_at, Run.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
    ).scalar_one_or_none()
    if queued is not None:
        await session.execute(
            sa.update(Run)
            .where(Run.id == queued)
            .values(status="RUNNING", started_at=at, worker_id=worker_id)
        )
        return int(queued)
    return int(
        (
            await session.execute(
                sa.insert(Run)
                .values(
                    status="RUNNING",
                    trigger=trigger,
                    started_at=at,
                    created_at=at,
                    worker_id=worker_id,
                )
                .returning(Run.id)
            )
        ).scalar_one()
    )


async def requested_kinds(session: AsyncSession, run_id: int) -> list[str]:
    return list(
        (await session.execute(sa.select(Run.feed_kinds).where(Run.id == run_id))).scalar_one()
    )


async def count_run(
    session: AsyncSession, run_id: int, *, requests: int = 0, posts: int = 0, errors: int = 0
) -> None:
    await session.execute(
        sa.update(Run)
        .where(Run.id == run_id)
        .values(
            requests=Run.requests + requests,
            posts_upserted=Run.posts_upserted + posts,
            errors=Run.errors + errors,
        )
    )


async def finish_run(
    session: AsyncSession,
    run_id: int,
    status: str,
    error: str | None,
    at: datetime,
    *,
    requests: int = 0,
    errors: int | None = None,
) -> None:
    """Close a run: ``requests`` made since its last count are added, and ``errors``, when
    given, is the pass's exact total (some failures are counted only in memory)."""
    values: dict[str, Any] = {
        "status": status,
        "error": error[:500] if error else None,
        "finished_at": at,
        "requests": Run.requests + requests,
    }
    if errors is not None:
        values["errors"] = errors
    await session.execute(sa.update(Run).where(Run.id == run_id).values(**values))


async def queue_run(session: AsyncSession, kinds: Sequence[str], requested_by: str) -> bool:
    """Ask the active worker for a run; False when one is already waiting (no pile-up).

    The unique partial index ``uq_sync_run_one_queued`` decides, so concurrent requests
    cannot both queue one: the second waits for the first and then does nothing.
    """
    inserted = await session.execute(
        insert(Run)
        .values(
            status="QUEUED", trigger="REQUEST", requested_by=requested_by, feed_kinds=list(kinds)
        )
        .on_conflict_do_nothing(index_elements=[Run.status], index_where=Run.status == "QUEUED")
        .returning(Run.id)
    )
    return inserted.first() is not None


async def has_queued(session: AsyncSession) -> bool:
    return (
        await session.execute(sa.select(Run.id).where(Run.status == "QUEUED").limit(1))
    ).first() is not None


async def page_runs(session: AsyncSession, page: Page) -> PageResult:
    return await page_all(
        session,
        columns=list(Run.__table__.c),
        where=[],
        sort=Run.id,
        id_col=Run.id,
        page=page,
    )


async def count_runs(session: AsyncSession) -> int:
    return await count_all(session, Run)


async def last_success(session: AsyncSession) -> datetime | None:
    """When the last complete pass ended: a partial, failed or abandoned one left the mirror
    behind somewhere, so it does not make the mirror current."""
    value = await session.execute(
        sa.select(sa.func.max(Run.finished_at)).where(Run.status == "SUCCEEDED")
    )
    return value.scalar_one()


async def heartbeat(session: AsyncSession, **values: Any) -> None:
    stmt = insert(Worker).values(heartbeat_at=sa.func.now(), **values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Worker.worker_id],
            set_={k: stmt.excluded[k] for k in (*values, "heartbeat_at") if k != "worker_id"},
        )
    )


async def active_worker(session: AsyncSession) -> Any:
    """The most recent heartbeat of a worker that holds the polling lock."""
    rows = await session.execute(
        sa.select(*Worker.__table__.c, (sa.func.now() - Worker.heartbeat_at).label("age"))
        .where(Worker.role == "ACTIVE")
        .order_by(Worker.heartbeat_at.desc())
        .limit(1)
    )
    return rows.first()
