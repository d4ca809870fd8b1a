"""The sync worker's bookkeeping per mirrored thread: when it was read, when it is due."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base


class SyncThread(Base):
    """One thread the worker re-reads on the freshness policy's schedule (``api.domain.freshness``).

    Kept in the database, not in the worker's memory, so a restart or a fail-over keeps the
    schedule. Keyed by the microblog's id of the thread (its starter's id).
    """

    __tablename__ = "sync_thread"

    thread_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    # The newest message known in the thread: its age picks the policy's tier.
    last_activity_at: Mapped[datetime]
    # The thread's stats as a page's thread reference last showed them; a reference showing
    # others means activity the mirror has not read (``changed_at``).
    updates: Mapped[int | None]
    latest_reply_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    changed_at: Mapped[datetime | None]
    # When the mirror last held the whole thread as it was (a walk to its end, or the first read).
    refreshed_at: Mapped[datetime]
    # When the policy next wants it read.
    due_at: Mapped[datetime]
    tried_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(server_default="0")
    last_error: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (
        sa.Index("ix_sync_thread_due_at", "due_at"),
        sa.Index(
            "ix_sync_thread_changed_at",
            "changed_at",
            postgresql_where=sa.text("changed_at IS NOT NULL"),
        ),
    )
