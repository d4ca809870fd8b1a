"""The worker's freshness bookkeeping (``sync_thread``): what pages show of each thread, which
threads the policy wants read, and what a walk found.

Every live mirrored thread has a row (``enroll`` adds those that came another way, such as an
export import). ``due_at`` is the policy's next reading, computed by the worker with its own
policy; ``changed_at`` marks a thread whose reference showed activity the mirror has not read,
due at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models
from api.domain.freshness import FreshnessPolicy

T = models.SyncThread
P = models.Post
MAX_RETRY_WAIT = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ThreadSeen:
    """What one page showed of a thread: its newest message, and its reference's stats."""

    thread_id: int
    activity: datetime
    updates: int | None = None
    latest_reply_id: int | None = None


@dataclass(frozen=True, slots=True)
class DueThread:
    thread_id: int
    messages: int  # in the thread (starter included), as far as the mirror knows


@dataclass(frozen=True, slots=True)
class Freshness:
    """For ``syncStatus``: the live thread read longest ago, and how many are overdue."""

    oldest_refreshed_at: datetime | None
    overdue: int


def _every(policy: FreshnessPolicy, activity: Any, now: datetime) -> Any:
    """The policy's re-read interval for threads last active at ``activity`` (SQL)."""
    whens = [
        (activity >= now - tier.within, sa.literal(tier.every, sa.Interval))
        for tier in policy.tiers
        if tier.within is not None
    ]
    last = sa.literal(policy.tiers[-1].every, sa.Interval)
    return sa.case(*whens, else_=last) if whens else last


def _backoff() -> Any:
    """After failures, a wait doubling with each (a minute, two, four... at most a day)."""
    seconds = sa.func.least(
        60 * sa.func.power(2, sa.func.least(T.failures - 1, 20)), MAX_RETRY_WAIT.total_seconds()
    )
    return sa.func.make_interval(0, 0, 0, 0, 0, 0, seconds)


def _due(policy: FreshnessPolicy, now: datetime) -> Any:
    """When the policy next wants a thread read: its tier's interval after it was last read
    in full (after it was last tried, backing off, while walks fail), and at once once a
    reference showed activity not read yet."""
    every = _every(policy, T.last_activity_at, now)
    scheduled = sa.case(
        (T.failures > 0, T.tried_at + sa.func.greatest(every, _backoff())),
        else_=T.refreshed_at + every,
    )
    return sa.func.least(scheduled, T.changed_at)


def _at(moment: datetime) -> Any:
    return sa.literal(moment, sa.DateTime(timezone=True))


def _live_starter() -> Any:
    return sa.and_(
        P.external_id == T.thread_id, P.thread_starter_id.is_(None), P.deleted_at.is_(None)
    )


def _mirrored_replies() -> Any:
    R = sa.orm.aliased(P)
    return (
        sa.select(sa.func.count())
        .where(R.thread_starter_id == P.id, R.deleted_at.is_(None))
        .correlate(P)
        .scalar_subquery()
    )


def _readable() -> Any:
    """Threads outside groups the token cannot read (recorded, not retried for ever)."""
    G = models.MicroblogGroup
    return ~sa.exists().where(G.id == P.group_id, sa.not_(G.accessible))


# One statement text whatever the page: rows come as arrays (``unnest``), so it is compiled
# and prepared once, not built anew from a VALUES list per page.  A thread whose reference
# shows other stats, or a newer message, has activity not read yet: ``changed_at`` is set
# (kept if set already) and it is due at once.
_CHANGED = """(
    (excluded.updates IS NOT NULL AND t.updates IS NOT NULL AND excluded.updates <> t.updates)
    OR (excluded.latest_reply_id IS NOT NULL AND t.latest_reply_id IS NOT NULL
        AND excluded.latest_reply_id <> t.latest_reply_id)
    OR excluded.last_activity_at > t.last_activity_at)"""
_OBSERVE = sa.text(f"""
INSERT INTO sync_thread AS t
    (thread_id, last_activity_at, updates, latest_reply_id, refreshed_at, due_at)
SELECT s.thread_id, s.activity, s.updates, s.latest_reply_id, CAST(:now AS timestamptz), s.due_at
FROM unnest(CAST(:thread_id AS bigint[]), CAST(:activity AS timestamptz[]),
    CAST(:updates AS int[]), CAST(:latest_reply_id AS bigint[]), CAST(:due_at AS timestamptz[]))
    AS s (thread_id, activity, updates, latest_reply_id, due_at)
ORDER BY s.thread_id
ON CONFLICT (thread_id) DO UPDATE SET
    last_activity_at = greatest(t.last_activity_at, excluded.last_activity_at),
    updates = coalesce(excluded.updates, t.updates),
    latest_reply_id = coalesce(excluded.latest_reply_id, t.latest_reply_id),
    changed_at = CASE WHEN {_CHANGED}
      THEN coalesce(t.changed_at, CAST(:now AS timestamptz)) ELSE t.changed_at END,
    due_at = CASE WHEN {_CHANGED}
      THEN least(t.due_at, CAST(:now AS timestamptz)) ELSE t.due_at END
""")


async def observe(
    session: AsyncSession, seen: Sequence[ThreadSeen], now: datetime, policy: FreshnessPolicy
) -> None:
    """Record what a page showed: a thread first seen is fresh as read now; one whose
    reference shows other stats, or a newer message, has activity not read yet: due at once."""
    if not seen:
        return
    by_thread: dict[int, ThreadSeen] = {}
    for s in seen:  # one row per thread (a page may show a thread twice)
        before = by_thread.get(s.thread_id)
        by_thread[s.thread_id] = s if before is None or s.activity >= before.activity else before
    rows = sorted(by_thread.values(), key=lambda s: s.thread_id)
    await session.execute(
        _OBSERVE,
        {
            "now": now,
            "thread_id": [s.thread_id for s in rows],
            "activity": [s.activity for s in rows],
            "updates": [s.updates for s in rows],
            "latest_reply_id": [s.latest_reply_id for s in rows],
            "due_at": [now + policy.every(now - s.activity) for s in rows],
        },
    )


async def enroll(session: AsyncSession, now: datetime, policy: FreshnessPolicy) -> int:
    """Give every live thread without a row one (mirrored another way, or before the
    policy existed): read fresh when its starter was, due on the policy's schedule."""
    R = sa.orm.aliased(P)
    newest_reply = (
        sa.select(sa.func.max(R.created_at))
        .where(R.thread_starter_id == P.id, R.deleted_at.is_(None))
        .correlate(P)
        .scalar_subquery()
    )
    activity = sa.func.greatest(P.created_at, newest_reply)
    source = sa.select(
        P.external_id, activity, P.synced_at, P.synced_at + _every(policy, activity, now)
    ).where(
        P.thread_starter_id.is_(None),
        P.deleted_at.is_(None),
        ~sa.exists().where(T.thread_id == P.external_id),
    )
    result = await session.execute(
        insert(T)
        .from_select(["thread_id", "last_activity_at", "refreshed_at", "due_at"], source)
        .on_conflict_do_nothing()
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def due_threads(session: AsyncSession, now: datetime, limit: int) -> list[DueThread]:
    """Threads to read now, most urgent first: those with activity not read yet (a changed
    reference, or fewer replies mirrored than the starter reports and not tried since it was
    read), then the policy's due ones, the most overdue first. Threads in groups the token
    cannot read are left out."""
    replies = _mirrored_replies()
    incomplete = sa.and_(
        P.reply_count > replies, sa.or_(T.tried_at.is_(None), T.tried_at < P.synced_at)
    )
    urgent = sa.or_(T.changed_at.is_not(None), incomplete)
    # The walk's likely size: the most of what is mirrored and what the microblog reports.
    messages = sa.func.greatest(replies, P.reply_count, T.updates - 1) + 1
    rows = await session.execute(
        sa.select(T.thread_id, messages)
        .join(P, _live_starter())
        .where(sa.or_(T.due_at <= now, urgent), _readable())
        .order_by(sa.case((urgent, 0), else_=1), T.due_at, T.thread_id)
        .limit(limit)
    )
    return [DueThread(thread_id, messages) for thread_id, messages in rows.all()]


async def walked(
    session: AsyncSession,
    thread_id: int,
    now: datetime,
    policy: FreshnessPolicy,
    *,
    updates: int | None,
    latest_reply_id: int | None,
) -> None:
    """A walk read the thread to its end: fresh as of now, and its reference's stats then
    are the ones later pages are compared with."""
    await session.execute(
        sa.update(T)
        .where(T.thread_id == thread_id)
        .values(
            refreshed_at=now,
            tried_at=now,
            changed_at=None,
            failures=0,
            last_error=None,
            updates=sa.func.coalesce(updates, T.updates),
            latest_reply_id=sa.func.coalesce(latest_reply_id, T.latest_reply_id),
            due_at=_at(now) + _every(policy, T.last_activity_at, now),
        )
    )


async def reschedule(session: AsyncSession, now: datetime, policy: FreshnessPolicy) -> None:
    """Bring ``due_at`` in line with the policy as it is now: threads age into slower tiers,
    and the policy itself may have changed since a thread was scheduled. Only rows whose
    time moves are written."""
    due = _due(policy, now)
    await session.execute(sa.update(T).where(T.due_at.is_distinct_from(due)).values(due_at=due))


async def walk_failed(
    session: AsyncSession, thread_id: int, error: str, now: datetime, policy: FreshnessPolicy
) -> None:
    """A walk failed: tried again on the policy's schedule, and no sooner than a back-off
    doubling with each failure (a minute, two, four... at most a day)."""
    await session.execute(
        sa.update(T)
        .where(T.thread_id == thread_id)
        .values(tried_at=now, changed_at=None, failures=T.failures + 1, last_error=error[:500])
    )
    await session.execute(
        sa.update(T).where(T.thread_id == thread_id).values(due_at=_due(policy, now))
    )


async def forget(session: AsyncSession, thread_ids: Sequence[int]) -> None:
    """Threads found deleted: nothing left to re-read."""
    if thread_ids:
        await session.execute(sa.delete(T).where(T.thread_id.in_(sorted(set(thread_ids)))))


async def freshness(session: AsyncSession, now: datetime, grace: timedelta) -> Freshness:
    """The oldest reading of a live thread, and how many threads are past due by ``grace``."""
    row = (
        await session.execute(
            sa.select(
                sa.func.min(T.refreshed_at),
                sa.func.count().filter(T.due_at < now - grace),
            )
            .join(P, _live_starter())
            .where(_readable())
        )
    ).one()
    return Freshness(oldest_refreshed_at=row[0], overdue=int(row[1]))
