"""What the GraphQL endpoint keeps in PostgreSQL, shared by every API process: persisted
documents (APQ and trusted documents) and the data version behind GET answers' ETags."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base


class PersistedQuery(Base):
    """A GraphQL document known by the SHA-256 of its exact text (Apollo's APQ hash)."""

    __tablename__ = "persisted_query"

    sha256: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    document: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())

    __table_args__ = (sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),)


class DataVersion(Base):
    """One row, bumped in the same transaction as every write the API shows (a worker page,
    a mutation): an answer read at version V is still current while the version is V."""

    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, server_default="1")
    version: Mapped[int] = mapped_column(sa.BigInteger, server_default="0")

    __table_args__ = (sa.CheckConstraint("id = 1", name="one_row"),)
