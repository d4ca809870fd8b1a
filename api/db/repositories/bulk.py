"""Merging a network export's people, groups and topics: staging rows, then set-based upserts.

The rows go into staging tables (dropped at commit) as arrays, so the merge is plain
``INSERT .. SELECT .. ON CONFLICT`` statements with the same monotonic rules as the worker's
upserts, and an import and the live mirror agree whichever runs first.  The export's messages
go through the one write path for posts (``posts_write``) like a live page's.  Nothing here
commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession


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


STAGING = sa.text("""
DO $$ BEGIN
  CREATE TEMP TABLE s_person (external_id bigint, full_name text, email text, job_title text,
      department text, seq int) ON COMMIT DROP;
  CREATE TEMP TABLE s_group (external_id bigint, name text, description text, privacy text,
      seq int) ON COMMIT DROP;
  CREATE TEMP TABLE s_topic (external_id bigint, hashtag text) ON COMMIT DROP;
END $$
""")
_LOAD = {
    "s_person": sa.text(
        "INSERT INTO s_person SELECT * FROM unnest(CAST(:c0 AS bigint[]), CAST(:c1 AS text[]),"
        " CAST(:c2 AS text[]), CAST(:c3 AS text[]), CAST(:c4 AS text[]), CAST(:c5 AS int[]))"
    ),
    "s_group": sa.text(
        "INSERT INTO s_group SELECT * FROM unnest(CAST(:c0 AS bigint[]), CAST(:c1 AS text[]),"
        " CAST(:c2 AS text[]), CAST(:c3 AS text[]), CAST(:c4 AS int[]))"
    ),
    "s_topic": sa.text(
        "INSERT INTO s_topic SELECT * FROM unnest(CAST(:c0 AS bigint[]), CAST(:c1 AS text[]))"
    ),
}

# Later rows win: the export lists previous versions too.
#
# :at is the moment the export describes (``export_format.described_at``), never the import's
# own clock: an export taken before a live read must not overwrite what that read stored, and
# the ``synced_at <=`` guards below only protect the newer read if the import says how old its
# rows are.
MERGE = [
    sa.text(s)
    for s in (
        # People. An email another person already has is left out rather than failing the import.
        """
    INSERT INTO person (external_id, full_name, email, job_title, department, synced_at)
    SELECT s.external_id, s.full_name,
           CASE WHEN s.email IS NULL OR EXISTS (SELECT 1 FROM person o WHERE o.email = s.email
                AND o.external_id <> s.external_id) OR count(*) OVER (PARTITION BY s.email) > 1
                THEN NULL ELSE s.email END,
           s.job_title, s.department, CAST(:at AS timestamptz)
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
    SELECT s.external_id, s.name, s.description, s.privacy, CAST(:at AS timestamptz)
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
    )
]


async def merge_directory(session: AsyncSession, rows: ExportRows, observed_at: datetime) -> None:
    """Merge the export's people, groups and topic ids as the network at ``observed_at``."""
    await session.execute(STAGING)
    known = {p[0] for p in rows.people}
    people = [(*p, i) for i, p in enumerate(rows.people)] + [
        (e, name, email, None, None, -1)
        for e, (name, email) in rows.senders.items()
        if e not in known
    ]
    known_groups = {g[0] for g in rows.groups}
    groups = [(*g, i) for i, g in enumerate(rows.groups)] + [
        (e, name, None, "PRIVATE" if private else "PUBLIC", -1)
        for e, (name, private) in rows.group_names.items()
        if e not in known_groups
    ]
    staged: dict[str, Sequence[tuple[object, ...]]] = {
        "s_person": people,
        "s_group": groups,
        "s_topic": list(rows.topics),
    }
    for table, records in staged.items():
        if records:
            columns = list(zip(*records, strict=True))
            await session.execute(_LOAD[table], {f"c{i}": list(c) for i, c in enumerate(columns)})
    for statement in MERGE:
        await session.execute(statement, {"at": observed_at} if ":at" in statement.text else {})
