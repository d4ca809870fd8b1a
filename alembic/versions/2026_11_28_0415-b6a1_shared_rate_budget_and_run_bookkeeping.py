"""shared rate budget and run bookkeeping

The rate budget and the moments of periodic work move into the database, so restarts,
``sync --once`` and replicas share them; a run records its worker, and a run whose worker
died can be closed as ABANDONED.

Revision ID: b6a1
Revises: c9a1
Create Date: 2026-11-28 04:15:00

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "b6a1"
down_revision: Union[str, Sequence[str], None] = 'c9a1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_STATUSES = "status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'PARTIAL', 'FAILED')"
NEW_STATUSES = "status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'PARTIAL', 'FAILED', 'ABANDONED')"


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "sync_rate_budget",
        sa.Column("token_key", sa.Text(), nullable=False),
        sa.Column("bucket", sa.Text(), nullable=False),
        sa.Column(
            "granted",
            postgresql.ARRAY(sa.DateTime(timezone=True)),
            server_default=sa.text("'{}'::timestamptz[]"),
            nullable=False,
        ),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_key", "bucket", name=op.f("pk_sync_rate_budget")),
    )
    op.create_table(
        "sync_mark",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sync_mark")),
    )
    op.add_column("sync_run", sa.Column("worker_id", sa.Text(), nullable=True))
    op.drop_constraint(op.f("ck_sync_run_status_known"), "sync_run", type_="check")
    op.create_check_constraint(op.f("ck_sync_run_status_known"), "sync_run", NEW_STATUSES)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_constraint(op.f("ck_sync_run_status_known"), "sync_run", type_="check")
    # The old schema knows no ABANDONED: a run that did not finish is a partial one.
    op.execute("UPDATE sync_run SET status = 'PARTIAL' WHERE status = 'ABANDONED'")
    op.create_check_constraint(op.f("ck_sync_run_status_known"), "sync_run", OLD_STATUSES)
    op.drop_column("sync_run", "worker_id")
    op.drop_table("sync_mark")
    op.drop_table("sync_rate_budget")
