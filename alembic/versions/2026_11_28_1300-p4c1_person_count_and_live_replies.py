"""person count and live replies: the cheap operations' counts without counting

Revision ID: p4c1
Revises: c7w2
Create Date: 2026-11-28 13:00:00

Measured on a copy of the 300,000-post network (20,016 people) with bench/cheap_plans.py, the
server process's CPU per statement, interleaved with the raw peer's:

- ``people { totalCount }`` without a search counted every person per request: an index-only
  scan of 20,016 entries, ~2.1 ms of People's ~3.5 ms (the raw peer's statement counts the same
  way).  ``person_count`` (api/db/models/counts.py) holds the number, kept by statement-level
  triggers on ``person`` (INSERT, DELETE, TRUNCATE) in the transaction of every write, whoever
  writes: the worker, an import, the generator, psql.  Like the post counts (migration t8c1)
  the table holds delta rows: a write inserts its change and folds the rows nobody else holds
  (``FOR UPDATE SKIP LOCKED``), so concurrent writers never wait on each other.  A search still
  counts its matches.
- ``replies { totalCount }`` of a post (PostDetail) counted the thread's live replies through
  ``ix_post_thread_starter_id_created_at``, visiting each reply's row for ``deleted_at`` (861
  rows, 583 buffers, ~0.3 ms of ~0.75 ms for the benchmark's busiest thread).
  ``ix_post_live_replies_thread`` (live replies by thread) answers it from the index alone.

Downgrade drops both: the count is derived.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "p4c1"
down_revision: str | Sequence[str] | None = "c7w2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE_REPLIES = sa.text("thread_starter_id IS NOT NULL AND deleted_at IS NULL")

CHANGED = """
CREATE FUNCTION person_count_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM person_count;
    RETURN NULL;
  ELSIF TG_OP = 'INSERT' THEN
    SELECT count(*) INTO n FROM new_rows;
  ELSE
    SELECT -count(*) INTO n FROM old_rows;
  END IF;
  IF n = 0 THEN RETURN NULL; END IF;
  WITH folded AS (
    DELETE FROM person_count c WHERE c.id IN (
      SELECT id FROM person_count ORDER BY id FOR UPDATE SKIP LOCKED)
    RETURNING c.people)
  INSERT INTO person_count (people)
  SELECT n + coalesce(sum(people), 0) FROM folded HAVING n + coalesce(sum(people), 0) <> 0;
  RETURN NULL;
END $$
"""

TRIGGERS = [
    "CREATE TRIGGER person_count_inserted AFTER INSERT ON person"
    " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
    " EXECUTE FUNCTION person_count_changed()",
    "CREATE TRIGGER person_count_deleted AFTER DELETE ON person"
    " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT"
    " EXECUTE FUNCTION person_count_changed()",
    "CREATE TRIGGER person_count_truncated AFTER TRUNCATE ON person"
    " FOR EACH STATEMENT EXECUTE FUNCTION person_count_changed()",
]


def upgrade() -> None:
    # No person may be written between the backfill and the triggers.
    op.execute("LOCK TABLE person IN SHARE MODE")
    op.create_table(
        "person_count",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("people", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_count")),
    )
    op.execute(CHANGED)
    for statement in TRIGGERS:
        op.execute(statement)
    op.execute(
        "INSERT INTO person_count (people) SELECT count(*) FROM person HAVING count(*) > 0"
    )
    op.create_index(
        "ix_post_live_replies_thread",
        "post",
        ["thread_starter_id"],
        unique=False,
        postgresql_where=_LIVE_REPLIES,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_post_live_replies_thread", table_name="post", postgresql_where=_LIVE_REPLIES
    )
    for name in ("inserted", "deleted", "truncated"):
        op.execute(f"DROP TRIGGER IF EXISTS person_count_{name} ON person")
    op.execute("DROP FUNCTION person_count_changed()")
    op.drop_table("person_count")
