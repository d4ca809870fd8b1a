"""Operational tables: integration keys and the sync worker's state."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, enum_column
from api.db.enums import Role, SyncFeedKind


class ApiKey(Base):
    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(sa.Text)
    # SHA-256 of the key; the key itself is shown once and never stored.
    key_hash: Mapped[str] = mapped_column(sa.Text, unique=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class SyncFeed(Base):
    __tablename__ = "sync_feed"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    kind: Mapped[SyncFeedKind] = mapped_column(enum_column(SyncFeedKind, "sync_feed_kind"))
    external_id: Mapped[int] = mapped_column(sa.BigInteger)
    name: Mapped[str] = mapped_column(sa.Text)
    newest_seen_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    oldest_seen_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    backfill_complete: Mapped[bool] = mapped_column(server_default=sa.false())
    inaccessible: Mapped[bool] = mapped_column(server_default=sa.false())
    items_mirrored: Mapped[int] = mapped_column(sa.BigInteger, server_default="0")
    last_run_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (sa.UniqueConstraint("kind", "external_id"),)


class SyncRun(Base):
    __tablename__ = "sync_run"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(sa.Text, server_default="RUNNING")
    requests: Mapped[int] = mapped_column(server_default="0")
    posts_upserted: Mapped[int] = mapped_column(server_default="0")
    errors: Mapped[int] = mapped_column(server_default="0")
    error: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (sa.Index("ix_sync_run_started_at", "started_at"),)
