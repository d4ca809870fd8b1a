"""analytics rollups: rollup_day and rollup_author_day, maintained by statement triggers

Revision ID: r8a1
Revises: t8c1
Create Date: 2026-11-28 07:45:00

Why statement-level triggers with transition tables: every writer (a worker page, an export
import, the generator, mutations, a hand-run UPDATE) keeps the rollups right in its own
transaction without knowing of them, and a statement writing a page of N posts costs one
aggregate upsert per rollup table, not N row-trigger upserts.  Upserts are ordered by key,
so two writers lock the rollup rows one statement touches in the same order.

How a change is turned into rollup deltas: a scope's figures are a sum over thread starters
of each starter's contribution (its own row, its live replies, its scopes).  A statement's
delta is the contribution of the affected starters after the statement minus before it; the
"before" rows are rebuilt from the transition tables (old versions of changed rows, current
versions of the rest), so a statement changing a starter and its replies at once is right.
Changes to what a campaign is (topic, campaign_group) rebuild that campaign's rows; a hard
DELETE of posts (nothing in the app does one) rebuilds the days it touched.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "r8a1"
down_revision: str | Sequence[str] | None = "t8c1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns of a post a rollup depends on.
_TYPE = """
CREATE TYPE rollup_post AS (
  id bigint, thread_starter_id bigint, author_id bigint, group_id bigint,
  created_at timestamptz, deleted_at timestamptz, like_count bigint, reply_count bigint,
  kind text);
"""

_FUNCTIONS = r"""
-- The scopes of the starters among `rows`, given their hashtags `tags`: each topic whose
-- hashtag they carry, each campaign of those topics, each campaign tracking their group.
CREATE FUNCTION rollup_scopes(rows rollup_post[], tags post_hashtag[])
RETURNS TABLE (post_id bigint, scope text, key text)
LANGUAGE sql STABLE AS $$
  SELECT t.post_id, 'T', tp.hashtag FROM unnest(tags) t JOIN topic tp ON tp.hashtag = t.hashtag
  UNION
  SELECT t.post_id, 'C', tp.campaign_id::text
  FROM unnest(tags) t JOIN topic tp ON tp.hashtag = t.hashtag
  UNION
  SELECT s.id, 'C', cg.campaign_id::text
  FROM unnest(rows) s JOIN campaign_group cg ON cg.group_id = s.group_id
  WHERE s.thread_starter_id IS NULL
$$;

-- rollup_day rows of the live starters among `rows`.
CREATE FUNCTION rollup_counts(rows rollup_post[], tags post_hashtag[])
RETURNS TABLE (scope text, key text, day date, kind text, posts bigint, likes bigint,
               replies bigint)
LANGUAGE sql STABLE AS $$
  SELECT m.scope, m.key, (s.created_at AT TIME ZONE 'UTC')::date, s.kind, count(*),
         sum(s.like_count)::bigint, sum(s.reply_count)::bigint
  FROM unnest(rows) s JOIN rollup_scopes(rows, tags) m ON m.post_id = s.id
  WHERE s.thread_starter_id IS NULL AND s.deleted_at IS NULL
  GROUP BY 1, 2, 3, 4
$$;

-- rollup_author_day rows of the live starters among `rows` and of their live replies that
-- are among `rows` too.
CREATE FUNCTION rollup_authors(rows rollup_post[], tags post_hashtag[])
RETURNS TABLE (scope text, key text, day date, other_day date, author_id bigint, n bigint)
LANGUAGE sql STABLE AS $$
  WITH p AS (SELECT * FROM unnest(rows) WHERE deleted_at IS NULL),
  s AS (SELECT id, author_id, (created_at AT TIME ZONE 'UTC')::date AS day
        FROM p WHERE thread_starter_id IS NULL),
  c AS (
    SELECT s.id, s.day, s.day AS other_day, s.author_id FROM s
    UNION ALL
    SELECT s.id, s.day, (r.created_at AT TIME ZONE 'UTC')::date, r.author_id
    FROM s JOIN p r ON r.thread_starter_id = s.id)
  SELECT m.scope, m.key, c.day, c.other_day, c.author_id, count(*)
  FROM c JOIN rollup_scopes(rows, tags) m ON m.post_id = c.id
  GROUP BY 1, 2, 3, 4, 5
$$;

-- Adds (after) minus (before) to the rollups: one upsert per table, in key order, so two
-- statements lock the rows they share in the same order and queue instead of deadlocking
-- (a second upsert into the same table would break that).  `before_rows` / `after_rows`
-- give the starters' figures; the authors' rows (NULL: none changed) may need more rows.
CREATE FUNCTION rollup_apply(
  before_rows rollup_post[], after_rows rollup_post[],
  authors_before rollup_post[], authors_after rollup_post[],
  before_tags post_hashtag[], after_tags post_hashtag[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  z_scope text[];
  z_key text[];
  z_day date[];
  z_other date[];
  z_author bigint[];
BEGIN
  INSERT INTO rollup_day AS r (scope, key, day, kind, posts, likes, replies)
  SELECT d.scope, d.key, d.day, d.kind, sum(d.posts), sum(d.likes), sum(d.replies)
  FROM (
    SELECT * FROM rollup_counts(after_rows, after_tags)
    UNION ALL
    SELECT b.scope, b.key, b.day, b.kind, -b.posts, -b.likes, -b.replies
    FROM rollup_counts(before_rows, before_tags) b) d
  GROUP BY 1, 2, 3, 4
  HAVING sum(d.posts) <> 0 OR sum(d.likes) <> 0 OR sum(d.replies) <> 0
  ORDER BY 1, 2, 3, 4
  ON CONFLICT (scope, key, day, kind) DO UPDATE SET
    posts = r.posts + excluded.posts, likes = r.likes + excluded.likes,
    replies = r.replies + excluded.replies;
  IF authors_after IS NULL THEN
    RETURN;
  END IF;
  WITH up AS (
    INSERT INTO rollup_author_day AS r (scope, key, day, other_day, author_id, n)
    SELECT d.scope, d.key, d.day, d.other_day, d.author_id, sum(d.n)
    FROM (
      SELECT * FROM rollup_authors(authors_after, after_tags)
      UNION ALL
      SELECT b.scope, b.key, b.day, b.other_day, b.author_id, -b.n
      FROM rollup_authors(authors_before, before_tags) b) d
    GROUP BY 1, 2, 3, 4, 5
    HAVING sum(d.n) <> 0
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (scope, key, day, other_day, author_id) DO UPDATE SET n = r.n + excluded.n
    RETURNING r.scope, r.key, r.day, r.other_day, r.author_id, r.n)
  SELECT array_agg(up.scope), array_agg(up.key), array_agg(up.day), array_agg(up.other_day),
         array_agg(up.author_id)
  INTO z_scope, z_key, z_day, z_other, z_author
  FROM up WHERE up.n = 0;
  -- Rows down to 0 go (rows we hold already: no new lock), so the readers count authors
  -- straight from the primary key's index, without visiting the rows for `n`.
  IF z_scope IS NOT NULL THEN
    DELETE FROM rollup_author_day d
    USING unnest(z_scope, z_key, z_day, z_other, z_author)
      AS z(scope, key, day, other_day, author_id)
    WHERE (d.scope, d.key, d.day, d.other_day, d.author_id)
        = (z.scope, z.key, z.day, z.other_day, z.author_id)
      AND d.n = 0;
  END IF;
END $$;

-- Posts changed by one statement: `old_rows` before it (empty for an INSERT), `new_rows`
-- after it, only the rows whose rollup columns changed.
CREATE FUNCTION rollup_post_change(old_rows rollup_post[], new_rows rollup_post[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  moved bigint[];    -- rows whose author, thread, group, day or liveness changed
  threads bigint[];  -- the threads (starter ids) those rows belong to, before or after
  starters bigint[]; -- threads whose starter row itself moved: all their replies count
  tags post_hashtag[];
  before_rows rollup_post[];
  after_rows rollup_post[];
BEGIN
  -- A starter's figures (count, likes, replies, kind, day, scopes) are its own row's: the
  -- changed rows old and new are their whole delta.  Active authors also pair starters
  -- with replies, so they need the threads of the rows that moved.
  -- Sets are matched with IN (SELECT unnest(..)), hashed, never `= ANY(array)` as a filter:
  -- the generator writes 100,000 posts in one statement, and a filter scans its array per row.
  tags := ARRAY(SELECT h FROM post_hashtag h WHERE h.post_id IN (
    SELECT n.id FROM unnest(new_rows) n UNION SELECT o.id FROM unnest(old_rows) o));
  moved := ARRAY(
    SELECT n.id FROM unnest(new_rows) n LEFT JOIN unnest(old_rows) o ON o.id = n.id
    WHERE (o.thread_starter_id, o.author_id, o.group_id, o.created_at, o.deleted_at, o.id)
      IS DISTINCT FROM (n.thread_starter_id, n.author_id, n.group_id, n.created_at,
                        n.deleted_at, n.id));
  IF cardinality(moved) = 0 THEN
    PERFORM rollup_apply(old_rows, new_rows, NULL, NULL, tags, tags);
    RETURN;
  END IF;
  threads := ARRAY(
    SELECT coalesce(n.thread_starter_id, n.id) FROM unnest(new_rows) n
    WHERE n.id IN (SELECT unnest(moved))
    UNION
    SELECT coalesce(o.thread_starter_id, o.id) FROM unnest(old_rows) o
    WHERE o.id IN (SELECT unnest(moved)));
  starters := ARRAY(SELECT unnest(threads) INTERSECT SELECT unnest(moved));
  -- A reply's contribution pairs it with its starter, which another transaction may be
  -- moving at this moment: our snapshot would pair the old starter with our new reply and
  -- theirs their new starter with our old reply, and the sum would be wrong.  So writers that
  -- move posts take turns here (until commit); each query below then reads what the one
  -- before committed.  Taken last in the statement and never held while waiting for a row,
  -- it adds no lock cycle between one-statement writers; likes-only writes skip it.
  PERFORM pg_advisory_xact_lock(hashtext('rollup_author_day'));
  -- After: the threads' starters, every reply of a moved starter, the moved replies.
  after_rows := ARRAY(
    SELECT ROW(p.id, p.thread_starter_id, p.author_id, p.group_id, p.created_at,
               p.deleted_at, p.like_count, p.reply_count, p.kind)::rollup_post
    FROM post p JOIN (
      SELECT unnest(threads) AS id UNION SELECT unnest(moved)
      UNION SELECT r.id FROM post r WHERE r.thread_starter_id IN (SELECT unnest(starters))
    ) k ON k.id = p.id);
  -- Before: the same rows as they were: changed ones from `old_rows` (absent when just
  -- inserted), the others as they are.
  before_rows := ARRAY(
    SELECT ROW(p.id, p.thread_starter_id, p.author_id, p.group_id, p.created_at,
               p.deleted_at, p.like_count, p.reply_count, p.kind)::rollup_post
    FROM post p JOIN (
      SELECT unnest(threads) AS id
      UNION SELECT r.id FROM post r WHERE r.thread_starter_id IN (SELECT unnest(starters))
    ) k ON k.id = p.id
    WHERE p.id NOT IN (SELECT unnest(moved) UNION SELECT o.id FROM unnest(old_rows) o)
    UNION ALL
    SELECT o::rollup_post FROM unnest(old_rows) o
    WHERE o.id IN (SELECT unnest(moved) UNION SELECT unnest(threads))
       OR o.thread_starter_id IN (SELECT unnest(starters)));
  tags := ARRAY(SELECT h FROM post_hashtag h WHERE h.post_id IN (
    SELECT unnest(threads) UNION SELECT n.id FROM unnest(new_rows) n
    UNION SELECT o.id FROM unnest(old_rows) o));
  PERFORM rollup_apply(old_rows, new_rows, before_rows, after_rows, tags, tags);
END $$;

CREATE FUNCTION rollup_post_written() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  before_rows rollup_post[];
  after_rows rollup_post[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    before_rows := '{}';
    after_rows := ARRAY(
      SELECT ROW(n.id, n.thread_starter_id, n.author_id, n.group_id, n.created_at,
                 n.deleted_at, n.like_count, n.reply_count, n.kind)::rollup_post
      FROM rollup_new n);
  ELSE
    SELECT
      coalesce(array_agg(ROW(o.id, o.thread_starter_id, o.author_id, o.group_id, o.created_at,
                             o.deleted_at, o.like_count, o.reply_count, o.kind)::rollup_post),
               '{}'),
      coalesce(array_agg(ROW(n.id, n.thread_starter_id, n.author_id, n.group_id, n.created_at,
                             n.deleted_at, n.like_count, n.reply_count, n.kind)::rollup_post),
               '{}')
    INTO before_rows, after_rows
    FROM rollup_old o JOIN rollup_new n ON n.id = o.id
    WHERE (o.thread_starter_id, o.author_id, o.group_id, o.created_at, o.deleted_at,
           o.like_count, o.reply_count, o.kind)
      IS DISTINCT FROM (n.thread_starter_id, n.author_id, n.group_id, n.created_at,
                        n.deleted_at, n.like_count, n.reply_count, n.kind);
  END IF;
  IF cardinality(after_rows) > 0 THEN
    PERFORM rollup_post_change(before_rows, after_rows);
  END IF;
  RETURN NULL;
END $$;

-- Rebuilds rollup rows from the tables: for the given UTC days (every scope), or for the
-- given topics' hashtags and campaigns (every day).  Starters are taken in chunks: their
-- contributions are disjoint, so the chunks' sums add up.
CREATE FUNCTION rollup_rebuild(days date[], hashtags text[], campaigns bigint[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  chunk bigint[];
  keys text[] := ARRAY(SELECT 'T:' || unnest(hashtags) UNION
                       SELECT 'C:' || unnest(campaigns)::text);
  rows rollup_post[];
  tags post_hashtag[];
BEGIN
  -- Writers computed their deltas against the old topics and groups: wait for those in
  -- flight and hold the others off, so the rebuild reads every post as committed.
  LOCK TABLE post, post_hashtag IN SHARE MODE;
  IF days IS NOT NULL THEN
    DELETE FROM rollup_day WHERE day IN (SELECT unnest(days));
    DELETE FROM rollup_author_day WHERE day IN (SELECT unnest(days));
  ELSE
    DELETE FROM rollup_day WHERE scope || ':' || key = ANY(keys);
    DELETE FROM rollup_author_day WHERE scope || ':' || key = ANY(keys);
  END IF;
  FOR chunk IN
    SELECT array_agg(c.id) FROM (
      SELECT x.id, (row_number() OVER (ORDER BY x.id) - 1) / 5000 AS g FROM (
        SELECT p.id FROM post p
        WHERE days IS NOT NULL AND p.thread_starter_id IS NULL AND p.deleted_at IS NULL
          AND (p.created_at AT TIME ZONE 'UTC')::date IN (SELECT unnest(days))
        UNION
        SELECT h.post_id FROM post_hashtag h
        WHERE days IS NULL AND (h.hashtag = ANY(hashtags) OR h.hashtag IN (
          SELECT t.hashtag FROM topic t WHERE t.campaign_id = ANY(campaigns)))
        UNION
        SELECT p.id FROM post p JOIN campaign_group cg ON cg.group_id = p.group_id
        WHERE days IS NULL AND cg.campaign_id = ANY(campaigns)) x) c
    GROUP BY c.g ORDER BY c.g
  LOOP
    rows := ARRAY(
      SELECT ROW(p.id, p.thread_starter_id, p.author_id, p.group_id, p.created_at,
                 p.deleted_at, p.like_count, p.reply_count, p.kind)::rollup_post
      FROM post p WHERE p.id = ANY(chunk) OR p.thread_starter_id = ANY(chunk));
    tags := ARRAY(SELECT h FROM post_hashtag h WHERE h.post_id = ANY(chunk));
    INSERT INTO rollup_day AS r (scope, key, day, kind, posts, likes, replies)
    SELECT * FROM rollup_counts(rows, tags) c
    WHERE days IS NOT NULL OR c.scope || ':' || c.key = ANY(keys)
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (scope, key, day, kind) DO UPDATE SET
      posts = r.posts + excluded.posts, likes = r.likes + excluded.likes,
      replies = r.replies + excluded.replies;
    INSERT INTO rollup_author_day AS r (scope, key, day, other_day, author_id, n)
    SELECT * FROM rollup_authors(rows, tags) c
    WHERE days IS NOT NULL OR c.scope || ':' || c.key = ANY(keys)
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (scope, key, day, other_day, author_id) DO UPDATE SET n = r.n + excluded.n;
  END LOOP;
END $$;

-- A hard DELETE cascades to post_hashtag before this runs, so the deleted starters' scopes
-- are gone: rebuild the days they (and the deleted replies' threads) were on instead.
CREATE FUNCTION rollup_post_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  days date[];
BEGIN
  days := ARRAY(
    SELECT DISTINCT (coalesce(s.created_at, o.created_at) AT TIME ZONE 'UTC')::date
    FROM rollup_old o LEFT JOIN post s ON s.id = o.thread_starter_id
    WHERE o.thread_starter_id IS NULL OR s.id IS NOT NULL);
  IF cardinality(days) > 0 THEN
    PERFORM rollup_rebuild(days, NULL, NULL);
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION rollup_post_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE rollup_day, rollup_author_day;
  RETURN NULL;
END $$;

-- Hashtags added to or removed from posts: the posts' starters move in or out of topics and
-- campaigns.  Before = today's hashtags without the added ones, with the removed ones.
CREATE FUNCTION rollup_post_hashtag_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  removed post_hashtag[] := '{}';
  added post_hashtag[] := '{}';
  ids bigint[];
  rows rollup_post[];
  before_tags post_hashtag[];
  after_tags post_hashtag[];
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    removed := ARRAY(SELECT o FROM rollup_old o);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    added := ARRAY(SELECT n FROM rollup_new n);
  END IF;
  -- Only topics' hashtags matter.
  ids := ARRAY(
    SELECT DISTINCT x.post_id FROM (SELECT * FROM unnest(removed) UNION ALL
                                    SELECT * FROM unnest(added)) x
    JOIN topic t ON t.hashtag = x.hashtag);
  IF cardinality(ids) = 0 THEN
    RETURN NULL;
  END IF;
  -- The starters' figures and replies must not change under us (see rollup_post_change):
  -- the row locks wait for writers of the starters (and make theirs wait for us), then the
  -- writers moving replies take turns with us.
  PERFORM 1 FROM post p WHERE p.id IN (SELECT unnest(ids)) ORDER BY p.id FOR NO KEY UPDATE OF p;
  PERFORM pg_advisory_xact_lock(hashtext('rollup_author_day'));
  rows := ARRAY(
    SELECT ROW(p.id, p.thread_starter_id, p.author_id, p.group_id, p.created_at,
               p.deleted_at, p.like_count, p.reply_count, p.kind)::rollup_post
    FROM post p JOIN (
      SELECT s.id FROM post s WHERE s.id IN (SELECT unnest(ids)) AND s.thread_starter_id IS NULL
      UNION ALL
      SELECT r.id FROM post r WHERE r.thread_starter_id IN (SELECT unnest(ids))
    ) k ON k.id = p.id);
  after_tags := ARRAY(SELECT h FROM post_hashtag h WHERE h.post_id IN (SELECT unnest(ids)));
  before_tags := ARRAY(
    (SELECT h FROM unnest(after_tags) h EXCEPT SELECT a FROM unnest(added) a)
    UNION
    SELECT r FROM unnest(removed) r WHERE r.post_id IN (SELECT unnest(ids)));
  PERFORM rollup_apply(rows, rows, rows, rows, before_tags, after_tags);
  RETURN NULL;
END $$;

-- A topic or a tracked group changes what a campaign (and a hashtag) covers: rebuild those.
CREATE FUNCTION rollup_topic_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed topic[] := '{}';
  hashtags text[];
  campaigns bigint[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    changed := ARRAY(SELECT n FROM rollup_new n);
  ELSIF TG_OP = 'DELETE' THEN
    changed := ARRAY(SELECT o FROM rollup_old o);
  ELSE
    changed := ARRAY(
      SELECT o FROM rollup_old o JOIN rollup_new n ON n.id = o.id
      WHERE (o.hashtag, o.campaign_id) IS DISTINCT FROM (n.hashtag, n.campaign_id)
      UNION ALL
      SELECT n FROM rollup_old o JOIN rollup_new n ON n.id = o.id
      WHERE (o.hashtag, o.campaign_id) IS DISTINCT FROM (n.hashtag, n.campaign_id));
  END IF;
  IF cardinality(changed) = 0 THEN
    RETURN NULL;
  END IF;
  hashtags := ARRAY(SELECT DISTINCT c.hashtag FROM unnest(changed) c);
  campaigns := ARRAY(SELECT DISTINCT c.campaign_id FROM unnest(changed) c);
  PERFORM rollup_rebuild(NULL, hashtags, campaigns);
  RETURN NULL;
END $$;

CREATE FUNCTION rollup_campaign_group_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  campaigns bigint[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    campaigns := ARRAY(SELECT DISTINCT n.campaign_id FROM rollup_new n);
  ELSIF TG_OP = 'DELETE' THEN
    campaigns := ARRAY(SELECT DISTINCT o.campaign_id FROM rollup_old o);
  ELSE
    -- No key to pair old and new rows by: the pairs that are gone or new.
    campaigns := ARRAY(
      SELECT o.campaign_id FROM rollup_old o WHERE NOT EXISTS (
        SELECT 1 FROM rollup_new n
        WHERE (n.campaign_id, n.group_id) = (o.campaign_id, o.group_id))
      UNION
      SELECT n.campaign_id FROM rollup_new n WHERE NOT EXISTS (
        SELECT 1 FROM rollup_old o
        WHERE (n.campaign_id, n.group_id) = (o.campaign_id, o.group_id)));
  END IF;
  IF cardinality(campaigns) > 0 THEN
    PERFORM rollup_rebuild(NULL, NULL, campaigns);
  END IF;
  RETURN NULL;
END $$;
"""

_TRIGGERS = [
    ("post", "INSERT", "rollup_post_written", "NEW TABLE AS rollup_new"),
    ("post", "UPDATE", "rollup_post_written", "OLD TABLE AS rollup_old NEW TABLE AS rollup_new"),
    ("post", "DELETE", "rollup_post_deleted", "OLD TABLE AS rollup_old"),
    ("post_hashtag", "INSERT", "rollup_post_hashtag_changed", "NEW TABLE AS rollup_new"),
    (
        "post_hashtag",
        "UPDATE",
        "rollup_post_hashtag_changed",
        "OLD TABLE AS rollup_old NEW TABLE AS rollup_new",
    ),
    ("post_hashtag", "DELETE", "rollup_post_hashtag_changed", "OLD TABLE AS rollup_old"),
    ("topic", "INSERT", "rollup_topic_changed", "NEW TABLE AS rollup_new"),
    ("topic", "UPDATE", "rollup_topic_changed", "OLD TABLE AS rollup_old NEW TABLE AS rollup_new"),
    ("topic", "DELETE", "rollup_topic_changed", "OLD TABLE AS rollup_old"),
    ("campaign_group", "INSERT", "rollup_campaign_group_changed", "NEW TABLE AS rollup_new"),
    (
        "campaign_group",
        "UPDATE",
        "rollup_campaign_group_changed",
        "OLD TABLE AS rollup_old NEW TABLE AS rollup_new",
    ),
    ("campaign_group", "DELETE", "rollup_campaign_group_changed", "OLD TABLE AS rollup_old"),
]
_FUNCTION_NAMES = [
    "rollup_campaign_group_changed()",
    "rollup_topic_changed()",
    "rollup_post_hashtag_changed()",
    "rollup_post_truncated()",
    "rollup_post_deleted()",
    "rollup_rebuild(date[], text[], bigint[])",
    "rollup_post_written()",
    "rollup_post_change(rollup_post[], rollup_post[])",
    "rollup_apply(rollup_post[], rollup_post[], rollup_post[], rollup_post[], post_hashtag[], "
    "post_hashtag[])",
    "rollup_authors(rollup_post[], post_hashtag[])",
    "rollup_counts(rollup_post[], post_hashtag[])",
    "rollup_scopes(rollup_post[], post_hashtag[])",
]


def _trigger_name(table: str, event: str) -> str:
    return f"rollup_{table}_{event.lower()}"


def upgrade() -> None:
    op.create_table(
        "rollup_day",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("posts", sa.BigInteger(), nullable=False),
        sa.Column("likes", sa.BigInteger(), nullable=False),
        sa.Column("replies", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", "day", "kind", name=op.f("pk_rollup_day")),
    )
    op.create_table(
        "rollup_author_day",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("other_day", sa.Date(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "scope", "key", "day", "other_day", "author_id", name=op.f("pk_rollup_author_day")
        ),
    )
    op.create_index(
        "ix_post_replies_created_at",
        "post",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("thread_starter_id IS NOT NULL AND deleted_at IS NULL"),
    )
    op.execute(_TYPE)
    # One statement per execute: asyncpg prepares each, and a prepared statement is one command.
    for function in _FUNCTIONS.split("$$;\n")[:-1]:
        op.execute(function + "$$")
    for table, event, function, referencing in _TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {_trigger_name(table, event)} AFTER {event} ON {table} "
            f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
    op.execute(
        "CREATE TRIGGER rollup_post_truncate AFTER TRUNCATE ON post "
        "FOR EACH STATEMENT EXECUTE FUNCTION rollup_post_truncated()"
    )
    # Backfill: every day that has posts.
    op.execute("""
        SELECT rollup_rebuild(ARRAY(
            SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM post
            WHERE thread_starter_id IS NULL AND deleted_at IS NULL), NULL, NULL)
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER rollup_post_truncate ON post")
    for table, event, _, _ in _TRIGGERS:
        op.execute(f"DROP TRIGGER {_trigger_name(table, event)} ON {table}")
    for name in _FUNCTION_NAMES:
        op.execute(f"DROP FUNCTION {name}")
    op.execute("DROP TYPE rollup_post")
    op.drop_index(
        "ix_post_replies_created_at",
        table_name="post",
        postgresql_where=sa.text("thread_starter_id IS NOT NULL AND deleted_at IS NULL"),
    )
    op.drop_table("rollup_author_day")
    op.drop_table("rollup_day")
