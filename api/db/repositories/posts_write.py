"""The one write path for mirrored posts: staging rows, then set-based merge statements.

A live page (``api.sync.pages``), an export import and the generator all hand ``PostRow``s
(keyed by microblog ids, text rules applied: ``api.domain.post_rows``) to ``write_posts``,
which stages them in session temp tables and merges them.  The rules live here once:

- monotonic: a row older than the stored observation (``synced_at``) changes nothing;
- tombstones: a row that says "deleted" never revives a post; one read alive restores a
  tombstoned post only when the read is newer than the tombstone;
- figures a source left out keep the stored ones; a snapshot is appended when they change;
- hashtags are replaced, resource URL matches added (never removed: a match may be by hand);
- a kind set by hand (``classifyPost``) survives re-classification;
- a reply whose thread starter is neither given nor stored is not written (it would pass
  for a starter): ``WriteResult.orphans``.

Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from api.domain.post_rows import PostRow


@dataclass(frozen=True, slots=True)
class WriteResult:
    ids: dict[int, int] = field(default_factory=dict)  # external id -> post id, where stored
    inserted: set[int] = field(default_factory=set)  # post ids seen for the first time
    metrics_changed: set[int] = field(default_factory=set)  # not new; figures changed
    newer_in_db: int = 0  # rows the database had from a later read: left as they are
    deleted: int = 0  # rows whose post is (now) tombstoned
    # Replies not written because their starter is neither given nor stored, by thread.
    orphans: dict[int, int] = field(default_factory=dict)


# Session temp tables, emptied at commit; cleared at the start of each write so a caller may
# write twice in one transaction.  Their rows stay until commit for the caller's questions.
# Never analysed, a temp table looks like ~10 pages of rows to the planner, which then hashes
# whole tables (post, person) to join a page's 30 rows; analysed once when created, it is
# sized by its current pages.  A large batch is analysed afresh (_stage).
_STAGING = sa.text("""
DO $$ BEGIN
  IF to_regclass('pg_temp.s_post') IS NULL THEN
    CREATE TEMP TABLE s_post (
      external_id bigint PRIMARY KEY, thread_ext bigint NOT NULL, replied_ext bigint,
      sender_ext bigint NOT NULL, group_ext bigint, body text NOT NULL, web_url text,
      created_at timestamptz NOT NULL, message_type text NOT NULL, like_count int,
      reply_count int, share_count int, deleted_at timestamptz, kind text NOT NULL,
      post_id bigint, written boolean NOT NULL DEFAULT false,
      inserted boolean NOT NULL DEFAULT false) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE s_post_hashtag (external_id bigint, hashtag text) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE s_post_link (external_id bigint, normalized_url text)
      ON COMMIT DELETE ROWS;
    ANALYZE s_post, s_post_hashtag, s_post_link;
  ELSE
    DELETE FROM s_post; DELETE FROM s_post_hashtag; DELETE FROM s_post_link;
  END IF;
END $$
""")

_LOAD_POSTS = sa.text("""
INSERT INTO s_post (external_id, thread_ext, replied_ext, sender_ext, group_ext, body, web_url,
    created_at, message_type, like_count, reply_count, share_count, deleted_at, kind)
SELECT * FROM unnest(CAST(:ext AS bigint[]), CAST(:thread AS bigint[]),
    CAST(:replied AS bigint[]), CAST(:sender AS bigint[]), CAST(:grp AS bigint[]),
    CAST(:body AS text[]), CAST(:web_url AS text[]), CAST(:created AS timestamptz[]),
    CAST(:mtype AS text[]), CAST(:likes AS int[]), CAST(:replies AS int[]),
    CAST(:shares AS int[]), CAST(:deleted AS timestamptz[]), CAST(:kind AS text[]))
""")
_LOAD_PAIRS = {
    table: sa.text(
        f"INSERT INTO {table} SELECT * FROM unnest(CAST(:ext AS bigint[]), CAST(:v AS text[]))"
    )
    for table in ("s_post_hashtag", "s_post_link")
}

# A sender nobody has described yet (deleted or suspended users still have old messages,
# references may omit them) gets a placeholder; never overwrites a person.
_PLACEHOLDER_SENDERS = sa.text("""
INSERT INTO person (external_id, full_name, synced_at)
SELECT DISTINCT m.sender_ext, 'Former member ' || m.sender_ext, CAST(:at AS timestamptz) FROM s_post m
WHERE NOT EXISTS (SELECT 1 FROM person p WHERE p.external_id = m.sender_ext)
ON CONFLICT (external_id) DO NOTHING
""")


def _upsert(replies: bool) -> sa.TextClause:
    """Starters, or replies (whose starter must be stored by then), marking what is written."""
    starter, join, where = (
        ("st.id", "JOIN post st ON st.external_id = m.thread_ext", "<>")
        if replies
        else ("NULL::bigint", "", "=")
    )
    return sa.text(f"""
WITH up AS (
  INSERT INTO post (external_id, thread_starter_id, replied_to_id, author_id, group_id, body,
      web_url, created_at, message_type, like_count, reply_count, share_count, deleted_at,
      kind, synced_at)
  SELECT m.external_id, {starter}, r.id, a.id, g.id, m.body, m.web_url, m.created_at,
      m.message_type, coalesce(m.like_count, old.like_count, 0),
      coalesce(m.reply_count, old.reply_count, 0), coalesce(m.share_count, old.share_count, 0),
      m.deleted_at, m.kind, CAST(:at AS timestamptz)
  FROM s_post m {join}
  JOIN person a ON a.external_id = m.sender_ext
  LEFT JOIN microblog_group g ON g.external_id = m.group_ext
  LEFT JOIN post r ON r.external_id = m.replied_ext
  LEFT JOIN post old ON old.external_id = m.external_id
  WHERE m.thread_ext {where} m.external_id
  ORDER BY m.external_id
  ON CONFLICT (external_id) DO UPDATE SET
    body = excluded.body,
    -- An export's address (its api_url) only stands in where a page has not given one.
    web_url = CASE WHEN CAST(:web_url_fallback AS boolean)
      THEN coalesce(post.web_url, excluded.web_url) ELSE coalesce(excluded.web_url, post.web_url) END,
    group_id = excluded.group_id,
    like_count = excluded.like_count,
    reply_count = excluded.reply_count,
    share_count = excluded.share_count,
    synced_at = excluded.synced_at,
    -- A reply first stored before its starter was known gets linked when re-read.
    thread_starter_id = coalesce(post.thread_starter_id, excluded.thread_starter_id),
    replied_to_id = coalesce(excluded.replied_to_id, post.replied_to_id),
    kind = CASE WHEN post.kind_set_by_hand THEN post.kind ELSE excluded.kind END,
    -- Deleted stays deleted; read alive, a post is restored only by a read newer than its
    -- tombstone (a 404 for lost access, a walk cut short), so a replayed page cannot.
    deleted_at = CASE
      WHEN excluded.deleted_at IS NOT NULL THEN coalesce(post.deleted_at, excluded.deleted_at)
      WHEN post.deleted_at < excluded.synced_at THEN NULL
      ELSE post.deleted_at END
  WHERE post.synced_at <= excluded.synced_at
  RETURNING post.external_id, post.id, xmax = 0 AS inserted
)
UPDATE s_post SET post_id = up.id, written = true, inserted = up.inserted
FROM up WHERE s_post.external_id = up.external_id
""")


_UPSERT_STARTERS = _upsert(replies=False)
_UPSERT_REPLIES = _upsert(replies=True)
# Rows an older observation kept out: their ids, nothing of theirs written.
_STALE_IDS = sa.text("""
UPDATE s_post SET post_id = p.id FROM post p
WHERE s_post.post_id IS NULL AND p.external_id = s_post.external_id
""")
# A reply to a reply given with it: its parent had no id when the reply was inserted.
_LINK_REPLIES = sa.text("""
UPDATE post SET replied_to_id = r.id
FROM s_post m JOIN post r ON r.external_id = m.replied_ext
WHERE post.id = m.post_id AND m.written AND post.replied_to_id IS DISTINCT FROM r.id
""")
# Only the hashtags a post no longer has go, and only new ones are inserted: a re-read post
# (most of a page) leaves its rows, and the count triggers (t8c1) nothing to do.
_CLEAR_HASHTAGS = sa.text("""
DELETE FROM post_hashtag h USING s_post m WHERE h.post_id = m.post_id AND m.written
AND NOT EXISTS (
    SELECT 1 FROM s_post_hashtag t WHERE t.external_id = m.external_id AND t.hashtag = h.hashtag)
""")
_INSERT_HASHTAGS = sa.text("""
INSERT INTO post_hashtag (post_id, hashtag)
SELECT DISTINCT m.post_id, t.hashtag FROM s_post_hashtag t JOIN s_post m USING (external_id)
WHERE m.written
ON CONFLICT DO NOTHING
""")
_INSERT_LINKS = sa.text("""
INSERT INTO post_resource (post_id, resource_id, matched_by)
SELECT DISTINCT m.post_id, r.id, 'URL' FROM s_post_link l JOIN s_post m USING (external_id)
JOIN resource r ON r.normalized_url = l.normalized_url
WHERE m.written
ON CONFLICT DO NOTHING
""")
# For sources without reply counts (an export): what they show of a thread is a floor.
_REPLY_FLOOR = sa.text("""
UPDATE post s SET reply_count = c.n FROM (
    SELECT r.thread_starter_id AS id, count(*) AS n FROM post r
    WHERE r.deleted_at IS NULL AND r.thread_starter_id IN (
        SELECT p.id FROM post p JOIN s_post m ON m.thread_ext = p.external_id)
    GROUP BY r.thread_starter_id) c
WHERE s.id = c.id AND s.reply_count < c.n
""")
# Append-on-change, for rows that carry their figures (an export does not).
_SNAPSHOTS = sa.text("""
INSERT INTO post_metrics_snapshot (post_id, observed_at, likes, replies, shares)
SELECT p.id, CAST(:at AS timestamptz), p.like_count, p.reply_count, p.share_count
FROM s_post m JOIN post p ON p.id = m.post_id
LEFT JOIN LATERAL (
    SELECT s.likes, s.replies, s.shares FROM post_metrics_snapshot s
    WHERE s.post_id = p.id ORDER BY s.observed_at DESC LIMIT 1) l ON true
WHERE m.written AND m.like_count IS NOT NULL
  AND (l.likes, l.replies, l.shares) IS DISTINCT FROM (p.like_count, p.reply_count, p.share_count)
ON CONFLICT DO NOTHING
RETURNING post_id
""")
_OUTCOME = sa.text("""
SELECT m.external_id, m.thread_ext, m.post_id, m.inserted,
       p.deleted_at IS NOT NULL AS deleted, p.synced_at > CAST(:at AS timestamptz) AS newer
FROM s_post m LEFT JOIN post p ON p.id = m.post_id
""")
_ANALYZE_FROM = 1000


async def write_posts(
    session: AsyncSession,
    rows: Sequence[PostRow],
    observed_at: datetime,
    *,
    reply_floor: bool = False,
    web_url_fallback: bool = False,
) -> WriteResult:
    """Merge ``rows`` (one per microblog id; the last wins) as observed at ``observed_at``.

    An export passes ``reply_floor`` (it has no reply counts: a thread's count rises to its
    stored live replies) and ``web_url_fallback`` (its addresses are API ones: kept only
    where a post has none).
    """
    if not rows:
        return WriteResult()
    latest = list({r.external_id: r for r in rows}.values())
    await session.execute(_STAGING)
    await _stage(session, latest)
    at = {"at": observed_at}
    await session.execute(_PLACEHOLDER_SENDERS, at)
    for statement in (_UPSERT_STARTERS, _UPSERT_REPLIES):
        await session.execute(statement, {**at, "web_url_fallback": web_url_fallback})
    await session.execute(_STALE_IDS)
    await session.execute(_LINK_REPLIES)
    await session.execute(_CLEAR_HASHTAGS)
    if any(r.hashtags for r in latest):
        await session.execute(_INSERT_HASHTAGS)
    if any(r.links for r in latest):
        await session.execute(_INSERT_LINKS)
    if reply_floor:
        await session.execute(_REPLY_FLOOR)
    changed = set((await session.execute(_SNAPSHOTS, at)).scalars())
    ids: dict[int, int] = {}
    inserted: set[int] = set()
    orphans: dict[int, int] = {}
    deleted = newer = 0
    for external_id, thread, post_id, was_inserted, is_deleted, is_newer in await session.execute(
        _OUTCOME, at
    ):
        if post_id is None:
            orphans[thread] = orphans.get(thread, 0) + 1
            continue
        ids[external_id] = post_id
        if was_inserted:
            inserted.add(post_id)
        deleted += bool(is_deleted)
        newer += bool(is_newer)
    return WriteResult(
        ids=ids,
        inserted=inserted,
        metrics_changed=changed - inserted,
        newer_in_db=newer,
        deleted=deleted,
        orphans=dict(sorted(orphans.items(), key=lambda kv: (-kv[1], kv[0]))),
    )


async def _stage(session: AsyncSession, rows: list[PostRow]) -> None:
    # Arrays through unnest: one statement whatever the number of rows.
    await session.execute(
        _LOAD_POSTS,
        {
            "ext": [r.external_id for r in rows],
            "thread": [r.thread_external_id for r in rows],
            "replied": [r.replied_to_external_id for r in rows],
            "sender": [r.sender_external_id for r in rows],
            "grp": [r.group_external_id for r in rows],
            "body": [r.body for r in rows],
            "web_url": [r.web_url for r in rows],
            "created": [r.created_at for r in rows],
            "mtype": [r.message_type for r in rows],
            "likes": [r.like_count for r in rows],
            "replies": [r.reply_count for r in rows],
            "shares": [r.share_count for r in rows],
            "deleted": [r.deleted_at for r in rows],
            "kind": [r.kind.name for r in rows],
        },
    )
    for statement, values in (
        (_LOAD_PAIRS["s_post_hashtag"], [(r.external_id, t) for r in rows for t in r.hashtags]),
        (_LOAD_PAIRS["s_post_link"], [(r.external_id, u) for r in rows for u in r.links]),
    ):
        if values:
            await session.execute(
                statement, {"ext": [e for e, _ in values], "v": [v for _, v in values]}
            )
    if len(rows) >= _ANALYZE_FROM:
        await session.execute(sa.text("ANALYZE s_post, s_post_hashtag, s_post_link"))
