"""What readiness asks of the database: the migration it is at."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession


async def migration_revision(session: AsyncSession) -> str | None:
    """The database's alembic revision; raises when the database cannot answer at all."""
    result = await session.execute(sa.text("SELECT version_num FROM alembic_version"))
    return result.scalar_one_or_none()
