"""The rate budget shared through PostgreSQL by every process using one token.

The worker's ``RateBudget`` draws each grant from here as well as from its own memory, so a
restart, ``campaign sync --once`` while a worker polls, or a replica taking over all start
from what the token has spent in the window (and from any 429 pause), not from a full budget.
Each call is one short transaction (``api.db.repositories.rate_budget``).

The token itself is never stored: rows are keyed by a SHA-256 of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime

from api.db.repositories import rate_budget
from api.db.session import Database
from api.sync.budget import Limit


def token_key(token: str) -> str:
    """What identifies a token's budget in the database: a hash, never the token."""
    return hashlib.sha256(f"campaign-graph rate budget\n{token}".encode()).hexdigest()


class PostgresBudget:
    """A ``SharedBudget`` kept in ``sync_rate_budget``."""

    def __init__(self, db: Database, token: str) -> None:
        self._db = db
        self._key = token_key(token)

    def __repr__(self) -> str:
        return "PostgresBudget()"

    async def take(self, bucket: str, limit: Limit) -> tuple[float, object | None]:
        async with self._db.unit_of_work() as session:
            return await rate_budget.take(session, self._key, bucket, limit.requests, limit.window)

    async def in_window(self, windows: Mapping[str, float]) -> dict[str, int]:
        # On the primary, where the slots are taken: a replica may lag behind them.
        async with self._db.unit_of_work() as session:
            return await rate_budget.in_window(session, self._key, windows)

    async def restamp(self, bucket: str, stamp: object) -> None:
        if not isinstance(stamp, datetime):
            raise TypeError("not a stamp of this budget")
        async with self._db.unit_of_work() as session:
            await rate_budget.restamp(session, self._key, bucket, stamp)

    async def pause(self, bucket: str, seconds: float) -> None:
        async with self._db.unit_of_work() as session:
            await rate_budget.pause(session, self._key, bucket, seconds)
