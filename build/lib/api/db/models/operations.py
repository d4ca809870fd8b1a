"""Operational tables: integration keys and the sync worker's state."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, enum_column
from api.domain.enums import Role, SyncFeedKind


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
    # Cursors in the microblog's ids: poll with newer_than=newest, backfill with older_than=oldest.
    newest_seen_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    oldest_seen_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    backfill_complete: Mapped[bool] = mapped_column(server_default=sa.false())
    inaccessible: Mapped[bool] = mapped_column(server_default=sa.false())
    items_mirrored: Mapped[int] = mapped_column(sa.BigInteger, server_default="0")
    last_run_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # Reset by a success; a feed failing again and again is retried less often.
    consecutive_failures: Mapped[int] = mapped_column(server_default="0")

    __table_args__ = (sa.UniqueConstraint("kind", "external_id"),)


class SyncRun(Base):
    """One pass of the worker, or a queued request for one (``requestSync``)."""

    __tablename__ = "sync_run"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # QUEUED -> RUNNING -> SUCCEEDED | PARTIAL | FAILED, or ABANDONED when its worker died
    status: Mapped[str] = mapped_column(sa.Text, server_default="RUNNING")
    trigger: Mapped[str] = mapped_column(sa.Text, server_default="SCHEDULE")
    requested_by: Mapped[str | None] = mapped_column(sa.Text)
    # Feed kinds asked for; empty means all.
    feed_kinds: Mapped[list[str]] = mapped_column(
        sa.ARRAY(sa.Text), server_default=sa.text("'{}'::text[]")
    )
    requests: Mapped[int] = mapped_column(server_default="0")
    posts_upserted: Mapped[int] = mapped_column(server_default="0")
    errors: Mapped[int] = mapped_column(server_default="0")
    error: Mapped[str | None] = mapped_column(sa.Text)
    # The worker running it (sync_worker.worker_id): its heartbeat tells a live run from one
    # whose process died.
    worker_id: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (
        sa.Index("ix_sync_run_created_at", "created_at"),
        # The worker picks the oldest queued request.
        sa.Index("ix_sync_run_queued", "created_at", postgresql_where=sa.text("status = 'QUEUED'")),
        # At most one waiting request: requestSync inserts ON CONFLICT DO NOTHING against this,
        # so concurrent requests cannot queue two runs.
        sa.Index(
            "uq_sync_run_one_queued",
            "status",
            unique=True,
            postgresql_where=sa.text("status = 'QUEUED'"),
        ),
        sa.CheckConstraint(
            "status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'PARTIAL', 'FAILED', 'ABANDONED')",
            name="status_known",
        ),
    )


class SyncWorker(Base):
    """Each worker replica's heartbeat: whether it is the active poller and its request rate."""

    __tablename__ = "sync_worker"

    worker_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    # ACTIVE (holds the lock and polls), STANDBY, STOPPED, or LOST (silent, found dead)
    role: Mapped[str] = mapped_column(sa.Text)
    # What the active worker is doing: SYNCING, IDLE, BACKING_OFF
    state: Mapped[str] = mapped_column(sa.Text, server_default="IDLE")
    source: Mapped[str] = mapped_column(sa.Text)
    heartbeat_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
    requests_in_window: Mapped[int] = mapped_column(server_default="0")
    poll_interval_seconds: Mapped[int] = mapped_column(server_default="60")
