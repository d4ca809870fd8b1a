"""One write path: the same posts through the generator, a live page and an export import.

The generator writes a network; the same network is then given to the worker's unit of work
as a feed page (``PageMirror._commit_page``) and as a network data export
(``import_export``).  All three go through ``posts_write``, so the rows must come out the
same: posts, hashtags, resource matches and the snapshots of the write, compared by microblog
id (surrogate ids and run timestamps left out).  An export has no figures (likes, shares),
which the comparison says explicitly.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from api.db.session import Database
from api.domain import text
from api.seed.generator import generate
from api.sync import payloads
from api.sync.export_import import import_export
from api.sync.pages import PageMirror
from tests import dbs

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
RESOURCE_URL = "https://podcasts.example.com/engaged-managers/1"
CONTEXT = [
    "INSERT INTO person (external_id, full_name) VALUES (900, 'Priya Raman')",
    "INSERT INTO campaign (id, slug, name, starts_on) VALUES (1, 'c', 'C', '2026-08-01')",
    "INSERT INTO topic (id, campaign_id, hashtag, name) VALUES (1, 1, 'leadership', 'L')",
    "INSERT INTO topic_manager (topic_id, person_id, since)"
    " SELECT 1, id, '2026-08-01' FROM person WHERE external_id = 900",
    "INSERT INTO resource (kind, title, url, normalized_url, tracking_token) VALUES"
    f" ('PODCAST_EPISODE', 'Ep 1', '{RESOURCE_URL}', '{text.normalise_url(RESOURCE_URL)}', 't')",
]

POSTS = """
SELECT p.external_id, coalesce(s.external_id, p.external_id) AS thread,
       r.external_id AS replied_to, a.external_id AS sender, g.external_id AS grp, p.body,
       p.created_at, p.message_type, p.deleted_at, p.kind, p.reply_count, p.like_count,
       p.share_count, p.web_url
FROM post p JOIN person a ON a.id = p.author_id
LEFT JOIN post s ON s.id = p.thread_starter_id LEFT JOIN post r ON r.id = p.replied_to_id
LEFT JOIN microblog_group g ON g.id = p.group_id
"""
HASHTAGS = "SELECT p.external_id, h.hashtag FROM post_hashtag h JOIN post p ON p.id = h.post_id"
MATCHES = """
SELECT p.external_id, r.normalized_url, m.matched_by FROM post_resource m
JOIN post p ON p.id = m.post_id JOIN resource r ON r.id = m.resource_id
"""
# The write's own snapshots: the generator adds earlier observations a mirror would have made.
SNAPSHOTS = """
SELECT p.external_id, m.likes, m.replies, m.shares FROM post_metrics_snapshot m
JOIN post p ON p.id = m.post_id WHERE m.observed_at = :now
"""


@pytest.fixture
async def three_dbs(
    pg_server: dbs.TestServer, migrated_template: str
) -> AsyncIterator[list[tuple[str, Database]]]:
    """Empty migrated databases for the generator, the live page and the export."""
    urls = [pg_server.create(template=migrated_template) for _ in range(3)]
    dbs = [Database.connect(url, pool_size=2) for url in urls]
    try:
        yield list(zip(urls, dbs, strict=True))
    finally:
        for db in dbs:
            await db.dispose()
        for url in urls:
            pg_server.drop(url)


async def _rows(db: Database, sql: str) -> set[tuple[Any, ...]]:
    async with db.reading() as session:
        return {tuple(row) for row in await session.execute(sa.text(sql), {"now": NOW})}


async def _context(db: Database) -> None:
    async with db.unit_of_work() as session:
        for sql in CONTEXT:
            await session.execute(sa.text(sql))


@dataclass
class _Stats:
    requests: int = 0


class _NoClient:
    def take_stats(self) -> _Stats:
        return _Stats()


def _feed_page(people: set[tuple[Any, ...]], groups: set[tuple[Any, ...]], posts: list[Any]) -> Any:
    """The posts as one feed page, references and all (spec §4.1)."""
    messages = [
        {
            "id": p.external_id,
            "sender_id": p.sender,
            "thread_id": p.thread,
            "replied_to_id": p.replied_to,
            "group_id": p.grp,
            "created_at": p.created_at.isoformat(),
            "message_type": p.message_type,
            "web_url": p.web_url,
            "body": {"plain": p.body},
            "liked_by": {"count": p.like_count},
        }
        for p in posts
    ]
    references: list[dict[str, Any]] = [
        {"type": "user", "id": e, "full_name": name} for e, name in people
    ]
    references += [
        {"type": "group", "id": e, "full_name": name, "privacy": privacy.lower()}
        for e, name, privacy in groups
    ]
    references += [
        {"type": "thread", "id": p.external_id,
         "stats": {"updates": p.reply_count + 1, "shares": p.share_count}}
        for p in posts
        if p.thread == p.external_id
    ]  # fmt: skip
    return payloads.parse(payloads.FeedPage, {"messages": messages, "references": references})


def _export_zip(
    path: Path, people: set[tuple[Any, ...]], groups: set[tuple[Any, ...]], posts: list[Any]
) -> None:
    def table(header: list[str], rows: list[list[Any]]) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
        return out.getvalue()

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("log.txt", f"Exported at: {NOW.isoformat()}\n")
        archive.writestr("Users.csv", table(["id", "name"], [[e, n] for e, n in people]))
        archive.writestr(
            "Groups.csv",
            table(
                ["id", "name", "private"],
                [[e, n, str(privacy == "PRIVATE").lower()] for e, n, privacy in groups],
            ),
        )
        columns = ["id", "replied_to_id", "thread_id", "group_id", "sender_id", "body",
                   "api_url", "created_at", "deleted_at", "message_type"]  # fmt: skip
        archive.writestr(
            "Messages.csv",
            table(
                columns,
                [
                    [
                        p.external_id,
                        p.replied_to,
                        p.thread,
                        p.grp,
                        p.sender,
                        p.body,
                        p.web_url,
                        p.created_at.isoformat(),
                        None,
                        p.message_type,
                    ]
                    for p in posts
                ],
            ),
        )


async def test_generator_live_page_and_export_write_the_same_rows(
    tmp_path: Path, three_dbs: list[tuple[str, Database]]
) -> None:
    (g_url, generated), (_, live), (e_url, exported) = three_dbs
    for db in (generated, live, exported):
        await _context(db)
    await generate(g_url, people=30, posts=400, seed=4, now=NOW)

    people = await _rows(generated, "SELECT external_id, full_name FROM person")
    groups = await _rows(generated, "SELECT external_id, name, privacy FROM microblog_group")
    async with generated.reading() as session:
        posts = list(await session.execute(sa.text(POSTS + " ORDER BY p.external_id")))

    mirror = PageMirror(db=live, client=_NoClient(), run_id=0, clock=lambda: NOW)
    await mirror._commit_page(_feed_page(people, groups, posts))
    path = tmp_path / "export.zip"
    _export_zip(path, people, groups, posts)
    stats = await import_export(e_url, path)
    assert stats.as_of == NOW
    assert stats.messages == len(posts)
    assert not stats.skipped

    want = await _rows(generated, POSTS)
    assert len(want) == 400
    kinds = {row[9] for row in want}
    assert {"TIP", "RESOURCE", "QUESTION"} <= kinds, "the network exercises classification"
    assert any(row[2] not in (None, row[1]) for row in want), "and replies to replies"
    assert await _rows(live, POSTS) == want
    # An export carries no likes or shares: a post it brings first has none.
    assert await _rows(exported, POSTS) == {(*row[:11], 0, 0, row[13]) for row in want}

    for sql in (HASHTAGS, MATCHES):
        expected = await _rows(generated, sql)
        assert expected
        assert await _rows(live, sql) == expected
        assert await _rows(exported, sql) == expected

    snapshots = await _rows(generated, SNAPSHOTS)
    assert len(snapshots) == 400
    assert await _rows(live, SNAPSHOTS) == snapshots
    # Nor does it record figures it does not have.
    assert await _rows(exported, "SELECT * FROM post_metrics_snapshot") == set()
