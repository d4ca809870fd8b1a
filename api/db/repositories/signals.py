"""The advisory lock that makes one worker the poller among replicas (NOTIFY for live activity
is ``activity``'s)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

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
