"""The shared rate budget (``sync_rate_budget``): one row per (token, bucket), holding the
moments of the requests granted in the sliding window and any 429 pause.

Each call is one short statement or two in the caller's transaction; the row is locked from
the first, so processes sharing a token take slots one at a time and never together exceed
the limit. Times are the database's (``clock_timestamp()``), one clock for every host.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models

Budget = models.SyncRateBudget
_NOW = sa.func.clock_timestamp()


def _key(token_key: str, bucket: str) -> sa.ColumnElement[bool]:
    return sa.and_(Budget.token_key == token_key, Budget.bucket == bucket)


async def take(
    session: AsyncSession, token_key: str, bucket: str, requests: int | None, window: float
) -> tuple[float, datetime | None]:
    """Take a slot if the window has room and the bucket is not paused: ``(0, its stamp)``;
    else ``(seconds until it may, None)``. ``requests=None`` (lifted) takes no slot."""
    # Insert-or-touch locks the row and reads it in one round trip.
    stmt = insert(Budget).values(token_key=token_key, bucket=bucket)
    row = (
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[Budget.token_key, Budget.bucket],
                set_={"bucket": stmt.excluded.bucket},
            ).returning(Budget.granted, Budget.paused_until, _NOW)
        )
    ).one()
    granted, paused_until, now = row
    if paused_until is not None and paused_until > now:
        return (paused_until - now).total_seconds(), None
    if requests is None:
        return 0.0, None
    horizon = now - timedelta(seconds=window)
    live = [at for at in granted if at > horizon]
    if len(live) >= requests:
        return (min(live) + timedelta(seconds=window) - now).total_seconds(), None
    await session.execute(
        sa.update(Budget).where(_key(token_key, bucket)).values(granted=[*live, now])
    )
    return 0.0, now


async def in_window(
    session: AsyncSession, token_key: str, windows: Mapping[str, float]
) -> dict[str, int]:
    """Slots taken in each bucket of ``windows`` (bucket: its window in seconds) within its
    window, by every process using the token. A bucket nobody has asked in has none."""
    rows = await session.execute(
        sa.select(Budget.bucket, Budget.granted, _NOW).where(
            Budget.token_key == token_key, Budget.bucket.in_(list(windows))
        )
    )
    counts = dict.fromkeys(windows, 0)
    for bucket, granted, now in rows:
        horizon = now - timedelta(seconds=windows[bucket])
        counts[bucket] = sum(1 for at in granted if at > horizon)
    return counts


async def restamp(session: AsyncSession, token_key: str, bucket: str, stamp: datetime) -> None:
    """Move a granted slot to now, when its response came back (never earlier)."""
    await session.execute(
        sa.update(Budget)
        .where(_key(token_key, bucket))
        .values(
            granted=sa.func.array_replace(
                Budget.granted, sa.cast(stamp, Budget.granted.type.item_type),
                sa.func.greatest(sa.cast(stamp, Budget.granted.type.item_type), _NOW),
            )
        )
    )  # fmt: skip


async def pause(session: AsyncSession, token_key: str, bucket: str, seconds: float) -> None:
    """Nobody sharing the token asks in ``bucket`` for ``seconds`` (a shorter pause than one
    already set does not shorten it)."""
    until = _NOW + sa.func.make_interval(0, 0, 0, 0, 0, 0, seconds)
    stmt = insert(Budget).values(token_key=token_key, bucket=bucket, paused_until=until)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Budget.token_key, Budget.bucket],
            set_={
                "paused_until": sa.func.greatest(
                    sa.func.coalesce(Budget.paused_until, stmt.excluded.paused_until),
                    stmt.excluded.paused_until,
                )
            },
        )
    )
