"""The worker's own state: feeds and their cursors, runs, requests for a run, heartbeats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models
from api.db.pagination import Page, PageResult
from api.db.repositories.paging import count_all, page_all
from api.domain.enums import SyncFeedKind

Feed = models.SyncFeed
Run = models.SyncRun
Worker = models.SyncWorker
FEED_COLUMNS = list(Feed.__table__.c)


@dataclass(frozen=True, slots=True)
class FeedRef:
    kind: SyncFeedKind
    external_id: int
    name: str


async def ensure_feeds(session: AsyncSession, feeds: Sequence[FeedRef]) -> None:
    """Create feeds the worker should follow; existing ones keep their cursors."""
    if not feeds:
        return
    stmt = insert(Feed).values(
        [{"kind": f.kind, "external_id": f.external_id, "name": f.name} for f in feeds]
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Feed.kind, Feed.external_id], set_={"name": stmt.excluded.name}
        )
    )


async def list_feeds(session: AsyncSession, kinds: Sequence[SyncFeedKind] = ()) -> list[Any]:
    stmt = sa.select(*FEED_COLUMNS).order_by(Feed.kind, Feed.name, Feed.id)
    if kinds:
        stmt = stmt.where(Feed.kind.in_(kinds))
    return list((await session.execute(stmt)).all())


async def get_feed(session: AsyncSession, feed_id: int, *, lock: bool = False) -> Any:
    stmt = sa.select(*FEED_COLUMNS).where(Feed.id == feed_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).one()


async def advance_feed(
    session: AsyncSession,
    feed_id: int,
    *,
    newest_seen_id: int | None = None,
    oldest_seen_id: int | None = None,
    items: int = 0,
    backfill_complete: bool | None = None,
    at: datetime,
    succeeded: bool = True,
) -> None:
    """Move a feed's cursors (only ever outwards) in the same unit of work as the page.

    ``succeeded=False`` for a page that is kept but does not finish what the feed was asked
    (a catch-up still under way, a walk that stopped early): its error, if any, stands.
    """
    values: dict[str, Any] = {"items_mirrored": Feed.items_mirrored + items, "last_run_at": at}
    if succeeded:
        values |= {"last_success_at": at, "last_error": None, "consecutive_failures": 0}
    if newest_seen_id is not None:
        values["newest_seen_id"] = sa.func.greatest(
            sa.func.coalesce(Feed.newest_seen_id, 0), newest_seen_id
        )
    if oldest_seen_id is not None:
        values["oldest_seen_id"] = sa.func.least(
            sa.func.coalesce(Feed.oldest_seen_id, oldest_seen_id), oldest_seen_id
        )
    if backfill_complete is not None:
        values["backfill_complete"] = backfill_complete
    await session.execute(sa.update(Feed).where(Feed.id == feed_id).values(**values))


async def feed_failed(
    session: AsyncSession, feed_id: int, error: str, at: datetime, *, inaccessible: bool = False
) -> None:
    await session.execute(_failed(Feed.id == feed_id, error, at, inaccessible))


def _failed(where: Any, error: str, at: datetime, inaccessible: bool) -> Any:
    return (
        sa.update(Feed)
        .where(where)
        .values(
            last_run_at=at,
            last_error=error[:500],
            consecutive_failures=Feed.consecutive_failures + 1,
            inaccessible=Feed.inaccessible | inaccessible,
        )
    )


# -- threads owed a walk ---------------------------------------------------------------------
# A reply read before its thread starter waits (in memory) for the starter.  Once the page
# that brought it is committed, the feed's cursor has moved past it, and a starter the mirror
# does not hold is not re-read by the freshness policy (it knows mirrored threads only): so the
# thread is recorded here, as a THREAD feed, in the same unit of work, and stays until a walk
# of it succeeds.


async def owe_thread_walks(session: AsyncSession, thread_ids: Sequence[int]) -> set[int]:
    """Record threads to walk (idempotent); returns those not already owed."""
    if not thread_ids:
        return set()
    stmt = insert(Feed).values(
        [
            {"kind": SyncFeedKind.THREAD, "external_id": t, "name": f"Thread {t}"}
            for t in sorted(set(thread_ids))
        ]
    )
    rows = await session.execute(
        stmt.on_conflict_do_nothing(index_elements=[Feed.kind, Feed.external_id]).returning(
            Feed.external_id
        )
    )
    return set(rows.scalars())


async def thread_walks_done(session: AsyncSession, thread_ids: Sequence[int]) -> None:
    """Forget threads walked (or found deleted): nothing of theirs is owed any more."""
    if not thread_ids:
        return
    await session.execute(
        sa.delete(Feed).where(
            Feed.kind == SyncFeedKind.THREAD, Feed.external_id.in_(sorted(set(thread_ids)))
        )
    )


async def owed_thread_walks(session: AsyncSession, limit: int) -> list[int]:
    """Threads still owed a walk, newest first; those failing again and again last, and
    those the token cannot read not at all (recorded, not retried forever)."""
    rows = await session.execute(
        sa.select(Feed.external_id)
        .where(Feed.kind == SyncFeedKind.THREAD, sa.not_(Feed.inaccessible))
        .order_by(Feed.consecutive_failures, Feed.external_id.desc())
        .limit(limit)
    )
    return list(rows.scalars())


async def count_owed_thread_walks(session: AsyncSession) -> int:
    return int(
        (
            await session.execute(
                sa.select(sa.func.count())
                .select_from(Feed)
                .where(Feed.kind == SyncFeedKind.THREAD, sa.not_(Feed.inaccessible))
            )
        ).scalar_one()
    )


async def thread_walk_failed(
    session: AsyncSession, thread_id: int, error: str, at: datetime, *, inaccessible: bool = False
) -> None:
    """Record why an owed thread was not walked (nothing, for a thread not owed)."""
    await session.execute(
        _failed(
            sa.and_(Feed.kind == SyncFeedKind.THREAD, Feed.external_id == thread_id),
            error,
            at,
            inaccessible,
        )
    )


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


async def campaign_feeds(session: AsyncSession) -> list[FeedRef]:
    """What the campaigns ask to follow: tracked groups, topics whose microblog id is known,
    and the campaign staff (owners and current topic managers)."""
    G = models.MicroblogGroup
    T = models.Topic
    TM = models.TopicManager
    P = models.Person
    groups = await session.execute(
        sa.select(G.external_id, G.name)
        .join(models.CampaignGroup, models.CampaignGroup.group_id == G.id)
        .distinct()
    )
    topics = await session.execute(
        sa.select(T.external_id, T.hashtag).where(T.external_id.is_not(None))
    )
    staff_ids = sa.union(
        sa.select(models.Campaign.owner_id.label("id")).where(
            models.Campaign.owner_id.is_not(None)
        ),
        sa.select(TM.person_id.label("id")).where(
            sa.or_(TM.until.is_(None), TM.until > sa.func.current_date())
        ),
    ).subquery()
    staff = await session.execute(
        sa.select(P.external_id, P.full_name).join(staff_ids, staff_ids.c.id == P.id)
    )
    return (
        [FeedRef(SyncFeedKind.GROUP, e, name) for e, name in groups.all()]
        + [FeedRef(SyncFeedKind.TOPIC, e, f"#{tag}") for e, tag in topics.all() if e is not None]
        + [FeedRef(SyncFeedKind.USER, e, name) for e, name in staff.all()]
    )


# pg_advisory_lock key: the same for every replica of this service, on any database.
POLLING_LOCK = 0x6361_6D70_6169_676E  # "campaign"


async def try_polling_lock(conn: Any) -> bool:
    """Take the session-level lock that makes one worker the poller (an AsyncConnection)."""
    got = bool(await conn.scalar(sa.select(sa.func.pg_try_advisory_lock(POLLING_LOCK))))
    await conn.commit()  # the lock is the session's; do not sit idle in a transaction
    return got


async def release_polling_lock(conn: Any) -> None:
    await conn.execute(sa.select(sa.func.pg_advisory_unlock(POLLING_LOCK)))
    await conn.commit()


async def holds_polling_lock(conn: Any) -> bool:
    """Whether this connection's session still holds the polling lock (it raises if the
    connection is gone, which has released the lock server-side)."""
    # A bigint advisory key shows in pg_locks as classid (high 32 bits) and objid (low 32).
    held = await conn.scalar(
        sa.text(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
            " AND pid = pg_backend_pid() AND granted AND objsubid = 1"
            " AND (classid::bigint << 32 | objid::bigint) = :key)"
        ),
        {"key": POLLING_LOCK},
    )
    await conn.commit()  # do not sit idle in a transaction on the lock's connection
    return bool(held)
