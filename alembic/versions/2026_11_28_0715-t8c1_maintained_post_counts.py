"""Maintained post counts: live thread starters per hashtag, group and resource

Revision ID: t8c1
Revises: a7a1
Create Date: 2026-11-28 07:15:00

``totalCount`` of a topic's posts counted its ~54,000 live starters per request at 300,000
posts.  These tables (api/db/models/counts.py) hold the numbers, kept by triggers in the
transaction of every write, whoever the writer: a worker page, a thread walk, a tombstone or
restore, an export import, the generator, a mutation, or psql.

Why triggers, and why these:

- STATEMENT-level with transition tables on ``post`` (INSERT, UPDATE) and on the link tables
  ``post_hashtag`` and ``post_resource`` (INSERT, UPDATE, DELETE): a bulk merge pays one
  aggregate per statement, not one call per row.  A hard ``DELETE FROM post`` is the one
  ROW-level trigger (BEFORE, while the post's links still exist; the cascade then removes
  links of a post that is gone, which the link triggers skip).  Nothing in the service
  hard-deletes posts (deletion is a tombstone), so its per-row cost is never paid in practice.
- Each trigger counts what its own table changed against the other tables as they are: a
  post's liveness or group (post triggers), a link of a live starter (link triggers).  So a
  statement should write one of these tables (every writer here does); one statement that
  both restored a post and added its link (a writable CTE) would count that link twice.
- Concurrency: a link trigger reads its posts ``FOR SHARE``, which waits for a concurrent
  writer of the same post (a tombstone, a restore) and then sees its outcome; that writer's
  own trigger, in turn, waits for the share lock and then sees the committed links.  So a link
  added while its post is tombstoned is counted by exactly one of the two.
- Hot keys: the counts are delta rows; a write inserts its change and folds the rows it can
  lock without waiting (``FOR UPDATE SKIP LOCKED``) into one.  Two writers touching the same
  busy hashtag never wait for each other, so the worker and mutations cannot deadlock on them.

Downgrade drops the tables, triggers and functions: counts are derived.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "t8c1"
down_revision: str | Sequence[str] | None = "a7a1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "thread_starter_id IS NULL AND deleted_at IS NULL"

# name: (count table, its key column and type, the link table and its key column)
COUNTS = {
    "hashtags": ("hashtag_post_count", "hashtag", "text", "post_hashtag", "hashtag"),
    "groups": ("group_post_count", "group_id", "bigint", None, None),
    "resources": ("resource_post_count", "resource_id", "bigint", "post_resource", "resource_id"),
}


def _add_function(name: str, table: str, key: str, key_type: str) -> str:
    """``post_counts_add_<name>(keys, deltas)``: the keys sorted, no zero deltas.

    PL/pgSQL, not SQL: a session keeps its plan (an SQL function is planned on every call).
    """
    return f"""
CREATE FUNCTION post_counts_add_{name}(p_keys {key_type}[], p_deltas bigint[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  WITH change AS (SELECT k, n FROM unnest(p_keys, p_deltas) AS c(k, n)),
  folded AS (
    DELETE FROM {table} c WHERE c.id IN (
      SELECT id FROM {table} WHERE {key} = ANY(p_keys) ORDER BY id FOR UPDATE SKIP LOCKED)
    RETURNING c.{key} AS k, c.starters AS n)
  INSERT INTO {table} ({key}, starters)
  SELECT k, sum(n) FROM (SELECT k, n FROM change UNION ALL SELECT k, n FROM folded) AS t
  GROUP BY k HAVING sum(n) <> 0 ORDER BY k;
END $$
"""


def _link_function(name: str, link: str, key: str, key_type: str) -> str:
    """The statement trigger of a link table: its live starters' links added and removed."""

    def counted(changes: str) -> str:
        return f"""
    WITH change AS ({changes}),
    posts AS MATERIALIZED (
      SELECT p.id, p.{LIVE.replace(" AND ", " AND p.")} AS live FROM post p
      WHERE p.id IN (SELECT post_id FROM change) ORDER BY p.id FOR SHARE)
    SELECT array_agg(k ORDER BY k), array_agg(n ORDER BY k) INTO ks, ns FROM (
      SELECT c.k, sum(c.d) AS n FROM change c JOIN posts p ON p.id = c.post_id AND p.live
      GROUP BY c.k HAVING sum(c.d) <> 0) AS t;"""

    added = f"SELECT post_id, {key} AS k, 1 AS d FROM new_rows"
    removed = f"SELECT post_id, {key} AS k, -1 AS d FROM old_rows"
    return f"""
CREATE FUNCTION post_counts_{link}_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ks {key_type}[]; ns bigint[];
BEGIN
  -- A statement that changed no rows (most of a page's: its links are unchanged) stops here.
  IF TG_OP = 'INSERT' THEN
    IF NOT EXISTS (SELECT FROM new_rows) THEN RETURN NULL; END IF; {counted(added)}
  ELSIF TG_OP = 'DELETE' THEN
    IF NOT EXISTS (SELECT FROM old_rows) THEN RETURN NULL; END IF; {counted(removed)}
  ELSE {counted(added + " UNION ALL " + removed)}
  END IF;
  IF ks IS NOT NULL THEN PERFORM post_counts_add_{name}(ks, ns); END IF;
  RETURN NULL;
END $$
"""


_GROUPS_OF_NEW = f"""
  SELECT array_agg(group_id ORDER BY group_id), array_agg(n ORDER BY group_id) INTO gs, ns
  FROM (SELECT group_id, count(*) AS n FROM new_rows
        WHERE group_id IS NOT NULL AND {LIVE} GROUP BY group_id) AS t;
  IF gs IS NOT NULL THEN PERFORM post_counts_add_groups(gs, ns); END IF;
"""

POST_INSERTED = f"""
CREATE FUNCTION post_counts_post_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE gs bigint[]; ns bigint[];
BEGIN
  -- A new post has no links yet: the link triggers count them when they come.
  IF NOT EXISTS (SELECT FROM new_rows WHERE group_id IS NOT NULL AND {LIVE}) THEN
    RETURN NULL;
  END IF;
  {_GROUPS_OF_NEW}
  RETURN NULL;
END $$
"""

POST_UPDATED = """
CREATE FUNCTION post_counts_post_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE gs bigint[]; hs text[]; rs bigint[]; ns bigint[]; ups bigint[]; downs bigint[];
BEGIN
  -- Only rows whose liveness or group changed matter; a page's figures and bodies do not,
  -- and most statements stop at this one cheap question.
  IF NOT EXISTS (
    SELECT FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE (o.thread_starter_id IS NULL AND o.deleted_at IS NULL)
            IS DISTINCT FROM (n.thread_starter_id IS NULL AND n.deleted_at IS NULL)
       OR o.group_id IS DISTINCT FROM n.group_id) THEN
    RETURN NULL;
  END IF;
  WITH moved AS MATERIALIZED (
    SELECT n.id, o.group_id AS og, n.group_id AS ng,
           o.thread_starter_id IS NULL AND o.deleted_at IS NULL AS ol,
           n.thread_starter_id IS NULL AND n.deleted_at IS NULL AS nl
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE (o.thread_starter_id IS NULL AND o.deleted_at IS NULL)
            IS DISTINCT FROM (n.thread_starter_id IS NULL AND n.deleted_at IS NULL)
       OR o.group_id IS DISTINCT FROM n.group_id),
  groups AS (
    SELECT g, sum(d) AS n FROM (
      SELECT og AS g, -1 AS d FROM moved WHERE ol AND og IS NOT NULL
      UNION ALL SELECT ng, 1 FROM moved WHERE nl AND ng IS NOT NULL) AS t
    GROUP BY g HAVING sum(d) <> 0)
  SELECT (SELECT array_agg(g ORDER BY g) FROM groups), (SELECT array_agg(n ORDER BY g) FROM groups),
         (SELECT array_agg(id ORDER BY id) FROM moved WHERE nl AND NOT ol),
         (SELECT array_agg(id ORDER BY id) FROM moved WHERE ol AND NOT nl)
  INTO gs, ns, ups, downs;
  IF gs IS NOT NULL THEN PERFORM post_counts_add_groups(gs, ns); END IF;
  IF ups IS NULL AND downs IS NULL THEN RETURN NULL; END IF;

  -- Starters that came to life or died take their links' counts with them.
  WITH flip AS (SELECT unnest(ups) AS id, 1 AS d UNION ALL SELECT unnest(downs), -1)
  SELECT array_agg(k ORDER BY k), array_agg(n ORDER BY k) INTO hs, ns FROM (
    SELECT h.hashtag AS k, sum(f.d) AS n FROM flip f JOIN post_hashtag h ON h.post_id = f.id
    WHERE f.id IS NOT NULL GROUP BY h.hashtag HAVING sum(f.d) <> 0) AS t;
  IF hs IS NOT NULL THEN PERFORM post_counts_add_hashtags(hs, ns); END IF;

  WITH flip AS (SELECT unnest(ups) AS id, 1 AS d UNION ALL SELECT unnest(downs), -1)
  SELECT array_agg(k ORDER BY k), array_agg(n ORDER BY k) INTO rs, ns FROM (
    SELECT r.resource_id AS k, sum(f.d) AS n FROM flip f JOIN post_resource r ON r.post_id = f.id
    WHERE f.id IS NOT NULL GROUP BY r.resource_id HAVING sum(f.d) <> 0) AS t;
  IF rs IS NOT NULL THEN PERFORM post_counts_add_resources(rs, ns); END IF;
  RETURN NULL;
END $$
"""

POST_DELETED = f"""
CREATE FUNCTION post_counts_post_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE hs text[]; rs bigint[]; ns bigint[];
BEGIN
  IF OLD.{LIVE.replace(" AND ", " AND OLD.")} THEN
    IF OLD.group_id IS NOT NULL THEN
      PERFORM post_counts_add_groups(ARRAY[OLD.group_id], ARRAY[-1]::bigint[]);
    END IF;
    SELECT array_agg(hashtag ORDER BY hashtag), array_agg(-1::bigint) INTO hs, ns
    FROM post_hashtag WHERE post_id = OLD.id;
    IF hs IS NOT NULL THEN PERFORM post_counts_add_hashtags(hs, ns); END IF;
    SELECT array_agg(resource_id ORDER BY resource_id), array_agg(-1::bigint) INTO rs, ns
    FROM post_resource WHERE post_id = OLD.id;
    IF rs IS NOT NULL THEN PERFORM post_counts_add_resources(rs, ns); END IF;
  END IF;
  RETURN OLD;
END $$
"""

TRUNCATED = """
CREATE FUNCTION post_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- TRUNCATE post must take its link tables along (their foreign keys): all counts go.
  IF TG_TABLE_NAME IN ('post', 'post_hashtag') THEN DELETE FROM hashtag_post_count; END IF;
  IF TG_TABLE_NAME IN ('post', 'post_resource') THEN DELETE FROM resource_post_count; END IF;
  IF TG_TABLE_NAME = 'post' THEN DELETE FROM group_post_count; END IF;
  RETURN NULL;
END $$
"""

TRIGGERS = [
    "CREATE TRIGGER post_counts_post_inserted AFTER INSERT ON post"
    " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
    " EXECUTE FUNCTION post_counts_post_inserted()",
    "CREATE TRIGGER post_counts_post_updated AFTER UPDATE ON post"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT"
    " EXECUTE FUNCTION post_counts_post_updated()",
    "CREATE TRIGGER post_counts_post_deleted BEFORE DELETE ON post"
    " FOR EACH ROW EXECUTE FUNCTION post_counts_post_deleted()",
]
for _link in ("post_hashtag", "post_resource"):
    TRIGGERS += [
        f"CREATE TRIGGER post_counts_{_link}_inserted AFTER INSERT ON {_link}"
        " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
        f" EXECUTE FUNCTION post_counts_{_link}_changed()",
        f"CREATE TRIGGER post_counts_{_link}_updated AFTER UPDATE ON {_link}"
        " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT"
        f" EXECUTE FUNCTION post_counts_{_link}_changed()",
        f"CREATE TRIGGER post_counts_{_link}_deleted AFTER DELETE ON {_link}"
        " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT"
        f" EXECUTE FUNCTION post_counts_{_link}_changed()",
    ]
for _table in ("post", "post_hashtag", "post_resource"):
    TRIGGERS.append(
        f"CREATE TRIGGER post_counts_{_table}_truncated AFTER TRUNCATE ON {_table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION post_counts_truncated()"
    )

BACKFILL = [
    f"""INSERT INTO hashtag_post_count (hashtag, starters)
    SELECT h.hashtag, count(*) FROM post_hashtag h JOIN post p ON p.id = h.post_id
    WHERE p.{LIVE.replace(" AND ", " AND p.")} GROUP BY h.hashtag ORDER BY h.hashtag""",
    f"""INSERT INTO group_post_count (group_id, starters)
    SELECT group_id, count(*) FROM post WHERE group_id IS NOT NULL AND {LIVE}
    GROUP BY group_id ORDER BY group_id""",
    f"""INSERT INTO resource_post_count (resource_id, starters)
    SELECT r.resource_id, count(*) FROM post_resource r JOIN post p ON p.id = r.post_id
    WHERE p.{LIVE.replace(" AND ", " AND p.")} GROUP BY r.resource_id ORDER BY r.resource_id""",
]

FUNCTIONS = [
    "post_counts_truncated()",
    "post_counts_post_deleted()",
    "post_counts_post_updated()",
    "post_counts_post_inserted()",
    "post_counts_post_resource_changed()",
    "post_counts_post_hashtag_changed()",
    "post_counts_add_resources(bigint[], bigint[])",
    "post_counts_add_groups(bigint[], bigint[])",
    "post_counts_add_hashtags(text[], bigint[])",
]


def _count_table(table: str, key: str, key_type: sa.types.TypeEngine[object]) -> None:
    op.create_table(
        table,
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(key, key_type, nullable=False),
        sa.Column("starters", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )
    op.create_index(op.f(f"ix_{table}_{key}"), table, [key], unique=False)


def upgrade() -> None:
    # No write may slip between the backfill and the triggers.
    op.execute("LOCK TABLE post, post_hashtag, post_resource IN SHARE MODE")
    _count_table("hashtag_post_count", "hashtag", sa.Text())
    _count_table("group_post_count", "group_id", sa.BigInteger())
    _count_table("resource_post_count", "resource_id", sa.BigInteger())
    for name, (table, key, key_type, link, link_key) in COUNTS.items():
        op.execute(_add_function(name, table, key, key_type))
        if link is not None:
            op.execute(_link_function(name, link, link_key, key_type))
    for statement in (POST_INSERTED, POST_UPDATED, POST_DELETED, TRUNCATED, *TRIGGERS):
        op.execute(statement)
    for statement in BACKFILL:
        op.execute(statement)


def downgrade() -> None:
    for table in ("post", "post_hashtag", "post_resource"):
        names = ["inserted", "updated", "deleted", "truncated"]
        for name in names:
            op.execute(f"DROP TRIGGER IF EXISTS post_counts_{table}_{name} ON {table}")
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")
    for table, key, *_ in COUNTS.values():
        op.drop_index(op.f(f"ix_{table}_{key}"), table_name=table)
        op.drop_table(table)
