"""author bitmaps: rollup_author_bits, who is in rollup_author_day, as bits per chunk of ids

Revision ID: c7w2
Revises: l5s1
Create Date: 2026-11-28 12:30:00

Active authors over a range are a DISTINCT count, which cannot be summed from daily counts:
reading them from ``rollup_author_day`` means hashing one row per contribution (141,705 for a
campaign's quarter at 300,000 posts).  ``rollup_author_bits`` holds the same set as bitmaps:
per (scope, key, starter's day, contribution's day) and chunk of 4,096 author ids
(``author_id >> 12``), bit ``author_id & 4095`` (leftmost is 0) is set exactly when
``rollup_author_day`` has that (scope, key, day, other_day, author_id) row.  A range's active
authors are then ``bit_count`` of the ``bit_or`` of its rows per chunk: that quarter is 1,040
rows of 512 bytes, however many contributions.

Kept by statement-level triggers on ``rollup_author_day`` itself (whose rows exist exactly while
their count is not 0: r8a1 deletes rows down to 0): an INSERT sets the new rows' bits, a DELETE
clears the deleted rows' bits (and drops bitmaps left empty), a TRUNCATE empties the bitmaps.
So whoever writes posts, hashtags, topics or tracked groups, r8a1's triggers and rebuilds
write ``rollup_author_day`` and these follow in the same transaction.  Rows are never updated
in their keys (r8a1 updates ``n`` only): an UPDATE of a key column rebuilds the bitmaps.
Upserts are in key order, like r8a1's; writers of ``rollup_author_day`` take r8a1's advisory
lock (or rebuild under a SHARE lock of the posts) first.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "c7w2"
down_revision: str | Sequence[str] | None = "l5s1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FUNCTIONS = r"""
-- The bitmaps of every row of rollup_author_day, from scratch.
CREATE FUNCTION rollup_author_bits_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM rollup_author_bits;
  INSERT INTO rollup_author_bits (scope, key, day, other_day, chunk, bits)
  SELECT a.scope, a.key, a.day, a.other_day, a.author_id >> 12,
         bit_or(B'1'::bit(4096) >> (a.author_id & 4095)::int)
  FROM rollup_author_day a
  GROUP BY 1, 2, 3, 4, 5
  ORDER BY 1, 2, 3, 4, 5;
END $$;

CREATE FUNCTION rollup_author_day_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO rollup_author_bits AS r (scope, key, day, other_day, chunk, bits)
    SELECT n.scope, n.key, n.day, n.other_day, n.author_id >> 12,
           bit_or(B'1'::bit(4096) >> (n.author_id & 4095)::int)
    FROM rollup_author_new n
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (scope, key, day, other_day, chunk) DO UPDATE SET bits = r.bits | excluded.bits;
  ELSIF TG_OP = 'DELETE' THEN
    -- Locked in key order, as the upserts lock them; then cleared, and dropped once empty.
    PERFORM 1 FROM rollup_author_bits r
    WHERE (r.scope, r.key, r.day, r.other_day, r.chunk) IN (
      SELECT o.scope, o.key, o.day, o.other_day, o.author_id >> 12 FROM rollup_author_old o)
    ORDER BY r.scope, r.key, r.day, r.other_day, r.chunk
    FOR NO KEY UPDATE OF r;
    UPDATE rollup_author_bits r SET bits = r.bits & ~g.bits
    FROM (
      SELECT o.scope, o.key, o.day, o.other_day, o.author_id >> 12 AS chunk,
             bit_or(B'1'::bit(4096) >> (o.author_id & 4095)::int) AS bits
      FROM rollup_author_old o
      GROUP BY 1, 2, 3, 4, 5) g
    WHERE (r.scope, r.key, r.day, r.other_day, r.chunk)
        = (g.scope, g.key, g.day, g.other_day, g.chunk);
    DELETE FROM rollup_author_bits r
    WHERE (r.scope, r.key, r.day, r.other_day, r.chunk) IN (
      SELECT o.scope, o.key, o.day, o.other_day, o.author_id >> 12 FROM rollup_author_old o)
      AND r.bits = B'0'::bit(4096);
  ELSIF TG_OP = 'TRUNCATE' THEN
    TRUNCATE rollup_author_bits;
  ELSE  -- an UPDATE of a key column: nothing in the app does one
    PERFORM rollup_author_bits_rebuild();
  END IF;
  RETURN NULL;
END $$;
"""

_TRIGGERS = [
    ("insert", "AFTER INSERT", "REFERENCING NEW TABLE AS rollup_author_new"),
    ("delete", "AFTER DELETE", "REFERENCING OLD TABLE AS rollup_author_old"),
    ("update", "AFTER UPDATE OF scope, key, day, other_day, author_id", ""),
    ("truncate", "AFTER TRUNCATE", ""),
]


def upgrade() -> None:
    op.create_table(
        "rollup_author_bits",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("other_day", sa.Date(), nullable=False),
        sa.Column("chunk", sa.BigInteger(), nullable=False),
        sa.Column("bits", postgresql.BIT(4096), nullable=False),
        sa.PrimaryKeyConstraint(
            "scope", "key", "day", "other_day", "chunk", name=op.f("pk_rollup_author_bits")
        ),
    )
    # One statement per execute: asyncpg prepares each, and a prepared statement is one command.
    for function in _FUNCTIONS.split("$$;\n")[:-1]:
        op.execute(function + "$$")
    for name, event, referencing in _TRIGGERS:
        op.execute(
            f"CREATE TRIGGER rollup_author_bits_{name} {event} ON rollup_author_day "
            f"{referencing} FOR EACH STATEMENT EXECUTE FUNCTION rollup_author_day_changed()"
        )
    op.execute("SELECT rollup_author_bits_rebuild()")
    op.execute("ANALYZE rollup_author_bits")


def downgrade() -> None:
    for name, _, _ in _TRIGGERS:
        op.execute(f"DROP TRIGGER rollup_author_bits_{name} ON rollup_author_day")
    op.execute("DROP FUNCTION rollup_author_day_changed()")
    op.execute("DROP FUNCTION rollup_author_bits_rebuild()")
    op.drop_table("rollup_author_bits")
