"""Persisted GraphQL documents, by the SHA-256 of their text (``api/persisted.py``)."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models
from api.db.prepared import prepare
from api.db.request_session import Reads

PQ = models.PersistedQuery

_FIND = prepare(sa.select(PQ.document).where(PQ.sha256 == sa.bindparam("sha256", type_=sa.Text())))


async def find(session: AsyncSession, sha256: str) -> str | None:
    found: str | None = await session.scalar(sa.select(PQ.document).where(PQ.sha256 == sha256))
    return found


async def find_on(reads: Reads, sha256: str) -> str | None:
    """``find`` as a request's bookkeeping, on the read side."""
    row = await reads.bookkeeping_row(_FIND, _FIND.args(sha256=sha256), primary=False)
    return str(row[0]) if row is not None else None


async def recent(session: AsyncSession, limit: int) -> list[tuple[str, str]]:
    """The ``limit`` documents registered last (hash, text), newest first."""
    rows = await session.execute(
        sa.select(PQ.sha256, PQ.document).order_by(PQ.created_at.desc(), PQ.sha256).limit(limit)
    )
    return [(str(digest), str(text)) for digest, text in rows.all()]


async def register(session: AsyncSession, documents: Mapping[str, str]) -> int:
    """Store documents (hash -> text) not stored yet; how many were new."""
    if not documents:
        return 0
    rows = [{"sha256": h, "document": text} for h, text in sorted(documents.items())]
    result = await session.execute(
        insert(PQ)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[PQ.sha256])
        .returning(PQ.sha256)
    )
    return len(result.all())
