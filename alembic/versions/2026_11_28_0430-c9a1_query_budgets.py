"""query budgets: each principal's leaky bucket of query cost points

Revision ID: c9a1
Revises: k9a1
Create Date: 2026-11-28 04:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c9a1"
down_revision: str | Sequence[str] | None = "k9a1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "query_budget",
        sa.Column("principal", sa.Text(), nullable=False),
        sa.Column("available", sa.Double(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("throttled_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("principal", name=op.f("pk_query_budget")),
    )


def downgrade() -> None:
    op.drop_table("query_budget")
