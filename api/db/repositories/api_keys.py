"""Integration API keys: stored as SHA-256 hashes, listed, revoked, and their last use."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models
from api.db.prepared import prepare
from api.db.repositories import data_version
from api.db.request_session import Reads, RequestSession
from api.domain.enums import Role

Key = models.ApiKey

# A key's last use is recorded at most this often: it is for "is this key still used?",
# not an audit log, and a write per request would queue the key's requests on its row lock.
LAST_USE_RESOLUTION = sa.text("interval '1 minute'")


async def create_key(session: AsyncSession, *, name: str, role: Role, key_hash: str) -> Any:
    return (
        await session.execute(
            sa.insert(Key)
            .values(name=name, role=role, key_hash=key_hash)
            .returning(Key.id, Key.name, Key.created_at)
        )
    ).one()


async def find_active(session: AsyncSession, key_hash: str) -> Any:
    """The unrevoked key with this hash (id, name, role), or None.  A plain read: no lock."""
    return (
        await session.execute(
            sa.select(Key.id, Key.name, Key.role).where(
                Key.key_hash == key_hash, Key.revoked_at.is_(None)
            )
        )
    ).first()


@dataclass(frozen=True, slots=True)
class ActiveKey:
    id: int
    name: str
    role: Role


def active_key(*extra: Any) -> Any:
    """The unrevoked key whose hash is bound as ``key_hash`` (id, name, role, ``extra``): a
    plain read, no lock. Also the first half of ``query_budgets.draw_for_key_on``."""
    return sa.select(Key.id, Key.name, Key.role, *extra).where(
        Key.key_hash == sa.bindparam("key_hash", type_=sa.Text()), Key.revoked_at.is_(None)
    )


_FIND_ACTIVE = prepare(active_key())
_FIND_ACTIVE_AND_VERSION = prepare(active_key(data_version.subquery()))


async def find_active_on(reads: Reads, key_hash: str) -> ActiveKey | None:
    """``find_active`` as a request's bookkeeping, on the primary: a revocation holds from the
    moment it commits. The first statement of a request, it reads the data version too when
    the request can use it (``RequestSession.folds_version``)."""
    fold = isinstance(reads, RequestSession) and reads.folds_version()
    statement = _FIND_ACTIVE_AND_VERSION if fold else _FIND_ACTIVE
    row = await reads.bookkeeping_row(statement, statement.args(key_hash=key_hash))
    if row is None:
        return None
    if fold and isinstance(reads, RequestSession):
        reads.data_version = int(row[3])
    return ActiveKey(id=int(row[0]), name=str(row[1]), role=Role[row[2]])


async def active_among(session: AsyncSession, key_ids: Collection[int]) -> set[int]:
    """Which of these keys are still unrevoked: one primary-key lookup for them all."""
    if not key_ids:
        return set()
    rows = await session.execute(
        sa.select(Key.id).where(Key.id.in_(list(key_ids)), Key.revoked_at.is_(None))
    )
    return set(rows.scalars())


async def list_keys(session: AsyncSession) -> list[Any]:
    """Every key, oldest first, without its hash."""
    rows = await session.execute(
        sa.select(
            Key.id, Key.name, Key.role, Key.created_at, Key.last_used_at, Key.revoked_at
        ).order_by(Key.created_at, Key.id)
    )
    return list(rows)


async def revoke(session: AsyncSession, name_or_id: str) -> list[Any]:
    """Revoke the unrevoked keys with this name (or this id); the keys revoked."""
    match = Key.name == name_or_id
    if name_or_id.isascii() and name_or_id.isdigit() and len(name_or_id) < 19:
        match = sa.or_(match, Key.id == int(name_or_id))
    rows = await session.execute(
        sa.update(Key)
        .where(match, Key.revoked_at.is_(None))
        .values(revoked_at=sa.func.now())
        .returning(Key.id, Key.name, Key.revoked_at)
    )
    return list(rows)


async def record_use(session: AsyncSession, key_ids: Sequence[int]) -> int:
    """Set ``last_used_at`` of keys not marked within the last minute; the rows updated.

    Rows another transaction holds are skipped (``SKIP LOCKED``): a concurrent marker is
    recording the same use, and waiting for it would only queue this one.
    """
    if not key_ids:
        return 0
    due = (
        sa.select(Key.id)
        .where(
            Key.id.in_(list(key_ids)),
            sa.or_(
                Key.last_used_at.is_(None),
                Key.last_used_at < sa.func.now() - LAST_USE_RESOLUTION,
            ),
        )
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await session.execute(
        sa.update(Key).where(Key.id.in_(due)).values(last_used_at=sa.func.now())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
