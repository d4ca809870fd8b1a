"""Analytics from the daily rollups equal the scans of the posts, for any range, after any write.

A generated network over the demo campaign (its posts carry the campaign's hashtags, and one
generated group is tracked), ranges drawn by hypothesis with whole-day and arbitrary bounds;
after writes of every kind the trigger-maintained rollups equal a fresh recomputation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from api.analytics import performance, rollups
from api.db.repositories.scopes import Scope
from api.db.session import Database
from api.domain.periods import Interval, periods
from api.seed.generator import generate
from tests import dbs
from tests.conftest import DEMO_ANCHOR
from tests.dbs import in_thread

START = datetime(DEMO_ANCHOR.year, DEMO_ANCHOR.month, DEMO_ANCHOR.day, tzinfo=UTC)
NOW = START + timedelta(days=30, hours=7)
# The generated history runs ~120 days back from NOW; ranges reach a little past both ends.
EARLIEST = NOW - timedelta(days=130)


async def _network(url: str) -> None:
    await generate(url, people=120, posts=1500, seed=7, now=NOW)
    db = Database.connect(url, pool_size=1)
    try:
        async with db.unit_of_work() as session:
            # A tracked group: campaign membership by group as well as by hashtag.
            await session.execute(
                sa.text(
                    "INSERT INTO campaign_group (campaign_id, group_id) "
                    "SELECT (SELECT min(id) FROM campaign), min(id) FROM microblog_group "
                    "WHERE id NOT IN (SELECT group_id FROM campaign_group)"
                )
            )
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def network_template(pg_server: dbs.TestServer, demo_template: str) -> Iterator[str]:
    url = pg_server.create(template=demo_template)
    in_thread(_network(url))
    yield make_url(url).database or ""
    pg_server.drop(url)


@pytest.fixture
def network_url(pg_server: dbs.TestServer, network_template: str) -> Iterator[str]:
    url = pg_server.create(template=network_template)
    yield url
    pg_server.drop(url)


async def _keys(db: Database) -> dict[Scope, list[Any]]:
    async with db.reading() as session:
        campaigns = list(await session.scalars(sa.text("SELECT id FROM campaign ORDER BY id")))
        hashtags = list(await session.scalars(sa.text("SELECT hashtag FROM topic ORDER BY 1")))
    return {Scope.CAMPAIGN: campaigns, Scope.TOPIC: hashtags}


async def _differences(
    db: Database, since: datetime, until: datetime, interval: Interval | None
) -> list[Any]:
    """Where the rollup-backed answers differ from the scans (empty when they agree)."""
    out: list[Any] = []
    keys = await _keys(db)
    async with db.reading() as session:
        for scope, scope_keys in keys.items():
            for authors in (True, False):
                got = await rollups.totals(
                    session, scope, scope_keys, since, until, interval, authors
                )
                want = await performance.scan_totals(
                    session, scope, scope_keys, since, until, interval, authors
                )
                if got != want:
                    out.append((scope, since, until, interval, authors, got, want))
            got_kind = await rollups.totals_by_kind(session, scope, scope_keys, since, until)
            want_kind = await performance.scan_totals_by_kind(
                session, scope, scope_keys, since, until
            )
            if got_kind != want_kind:
                out.append((scope, since, until, "by kind", got_kind, want_kind))
    return out


async def _check_ranges(url: str, ranges: list[tuple[datetime, datetime, Interval | None]]) -> None:
    db = Database.connect(url, pool_size=1)
    try:
        problems = []
        for since, until, interval in ranges:
            problems += await _differences(db, since, until, interval)
        assert not problems, problems[:3]
    finally:
        await db.dispose()


minutes = st.integers(min_value=0, max_value=(NOW - EARLIEST).days * 24 * 60 + 10 * 24 * 60)
aligned_days = st.integers(min_value=0, max_value=(NOW - EARLIEST).days + 10).map(
    lambda d: d * 24 * 60
)
instants = st.one_of(minutes, aligned_days).map(lambda m: EARLIEST + timedelta(minutes=m))
lengths = st.one_of(
    st.integers(min_value=0, max_value=3 * 24 * 60),  # under a day, a few days
    st.integers(min_value=0, max_value=70).map(lambda d: d * 24 * 60),  # whole days
    st.integers(min_value=0, max_value=70 * 24 * 60),
).map(lambda m: timedelta(minutes=m))
intervals = st.sampled_from([None, None, Interval.DAY, Interval.WEEK, Interval.MONTH])


@st.composite
def ranges(draw: st.DrawFn) -> tuple[datetime, datetime, Interval | None]:
    since = draw(instants)
    until = since + draw(lengths)
    interval = draw(intervals)
    if interval is not None and draw(st.booleans()):
        # As a timeline asks: whole periods.
        spans = periods(since, until, interval)
        if spans:
            since, until = spans[0][1], spans[-1][2]
    return since, until, interval


def test_rollups_answer_as_the_scans_do(network_url: str) -> None:
    drawn: list[tuple[datetime, datetime, Interval | None]] = []

    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(ranges())
    def collect(r: tuple[datetime, datetime, Interval | None]) -> None:
        drawn.append(r)

    collect()
    fixed = [
        # The demo's dashboard range, the goals' open-ended one, a range inside one day.
        (START, START + timedelta(weeks=3), None),
        (START, datetime(9999, 1, 1, tzinfo=UTC), None),
        (START + timedelta(hours=3), START + timedelta(hours=20), None),
        (START + timedelta(hours=3), START + timedelta(days=20, hours=5), Interval.WEEK),
    ]
    in_thread(_check_ranges(network_url, fixed + drawn))


# One statement of every kind of write the rollups follow.
WRITES = {
    "new starters and replies (the mirror's write path)": None,  # generate() below
    "likes and replies change": (
        "UPDATE post SET like_count = like_count + 3, reply_count = reply_count + 1 "
        "WHERE thread_starter_id IS NULL AND id % 7 = 0"
    ),
    "kind reclassified": (
        "UPDATE post SET kind = 'TIP', kind_set_by_hand = true WHERE id % 11 = 0 AND kind <> 'TIP'"
    ),
    "starters deleted": (
        "UPDATE post SET deleted_at = created_at + interval '1 hour' "
        "WHERE thread_starter_id IS NULL AND id % 5 = 1"
    ),
    "replies deleted": (
        "UPDATE post SET deleted_at = created_at + interval '1 hour' "
        "WHERE thread_starter_id IS NOT NULL AND id % 4 = 1"
    ),
    "starters and their replies deleted in one statement": (
        "UPDATE post SET deleted_at = now() WHERE coalesce(thread_starter_id, id) % 9 = 2"
    ),
    "restored": "UPDATE post SET deleted_at = NULL WHERE id % 2 = 1",
    "starter and reply moved in time together": (
        "UPDATE post SET created_at = created_at + interval '26 hours' "
        "WHERE coalesce(thread_starter_id, id) % 13 = 3"
    ),
    "moved to another group": (
        "UPDATE post SET group_id = (SELECT min(group_id) FROM campaign_group) "
        "WHERE thread_starter_id IS NULL AND id % 6 = 4"
    ),
    "hashtags removed": (
        "DELETE FROM post_hashtag WHERE post_id % 3 = 0 AND hashtag IN (SELECT hashtag FROM topic)"
    ),
    "hashtags added": (
        "INSERT INTO post_hashtag (post_id, hashtag) "
        "SELECT p.id, t.hashtag FROM post p CROSS JOIN topic t "
        "WHERE p.id % 8 = 5 ON CONFLICT DO NOTHING"
    ),
    "a new topic on a hashtag in use": (
        "INSERT INTO topic (campaign_id, hashtag, name) "
        "SELECT min(c.id), h.hashtag, 'New' FROM campaign c, "
        "(SELECT hashtag FROM post_hashtag WHERE hashtag NOT IN (SELECT hashtag FROM topic) "
        " GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1) h GROUP BY h.hashtag"
    ),
    "a group no longer tracked": (
        "DELETE FROM campaign_group WHERE group_id = (SELECT min(group_id) FROM campaign_group)"
    ),
    "a topic removed": "DELETE FROM topic WHERE id = (SELECT max(id) FROM topic)",
    "posts deleted for good": (
        "DELETE FROM post WHERE id IN (SELECT id FROM post WHERE thread_starter_id IS NULL "
        "ORDER BY id DESC LIMIT 20)"
    ),
}

# Compares the maintained rollups with a recomputation from scratch, then rolls it back.
_FRESH = [
    "CREATE TEMP TABLE kept_day AS SELECT * FROM rollup_day "
    "WHERE posts <> 0 OR likes <> 0 OR replies <> 0",
    "CREATE TEMP TABLE kept_author AS SELECT * FROM rollup_author_day WHERE n <> 0",
    "CREATE TEMP TABLE zero_author AS SELECT * FROM rollup_author_day WHERE n = 0",
    "CREATE TEMP TABLE kept_bits AS SELECT * FROM rollup_author_bits",
    "TRUNCATE rollup_day, rollup_author_day",
    "SELECT rollup_rebuild(ARRAY(SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date "
    "FROM post), NULL, NULL)",
]
_DIFF = """
SELECT (SELECT count(*) FROM ((TABLE kept_day EXCEPT TABLE rollup_day)
                              UNION ALL (TABLE rollup_day EXCEPT TABLE kept_day)) d),
       (SELECT count(*) FROM ((TABLE kept_author EXCEPT TABLE rollup_author_day)
                              UNION ALL (TABLE rollup_author_day EXCEPT TABLE kept_author)) a),
       (SELECT count(*) FROM rollup_day), (SELECT count(*) FROM zero_author),
       (SELECT count(*) FROM ((TABLE kept_bits EXCEPT TABLE fresh_bits)
                              UNION ALL (TABLE fresh_bits EXCEPT TABLE kept_bits)) b),
       (SELECT count(*) FROM ((TABLE rollup_author_bits EXCEPT TABLE fresh_bits)
                              UNION ALL (TABLE fresh_bits EXCEPT TABLE rollup_author_bits)) r)
"""
# The author bitmaps (migration c7w2) as they follow from the author rows, bit by bit.
_FRESH_BITS = """
CREATE TEMP TABLE fresh_bits AS
SELECT a.scope, a.key, a.day, a.other_day, a.chunk,
       string_agg(CASE WHEN i = ANY(a.positions) THEN '1' ELSE '0' END, '' ORDER BY i)::bit(4096)
         AS bits
FROM (SELECT scope, key, day, other_day, author_id / 4096 AS chunk,
             array_agg(author_id % 4096) AS positions
      FROM rollup_author_day GROUP BY 1, 2, 3, 4, 5) a, generate_series(0, 4095) i
GROUP BY 1, 2, 3, 4, 5
"""


async def _stale_rows(db: Database) -> tuple[int, int, int, int]:
    """Rows of rollup_day and rollup_author_day (and bitmaps of rollup_author_bits, kept or
    rebuilt) that differ from a recomputation, the day rows, the author rows down to 0."""
    async with db.sessions() as session, session.begin():
        for statement in [*_FRESH, _FRESH_BITS]:
            await session.execute(sa.text(statement))
        day, author, n_day, zeros, bits, rebuilt_bits = (
            await session.execute(sa.text(_DIFF))
        ).one()
        await session.rollback()
    return day, author + bits + rebuilt_bits, n_day, zeros


async def _writes_keep_rollups_fresh(url: str) -> None:
    db = Database.connect(url, pool_size=1)
    try:
        assert (await _stale_rows(db))[:2] == (0, 0)
        for name, statement in WRITES.items():
            if statement is None:
                await db.dispose()
                await generate(url, people=10, posts=300, seed=8, now=NOW + timedelta(days=2))
                db = Database.connect(url, pool_size=1)
            else:
                async with db.unit_of_work() as session:
                    await session.execute(sa.text(statement))
            day, author, n_day, zeros = await _stale_rows(db)
            assert (day, author) == (0, 0), name
            assert n_day > 0, name
            assert zeros == 0, name  # no author row down to 0 is kept
            problems = []
            for since, until, interval in [
                (START, START + timedelta(weeks=3), None),
                (START - timedelta(days=40, hours=5), NOW + timedelta(hours=9), None),
                (START - timedelta(weeks=8), START + timedelta(weeks=4), Interval.WEEK),
            ]:
                problems += await _differences(db, since, until, interval)
            assert not problems, (name, problems[:2])
    finally:
        await db.dispose()


def test_every_write_keeps_the_rollups_fresh(network_url: str) -> None:
    in_thread(_writes_keep_rollups_fresh(network_url))


async def _concurrent_writers(url: str) -> None:
    # Eight transactions at once, each changing its own posts (likes, deletions, restores,
    # hashtags), all of them in the same days and scopes, starters and their replies in
    # different ones: the triggers' upserts take the rollup rows in key order, so they queue
    # rather than deadlock, and no transaction's delta is lost or computed from a stale pair.
    db = Database.connect(url, pool_size=8)

    async def write(i: int) -> None:
        async with db.unit_of_work() as session:
            if i == 7:  # starters leave topics while their replies change elsewhere
                await session.execute(sa.text("DELETE FROM post_hashtag WHERE post_id % 8 = 7"))
                return
            await session.execute(
                sa.text(
                    "UPDATE post SET like_count = like_count + :i + 1, "
                    "deleted_at = CASE WHEN id % 3 = 0 THEN now() END "
                    "WHERE id % 8 = :i"
                ),
                {"i": i},
            )

    try:
        await asyncio.gather(*(write(i) for i in range(8)))
        assert (await _stale_rows(db))[:2] == (0, 0)
    finally:
        await db.dispose()


def test_concurrent_writers(network_url: str) -> None:
    in_thread(_concurrent_writers(network_url))


async def _bitmaps_follow_author_rows(url: str) -> None:
    # Written straight to rollup_author_day, as r8a1's functions write it: new rows (one in a
    # chunk of ids far from the others), rows deleted (a bitmap left empty goes), a key
    # updated (the bitmaps are rebuilt) and a truncate.
    db = Database.connect(url, pool_size=1)
    statements = [
        "INSERT INTO rollup_author_day (scope, key, day, other_day, author_id, n) "
        "SELECT scope, key, day, other_day, 4096 * 1000 + 4094, 1 FROM rollup_author_day "
        "WHERE author_id % 5 = 0 ON CONFLICT DO NOTHING",
        "DELETE FROM rollup_author_day WHERE author_id % 3 = 1",
        "DELETE FROM rollup_author_day WHERE author_id = 4096 * 1000 + 4094 AND day < ("
        "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY day) FROM rollup_author_day)",
        "UPDATE rollup_author_day SET author_id = author_id + 4096 * 7 WHERE author_id % 7 = 2",
    ]
    try:
        for statement in statements:
            async with db.unit_of_work() as session:
                await session.execute(sa.text(statement))
            assert (await _stale_bits(db)) == 0, statement
        async with db.reading() as session:
            far = await session.scalar(
                sa.text("SELECT count(*) FROM rollup_author_bits WHERE chunk = 1000")
            )
        assert (far or 0) > 0
        async with db.unit_of_work() as session:
            await session.execute(sa.text("TRUNCATE rollup_author_day"))
        async with db.reading() as session:
            assert await session.scalar(sa.text("SELECT count(*) FROM rollup_author_bits")) == 0
    finally:
        await db.dispose()


async def _stale_bits(db: Database) -> int:
    """Bitmaps of rollup_author_bits that differ from those its author rows give."""
    async with db.sessions() as session, session.begin():
        await session.execute(sa.text(_FRESH_BITS))
        stale = await session.scalar(
            sa.text(
                "SELECT count(*) FROM ((TABLE rollup_author_bits EXCEPT TABLE fresh_bits) "
                "UNION ALL (TABLE fresh_bits EXCEPT TABLE rollup_author_bits)) r"
            )
        )
        await session.rollback()
    return int(stale or 0)


def test_author_bitmaps_follow_their_rows(network_url: str) -> None:
    in_thread(_bitmaps_follow_author_rows(network_url))
