"""sync_thread: the worker's freshness bookkeeping per mirrored thread

Revision ID: f6a1
Revises: b6a1
Create Date: 2026-11-28 04:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f6a1"
down_revision: str | Sequence[str] | None = 'b6a1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_thread",
        sa.Column("thread_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updates", sa.Integer(), nullable=True),
        sa.Column("latest_reply_id", sa.BigInteger(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tried_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("thread_id", name=op.f("pk_sync_thread")),
    )
    op.create_index("ix_sync_thread_due_at", "sync_thread", ["due_at"], unique=False)
    op.create_index(
        "ix_sync_thread_changed_at",
        "sync_thread",
        ["changed_at"],
        unique=False,
        postgresql_where=sa.text("changed_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_sync_thread_changed_at",
        table_name="sync_thread",
        postgresql_where=sa.text("changed_at IS NOT NULL"),
    )
    op.drop_index("ix_sync_thread_due_at", table_name="sync_thread")
    op.drop_table("sync_thread")
