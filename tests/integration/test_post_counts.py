"""Maintained post counts (migration t8c1) equal a fresh count after every kind of write.

A topic's, a group's and a resource's posts are live thread starters linked to the key.
After new posts, replies, tombstones of a reply and of a whole thread, restores, edits that
move a post between topics and groups, hard deletes, an export import, the generator and a
mutation, the numbers the triggers keep must be those a ``COUNT(*)`` of the same definition
gives, and ``totalCount``'s read (``count_by_parent``) must give them too.
"""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.db import models
from api.db.repositories import ingest, mirror, post_counts, posts_write
from api.db.repositories.paging import count_per_parent
from api.db.repositories.posts import PostFilter, count_by_parent
from api.db.repositories.scopes import SCOPES, Scope, membership
from api.db.session import Database
from api.domain import text
from api.domain.enums import PostKind
from api.domain.post_rows import Classifier, PostRow, post_row
from api.seed.generator import generate
from api.sync.export_import import import_export
from tests import dbs

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
URL = "https://podcasts.example.com/engaged-managers/1"
CONTEXT = [
    "INSERT INTO person (external_id, full_name) VALUES (1, 'Ana'), (2, 'Ben')",
    "INSERT INTO microblog_group (external_id, name) VALUES (10, 'Ten'), (11, 'Eleven')",
    "INSERT INTO campaign (id, slug, name, starts_on) VALUES (1, 'c', 'C', '2026-08-01')",
    "INSERT INTO topic (id, campaign_id, hashtag, name) VALUES (1, 1, 'alpha', 'A'),"
    " (2, 1, 'beta', 'B')",
    "INSERT INTO resource (kind, title, url, normalized_url, tracking_token) VALUES"
    f" ('PODCAST_EPISODE', 'Ep 1', '{URL}', '{text.normalise_url(URL)}', 't')",
]
CONTEXT_CLASSIFIER = Classifier(resource_urls=frozenset({text.normalise_url(URL)}))
MAINTAINED = list(post_counts.MAINTAINED)


async def assert_counts_fresh(db: Database) -> dict[Scope, dict[Any, int]]:
    """Maintained == counted afresh, for every key, and through totalCount's read."""
    out = {}
    async with db.reading() as session:
        for scope in MAINTAINED:
            kept = await post_counts.all_maintained(session, scope)
            fresh = await post_counts.all_fresh(session, scope)
            assert kept == fresh, scope
            keys = [*fresh, *({"alpha", "beta", "nowhere"} if scope is Scope.TOPIC else {-1})]
            counted = await count_per_parent(
                session,
                table=models.Post,
                keys=keys,
                key_type=SCOPES[scope].key_type,
                where=lambda key, s=scope: [membership(s, key)],
            )
            assert await count_by_parent(session, scope, keys, PostFilter()) == counted, scope
            out[scope] = fresh
    return out


async def _context(db: Database) -> None:
    async with db.unit_of_work() as session:
        for sql in CONTEXT:
            await session.execute(sa.text(sql))


def row(
    ext: int,
    body: str,
    *,
    thread: int | None = None,
    group: int | None = None,
    deleted: datetime | None = None,
    sender: int = 1,
) -> PostRow:
    return post_row(
        CONTEXT_CLASSIFIER,
        external_id=ext,
        sender_external_id=sender,
        body=body,
        created_at=T0,
        thread_external_id=thread,
        group_external_id=group,
        deleted_at=deleted,
    )


async def write(db: Database, rows: list[PostRow], at: datetime) -> None:
    async with db.unit_of_work() as session:
        await posts_write.write_posts(session, rows, at)


async def _sql(db: Database, sql: str, **params: Any) -> list[Any]:
    async with db.unit_of_work() as session:
        result = await session.execute(sa.text(sql), params)
        return list(result) if result.returns_rows else []


@pytest.fixture
async def db(fresh_db: Database) -> Database:
    await _context(fresh_db)
    return fresh_db


async def test_every_kind_of_write_keeps_the_counts(db: Database) -> None:
    at = iter(T0 + timedelta(minutes=m) for m in range(1, 100))
    # New starters: topics, groups, a resource link; replies never count.
    await write(
        db,
        [
            row(100, "#alpha #beta first", group=10),
            row(101, f"#alpha listen {URL}", group=10),
            row(102, "#beta no group"),
            row(103, "#alpha #alpha twice, once", group=11),
            row(104, "nothing tagged", group=11),
        ],
        next(at),
    )
    counts = await assert_counts_fresh(db)
    assert counts[Scope.TOPIC] == {"alpha": 3, "beta": 2}
    assert sum(counts[Scope.GROUP].values()) == 4
    assert sum(counts[Scope.RESOURCE].values()) == 1

    await write(
        db,
        [row(200, f"#alpha reply {URL}", thread=100, group=10), row(201, "#beta", thread=100)],
        next(at),
    )
    assert (await assert_counts_fresh(db)) == counts  # replies are not posts of a feed

    # A reply's deletion changes nothing; a whole thread's takes its starter away.
    async with db.unit_of_work() as session:
        await mirror.mark_deleted(session, [200], next(at))
    assert (await assert_counts_fresh(db)) == counts
    async with db.unit_of_work() as session:
        await mirror.mark_deleted(session, [101, 201], next(at))
    counts = await assert_counts_fresh(db)
    assert counts[Scope.TOPIC] == {"alpha": 2, "beta": 2}
    assert counts[Scope.RESOURCE] == {}

    # A tombstone from a source, then a newer read alive restores the post.
    await write(db, [row(102, "#beta no group", deleted=T0)], next(at))
    assert (await assert_counts_fresh(db))[Scope.TOPIC] == {"alpha": 2, "beta": 1}
    await write(db, [row(101, f"#alpha listen {URL}", group=10)], next(at))
    counts = await assert_counts_fresh(db)
    assert counts[Scope.TOPIC] == {"alpha": 3, "beta": 1}
    assert sum(counts[Scope.RESOURCE].values()) == 1

    # An edit moves a post between topics and groups; classification links it to the resource.
    await write(db, [row(100, f"#gamma moved {URL}", group=11)], next(at))
    counts = await assert_counts_fresh(db)
    assert counts[Scope.TOPIC] == {"alpha": 2, "gamma": 1}
    assert sum(counts[Scope.RESOURCE].values()) == 2

    # A mutation (a kind set by hand) changes no membership.
    ids = {e: i for e, i in await _sql(db, "SELECT external_id, id FROM post")}
    post_id = ids[103]
    async with db.unit_of_work() as session:
        assert await ingest.set_kind(session, post_id, PostKind.TIP) is not None
    assert (await assert_counts_fresh(db)) == counts

    # Hard deletes (nothing in the service does them, psql might): a starter with its
    # thread, a lone link, a reply, and links removed by hand.
    await _sql(db, "DELETE FROM post WHERE external_id = 100")
    await _sql(db, "DELETE FROM post_hashtag WHERE hashtag = 'beta'")
    await _sql(db, "UPDATE post_hashtag SET hashtag = 'delta' WHERE hashtag = 'alpha'")
    counts = await assert_counts_fresh(db)
    assert counts[Scope.TOPIC] == {"delta": 2}
    await _sql(db, "UPDATE post SET thread_starter_id = :id WHERE external_id = 103", id=ids[104])
    await _sql(db, "UPDATE post SET group_id = NULL WHERE external_id = 104")
    await assert_counts_fresh(db)
    await _sql(db, "TRUNCATE post CASCADE")
    assert (await assert_counts_fresh(db)) == {scope: {} for scope in MAINTAINED}


async def test_generator_and_export_import_keep_the_counts(
    tmp_path: Path, pg_server: dbs.TestServer, migrated_template: str
) -> None:
    url = pg_server.create(template=migrated_template)
    db = Database.connect(url, pool_size=2)
    try:
        await _context(db)
        await generate(url, people=30, posts=600, seed=3, now=T0)
        counts = await assert_counts_fresh(db)
        assert counts[Scope.TOPIC]["alpha"] > 10
        assert counts[Scope.RESOURCE]
        assert sum(counts[Scope.GROUP].values()) > 100

        # An export brings new posts, a tombstone of a generated thread and an edited one.
        starters = await _sql(
            db,
            "SELECT p.external_id, g.external_id, p.body FROM post p"
            " JOIN post_hashtag h ON h.post_id = p.id"
            " LEFT JOIN microblog_group g ON g.id = p.group_id"
            " WHERE p.thread_starter_id IS NULL AND p.deleted_at IS NULL"
            " ORDER BY p.external_id LIMIT 2",
        )
        (gone, gone_group, gone_body), (edited, edited_group, _) = starters
        sender = (await _sql(db, "SELECT external_id FROM person LIMIT 1"))[0][0]
        messages = [
            [9_000_001, None, 9_000_001, 10, sender, "#alpha from the export", T0, None],
            [9_000_002, 9_000_001, 9_000_001, 10, sender, "#alpha a reply", T0, None],
            [gone, None, gone, gone_group, sender, gone_body, T0, T0 + timedelta(hours=1)],
            [edited, None, edited, edited_group, sender, "#beta edited", T0, None],
        ]
        _export(tmp_path / "export.zip", messages, T0 + timedelta(days=1))
        stats = await import_export(url, tmp_path / "export.zip")
        assert stats.messages == 4
        after = await assert_counts_fresh(db)
        assert after != counts
    finally:
        await db.dispose()
        pg_server.drop(url)


def _export(path: Path, messages: list[list[Any]], exported_at: datetime) -> None:
    def table(header: list[str], rows: list[list[Any]]) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        for r in rows:
            writer.writerow(
                ["" if v is None else v.isoformat() if isinstance(v, datetime) else v for v in r]
            )
        return out.getvalue()

    columns = ["id", "replied_to_id", "thread_id", "group_id", "sender_id", "body",
               "created_at", "deleted_at"]  # fmt: skip
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("log.txt", f"Exported at: {exported_at.isoformat()}\n")
        archive.writestr("Messages.csv", table(columns, messages))


# -- random write sequences -----------------------------------------------------------------

TAGS = ["alpha", "beta", "gamma"]
EXTS = list(range(300, 306))


@st.composite
def operations(draw: Any) -> list[tuple[Any, ...]]:
    op = st.one_of(
        st.tuples(
            st.just("write"),
            st.sampled_from(EXTS),
            st.lists(st.sampled_from(TAGS), unique=True, max_size=3),
            st.sampled_from([None, 10, 11]),
            st.booleans(),  # links the resource
            st.sampled_from([None, *EXTS]),  # thread: a starter of its own unless another
            st.booleans(),  # the source says it is deleted
        ),
        st.tuples(st.just("tombstone"), st.lists(st.sampled_from(EXTS), max_size=3)),
        st.tuples(st.just("hard_delete"), st.sampled_from(EXTS)),
    )
    return draw(st.lists(op, min_size=1, max_size=12))


async def _apply(db: Database, ops: list[tuple[Any, ...]]) -> None:
    await _sql(db, "TRUNCATE post CASCADE")
    for step, op in enumerate(ops):
        at = T0 + timedelta(minutes=step + 1)
        match op:
            case ("write", ext, tags, group, link, thread, deleted):
                body = " ".join(f"#{t}" for t in tags) + (f" {URL}" if link else "") + " x"
                thread = None if thread in (None, ext) else thread
                await write(
                    db,
                    [row(ext, body, thread=thread, group=group, deleted=T0 if deleted else None)],
                    at,
                )
            case ("tombstone", exts):
                async with db.unit_of_work() as session:
                    await mirror.mark_deleted(session, exts, at)
            case ("hard_delete", ext):
                await _sql(db, "DELETE FROM post WHERE external_id = :e", e=ext)
        await assert_counts_fresh(db)


@pytest.fixture(scope="module")
def property_url(pg_server: dbs.TestServer, migrated_template: str) -> Iterator[str]:
    url = pg_server.create(template=migrated_template)

    async def setup() -> None:
        db = Database.connect(url, pool_size=1)
        try:
            await _context(db)
        finally:
            await db.dispose()

    dbs.in_thread(setup())
    yield url
    pg_server.drop(url)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=operations())
def test_random_write_sequences_keep_the_counts(property_url: str, ops: Any) -> None:
    async def run() -> None:
        db = Database.connect(property_url, pool_size=1)
        try:
            await _apply(db, ops)
        finally:
            await db.dispose()

    dbs.in_thread(run())


# -- concurrent writers -----------------------------------------------------------------------


async def _waiting_on_a_lock(db: Database) -> bool:
    """Poll (bounded) until some other session of this database waits on a lock."""
    for _ in range(400):
        rows = await _sql(
            db,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'",
        )
        if rows[0][0]:
            return True
        await asyncio.sleep(0.025)
    return False


async def test_writers_of_a_busy_hashtag_do_not_wait_for_each_other(db: Database) -> None:
    await write(db, [row(100, "#alpha one", group=10)], T0)
    async with db.unit_of_work() as first:
        await posts_write.write_posts(first, [row(101, "#alpha two", group=10)], T0)
        # The first writer holds its transaction open; the second commits regardless.
        await asyncio.wait_for(write(db, [row(102, "#alpha three", group=10)], T0), 30)
    counts = await assert_counts_fresh(db)
    assert counts[Scope.TOPIC] == {"alpha": 3}
    rows = await _sql(db, "SELECT count(*) FROM hashtag_post_count WHERE hashtag = 'alpha'")
    assert rows[0][0] <= 2  # folded as it goes
    await write(db, [row(103, "#alpha four")], T0)
    rows = await _sql(db, "SELECT count(*) FROM hashtag_post_count WHERE hashtag = 'alpha'")
    assert rows[0][0] == 1


@pytest.mark.parametrize("first", ["tombstone", "link"])
async def test_a_link_added_while_its_post_is_tombstoned_is_counted_once(
    db: Database, first: str
) -> None:
    await write(db, [row(100, "#alpha one")], T0)
    post_id = (await _sql(db, "SELECT id FROM post WHERE external_id = 100"))[0][0]

    async def tombstone(session: Any) -> None:
        await mirror.mark_deleted(session, [100], T0 + timedelta(hours=1))

    async def link(session: Any) -> None:
        await session.execute(
            sa.text("INSERT INTO post_hashtag (post_id, hashtag) VALUES (:p, 'zeta')"),
            {"p": post_id},
        )

    one, other = (tombstone, link) if first == "tombstone" else (link, tombstone)

    async def second() -> None:
        async with db.unit_of_work() as session:
            await other(session)

    async with db.unit_of_work() as session:
        await one(session)
        waiting = asyncio.create_task(second())
        # The second writer waits for the first (the post's lock), then sees what it did.
        assert await _waiting_on_a_lock(db)
        assert not waiting.done()
    await asyncio.wait_for(waiting, 30)
    counts = await assert_counts_fresh(db)
    assert counts[Scope.TOPIC] == {}


async def test_rebuild_counts_afresh_what_disabled_triggers_missed(db: Database) -> None:
    await _sql(db, "ALTER TABLE post_hashtag DISABLE TRIGGER post_counts_post_hashtag_inserted")
    await write(db, [row(100, "#alpha one", group=10), row(101, f"#beta {URL}")], T0)
    await _sql(db, "ALTER TABLE post_hashtag ENABLE TRIGGER post_counts_post_hashtag_inserted")
    async with db.reading() as session:
        assert await post_counts.all_maintained(session, Scope.TOPIC) == {}
        # totalCount reads the maintained rows when unfiltered, and counts when filtered.
        assert await count_by_parent(session, Scope.TOPIC, ["alpha"], PostFilter()) == {"alpha": 0}
        kinds = PostFilter(kinds=tuple(PostKind))
        assert await count_by_parent(session, Scope.TOPIC, ["alpha"], kinds) == {"alpha": 1}
    async with db.unit_of_work() as session:
        await post_counts.rebuild(session)
    assert (await assert_counts_fresh(db))[Scope.TOPIC] == {"alpha": 1, "beta": 1}
