"""no check-then-write races: one manager per topic at a time, one episode per place, one queued run

Revision ID: k9a1
Revises: 0002
Create Date: 2026-11-28 04:15:00

Each constraint closes a race where a mutation checked and then wrote: the losing concurrent
call now fails in the database and is answered as a user error.  Rows that already break a
new rule are repaired first, keeping every row (history is ended, never deleted).
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "k9a1"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # btree_gist is a trusted extension (PostgreSQL 13+): a database owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")

    # Assignments of one topic that start on the same day: keep the first, end the others on
    # the day they start (an empty range overlaps nothing).
    op.execute(
        """
        UPDATE topic_manager tm SET until = tm.since
        WHERE EXISTS (
            SELECT 1 FROM topic_manager o
            WHERE o.topic_id = tm.topic_id AND o.since = tm.since AND o.id < tm.id
        )
        """
    )
    # Overlapping assignments: each ends when the next one of its topic begins.
    op.execute(
        """
        UPDATE topic_manager tm SET until = nxt.since
        FROM (
            SELECT a.id, min(b.since) AS since
            FROM topic_manager a
            JOIN topic_manager b
              ON b.topic_id = a.topic_id AND b.since > a.since
             AND (b.until IS NULL OR b.until > b.since)
            WHERE a.until IS NULL OR a.until > b.since
            GROUP BY a.id
        ) nxt
        WHERE tm.id = nxt.id
        """
    )
    op.execute(
        "ALTER TABLE topic_manager ADD CONSTRAINT ex_topic_manager_one_at_a_time "
        "EXCLUDE USING gist (topic_id WITH =, daterange(since, until, '[)') WITH &&)"
    )

    # Two episodes at one place in a series: later ones lose their place, not their row.
    op.execute(
        """
        UPDATE resource r SET position = NULL
        WHERE r.position IS NOT NULL AND EXISTS (
            SELECT 1 FROM resource o
            WHERE o.series_id = r.series_id AND o.position = r.position AND o.id < r.id
        )
        """
    )
    op.create_unique_constraint(
        op.f("uq_resource_series_id_position"), "resource", ["series_id", "position"]
    )

    # More than one waiting sync request: the oldest covers the others (requestSync's rule).
    op.execute(
        """
        UPDATE sync_run r
        SET status = 'FAILED', finished_at = now(), error = 'covered by an earlier queued request'
        WHERE r.status = 'QUEUED' AND EXISTS (
            SELECT 1 FROM sync_run o WHERE o.status = 'QUEUED' AND o.id < r.id
        )
        """
    )
    op.create_index(
        "uq_sync_run_one_queued",
        "sync_run",
        ["status"],
        unique=True,
        postgresql_where=sa.text("status = 'QUEUED'"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_sync_run_one_queued",
        table_name="sync_run",
        postgresql_where=sa.text("status = 'QUEUED'"),
    )
    op.drop_constraint(op.f("uq_resource_series_id_position"), "resource", type_="unique")
    op.execute("ALTER TABLE topic_manager DROP CONSTRAINT ex_topic_manager_one_at_a_time")
    # This revision brought the extension; without CASCADE the drop fails loudly should
    # something else have come to use it.
    op.execute("DROP EXTENSION IF EXISTS btree_gist")
