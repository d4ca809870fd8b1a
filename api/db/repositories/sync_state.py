"""The worker's feeds: what the campaigns ask it to follow, their cursors and errors, and the
threads owed a walk. Runs and heartbeats are in ``sync_runs``; the polling lock and NOTIFY in
``signals``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models
from api.db.repositories.topics import staff_ids
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


async def campaign_feeds(session: AsyncSession) -> list[FeedRef]:
    """What the campaigns ask to follow: tracked groups, topics whose microblog id is known,
    and the campaign staff (owners and topic managers: ``staff_ids``)."""
    G = models.MicroblogGroup
    T = models.Topic
    P = models.Person
    groups = await session.execute(
        sa.select(G.external_id, G.name)
        .join(models.CampaignGroup, models.CampaignGroup.group_id == G.id)
        .distinct()
    )
    topics = await session.execute(
        sa.select(T.external_id, T.hashtag).where(T.external_id.is_not(None))
    )
    staff = staff_ids()
    people = await session.execute(
        sa.select(P.external_id, P.full_name).join(staff, staff.c.id == P.id)
    )
    return (
        [FeedRef(SyncFeedKind.GROUP, e, name) for e, name in groups.all()]
        + [FeedRef(SyncFeedKind.TOPIC, e, f"#{tag}") for e, tag in topics.all() if e is not None]
        + [FeedRef(SyncFeedKind.USER, e, name) for e, name in people.all()]
    )
