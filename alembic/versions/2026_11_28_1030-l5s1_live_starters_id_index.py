"""live starters by id: a partial index on post (id) for live thread starters

Revision ID: l5s1
Revises: r8a1
Create Date: 2026-11-28 10:30:00

Counting a resource's (or a topic's) live thread starters joins its links to post and keeps
the live starters.  Without this index the planner hashes every live starter (210,000 at
300,000 posts) per count; with it, each link is probed in the index alone (index-only, no heap
visit), a few thousand probes.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "l5s1"
down_revision: str | Sequence[str] | None = "r8a1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE_STARTERS = sa.text("thread_starter_id IS NULL AND deleted_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_post_live_starters_id", "post", ["id"], unique=False, postgresql_where=_LIVE_STARTERS
    )


def downgrade() -> None:
    op.drop_index("ix_post_live_starters_id", table_name="post", postgresql_where=_LIVE_STARTERS)
