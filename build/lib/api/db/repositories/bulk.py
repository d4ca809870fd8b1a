"""Merging a network export: COPY into staging tables, then set-based upserts, one transaction.

COPY is the fast way into Postgres; the staging tables (dropped at commit) let the merge be
plain ``INSERT .. SELECT .. ON CONFLICT`` statements with the same monotonic rules as the
worker's upserts, so an import and the live mirror agree whichever runs first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from api.db.session import asyncpg_connect_args
from api.domain import text


@dataclass(frozen=True, slots=True)
class ExportMessage:
    external_id: int
    thread_external_id: int
    replied_to_external_id: int | None
    sender_external_id: int
    group_external_id: int | None
    body: str
    created_at: datetime
    deleted_at: datetime | None
    message_type: str
    web_url: str | None
    hashtags: tuple[str, ...]
    links: tuple[str, ...]  # normalised URLs


@dataclass
class ExportRows:
    people: list[tuple[int, str, str | None, str | None, str | None]] = field(default_factory=list)
    groups: list[tuple[int, str, str | None, str]] = field(default_factory=list)
    topics: list[tuple[int, str]] = field(default_factory=list)
    messages: list[ExportMessage] = field(default_factory=list)
    # Senders and groups named only in Messages.csv (the export holds changes in a range).
    senders: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    group_names: dict[int, tuple[str, bool]] = field(default_factory=dict)
    # Rows left out while reading, by reason, and the lines they came from (see export_import).
    skipped: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # What the export says about when it was taken, and the newest moment its rows mention.
    exported_at: datetime | None = None
    range_end: datetime | None = None
    newest: datetime | None = None


@dataclass
class MergeCounts:
    messages: int = 0  # distinct messages now in the database (written, or already newer)
    deleted: int = 0
    newer_in_db: int = 0  # messages the database had from a later read: left as they are
    # Replies not written because their thread starter is in neither the export nor the
    # database, by thread: stored, they would pass for thread starters.
    orphans: dict[int, int] = field(default_factory=dict)


STAGING = """
CREATE TEMP TABLE s_person (external_id bigint, full_name text, email text, job_title text,
    department text, seq int) ON COMMIT DROP;
CREATE TEMP TABLE s_group (external_id bigint, name text, description text, privacy text,
    seq int) ON COMMIT DROP;
CREATE TEMP TABLE s_topic (external_id bigint, hashtag text) ON COMMIT DROP;
CREATE TEMP TABLE s_message (external_id bigint, thread_ext bigint, replied_ext bigint,
    sender_ext bigint, group_ext bigint, body text, created_at timestamptz, deleted_at timestamptz,
    message_type text, web_url text, kind text, seq int) ON COMMIT DROP;
CREATE TEMP TABLE s_hashtag (external_id bigint, hashtag text) ON COMMIT DROP;
CREATE TEMP TABLE s_link (external_id bigint, normalized_url text) ON COMMIT DROP;
"""

# Later rows win: the export lists previous versions of edited messages too.
#
# $1 is the moment the export describes (``export_format.described_at``), never the import's
# own clock: an export taken before a live read must not overwrite what that read stored, and
# the ``synced_at <=`` guards below only protect the newer read if the import says how old its
# rows are.  A row the guard keeps out is not "written"; the hashtag and link statements only
# touch written posts (``synced_at = $1``), so an older export cannot rewrite those either.
MERGE = [
    # People. An email another person already has is left out rather than failing the import.
    """
    INSERT INTO person (external_id, full_name, email, job_title, department, synced_at)
    SELECT s.external_id, s.full_name,
           CASE WHEN s.email IS NULL OR EXISTS (SELECT 1 FROM person o WHERE o.email = s.email
                AND o.external_id <> s.external_id) OR count(*) OVER (PARTITION BY s.email) > 1
                THEN NULL ELSE s.email END,
           s.job_title, s.department, $1
    FROM (SELECT DISTINCT ON (external_id) * FROM s_person ORDER BY external_id, seq DESC) s
    ON CONFLICT (external_id) DO UPDATE SET
        full_name = excluded.full_name,
        email = coalesce(excluded.email, person.email),
        job_title = coalesce(excluded.job_title, person.job_title),
        department = coalesce(excluded.department, person.department),
        synced_at = excluded.synced_at
    WHERE person.synced_at <= excluded.synced_at
    """,
    """
    INSERT INTO microblog_group (external_id, name, description, privacy, synced_at)
    SELECT s.external_id, s.name, s.description, s.privacy, $1
    FROM (SELECT DISTINCT ON (external_id) * FROM s_group ORDER BY external_id, seq DESC) s
    ON CONFLICT (external_id) DO UPDATE SET
        name = excluded.name,
        description = coalesce(excluded.description, microblog_group.description),
        privacy = excluded.privacy,
        synced_at = excluded.synced_at
    WHERE microblog_group.synced_at <= excluded.synced_at
    """,
    """
    UPDATE topic SET external_id = s.external_id FROM s_topic s
    WHERE topic.hashtag = s.hashtag AND topic.external_id IS NULL
      AND NOT EXISTS (SELECT 1 FROM topic t2 WHERE t2.external_id = s.external_id)
    """,
    """
    CREATE TEMP TABLE s_latest ON COMMIT DROP AS
    SELECT DISTINCT ON (external_id) * FROM s_message ORDER BY external_id, seq DESC
    """,
    # A sender neither the database, Users.csv nor a sender_name knows gets the placeholder
    # the worker gives such senders (mirror.ensure_people): deleted or suspended users still
    # have old messages, and dropping those would lose content.  Never overwrites a person.
    """
    INSERT INTO person (external_id, full_name, synced_at)
    SELECT DISTINCT m.sender_ext, 'Former member ' || m.sender_ext, $1::timestamptz
    FROM s_latest m
    WHERE NOT EXISTS (SELECT 1 FROM person p WHERE p.external_id = m.sender_ext)
    ON CONFLICT (external_id) DO NOTHING
    """,
    # Thread starters, then replies (whose starter must be known), then reply-to-reply links.
    # A reply whose starter is in neither the export nor the database is not written (stored,
    # it would look like a thread starter); merge_export counts it as skipped, by thread.
    """
    INSERT INTO post (external_id, author_id, group_id, body, web_url, created_at, message_type,
                      deleted_at, kind, synced_at)
    SELECT m.external_id, a.id, g.id, m.body, m.web_url, m.created_at, m.message_type,
           m.deleted_at, m.kind, $1
    FROM s_latest m JOIN person a ON a.external_id = m.sender_ext
    LEFT JOIN microblog_group g ON g.external_id = m.group_ext
    WHERE m.thread_ext = m.external_id
    ON CONFLICT (external_id) DO UPDATE SET
        body = excluded.body, group_id = excluded.group_id,
        deleted_at = coalesce(post.deleted_at, excluded.deleted_at),
        kind = CASE WHEN post.kind_set_by_hand THEN post.kind ELSE excluded.kind END,
        synced_at = excluded.synced_at
    WHERE post.synced_at <= excluded.synced_at
    """,
    """
    INSERT INTO post (external_id, thread_starter_id, author_id, group_id, body, web_url,
                      created_at, message_type, deleted_at, kind, synced_at)
    SELECT m.external_id, s.id, a.id, g.id, m.body, m.web_url, m.created_at, m.message_type,
           m.deleted_at, m.kind, $1
    FROM s_latest m JOIN post s ON s.external_id = m.thread_ext
    JOIN person a ON a.external_id = m.sender_ext
    LEFT JOIN microblog_group g ON g.external_id = m.group_ext
    WHERE m.thread_ext <> m.external_id
    ON CONFLICT (external_id) DO UPDATE SET
        body = excluded.body, group_id = excluded.group_id,
        deleted_at = coalesce(post.deleted_at, excluded.deleted_at),
        kind = CASE WHEN post.kind_set_by_hand THEN post.kind ELSE excluded.kind END,
        synced_at = excluded.synced_at
    WHERE post.synced_at <= excluded.synced_at
    """,
    """
    UPDATE post SET replied_to_id = r.id
    FROM s_latest m JOIN post r ON r.external_id = m.replied_ext
    WHERE post.external_id = m.external_id AND post.replied_to_id IS DISTINCT FROM r.id
    """,
    # s_hashtag and s_link hold the latest version of each message only (merge_export).
    """
    DELETE FROM post_hashtag USING post p, s_latest m
    WHERE post_hashtag.post_id = p.id AND p.external_id = m.external_id AND p.synced_at = $1
    """,
    """
    INSERT INTO post_hashtag (post_id, hashtag)
    SELECT DISTINCT p.id, h.hashtag FROM s_hashtag h JOIN post p ON p.external_id = h.external_id
    WHERE p.synced_at = $1
    ON CONFLICT DO NOTHING
    """,
    # Like ingest.upsert_posts, URL matches are added, never removed (a match may be by hand).
    """
    INSERT INTO post_resource (post_id, resource_id, matched_by)
    SELECT DISTINCT p.id, r.id, 'URL' FROM s_link l
    JOIN post p ON p.external_id = l.external_id
    JOIN resource r ON r.normalized_url = l.normalized_url
    WHERE p.synced_at = $1
    ON CONFLICT DO NOTHING
    """,
    # The export has no reply counts; what it shows of a thread is a floor.
    """
    UPDATE post s SET reply_count = c.n FROM (
        SELECT r.thread_starter_id AS id, count(*) AS n FROM post r
        WHERE r.deleted_at IS NULL AND r.thread_starter_id IN (
            SELECT p.id FROM post p JOIN s_latest m ON m.thread_ext = p.external_id)
        GROUP BY r.thread_starter_id) c
    WHERE s.id = c.id AND s.reply_count < c.n
    """,
]


async def _classifier_inputs(conn: asyncpg.Connection) -> tuple[set[int], set[str], set[str]]:
    managers = await conn.fetch(
        "SELECT p.external_id FROM topic_manager tm JOIN person p ON p.id = tm.person_id"
        " WHERE tm.until IS NULL OR tm.until > current_date"
    )
    tags = await conn.fetch("SELECT hashtag FROM topic")
    urls = await conn.fetch("SELECT normalized_url FROM resource")
    return (
        {r[0] for r in managers},
        {r[0] for r in tags},
        {r[0] for r in urls},
    )


async def merge_export(url: str, rows: ExportRows, *, observed_at: datetime) -> MergeCounts:
    """Merge ``rows`` as the state of the network at ``observed_at`` (one transaction)."""
    # The last version of each message in file order; only its hashtags and links count.
    latest = list({m.external_id: m for m in rows.messages}.values())
    conn = await asyncpg.connect(**asyncpg_connect_args(url))
    try:
        async with conn.transaction():
            managers, campaign_tags, resource_urls = await _classifier_inputs(conn)
            await conn.execute(STAGING)
            known = {p[0] for p in rows.people}
            people = [(*p, i) for i, p in enumerate(rows.people)] + [
                (e, name, email, None, None, -1)
                for e, (name, email) in rows.senders.items()
                if e not in known
            ]
            await conn.copy_records_to_table("s_person", records=people)
            known_groups = {g[0] for g in rows.groups}
            groups = [(*g, i) for i, g in enumerate(rows.groups)] + [
                (e, name, None, "PRIVATE" if private else "PUBLIC", -1)
                for e, (name, private) in rows.group_names.items()
                if e not in known_groups
            ]
            await conn.copy_records_to_table("s_group", records=groups)
            await conn.copy_records_to_table("s_topic", records=rows.topics)
            await conn.copy_records_to_table(
                "s_message",
                records=[
                    (m.external_id, m.thread_external_id, m.replied_to_external_id,
                     m.sender_external_id, m.group_external_id, m.body, m.created_at,
                     m.deleted_at, m.message_type, m.web_url,
                     text.classify(
                         m.body,
                         links_resource=any(u in resource_urls for u in m.links),
                         by_topic_manager=m.sender_external_id in managers,
                         on_campaign_topic=bool(campaign_tags.intersection(m.hashtags)),
                         message_type=m.message_type,
                     ).name,
                     i)
                    for i, m in enumerate(rows.messages)
                ],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "s_hashtag", records=[(m.external_id, t) for m in latest for t in m.hashtags]
            )
            await conn.copy_records_to_table(
                "s_link", records=[(m.external_id, u) for m in latest for u in m.links]
            )
            for statement in MERGE:
                await conn.execute(statement, *((observed_at,) if "$1" in statement else ()))
            counts = await conn.fetchrow(
                "SELECT count(p.id) AS messages,"
                " count(p.id) FILTER (WHERE p.deleted_at IS NOT NULL) AS deleted,"
                " count(p.id) FILTER (WHERE p.synced_at > $1) AS newer_in_db"
                " FROM s_latest m LEFT JOIN post p ON p.external_id = m.external_id",
                observed_at,
            )
            # Every message row is written, already newer, or one of these: nothing vanishes.
            orphans = await conn.fetch(
                "SELECT m.thread_ext, count(*) FROM s_latest m"
                " WHERE NOT EXISTS (SELECT 1 FROM post p WHERE p.external_id = m.external_id)"
                " GROUP BY m.thread_ext ORDER BY count(*) DESC, m.thread_ext"
            )
        return MergeCounts(
            messages=int(counts["messages"]),
            deleted=int(counts["deleted"]),
            newer_in_db=int(counts["newer_in_db"]),
            orphans={int(r[0]): int(r[1]) for r in orphans},
        )
    finally:
        await conn.close()
