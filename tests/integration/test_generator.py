"""The bulk generator: what it writes must look like mirrored data to every query."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
import sqlalchemy as sa

from api.db.session import Database
from api.domain import text
from api.seed.generator import generate

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
RESOURCE_URL = "https://podcasts.example.com/engaged-managers/1"
NORMALIZED_URL = text.normalise_url(RESOURCE_URL)


async def rows(db: Database, sql: str, **params: Any) -> list[Any]:
    async with db.reading() as session:
        return list(await session.execute(sa.text(sql), params))


async def scalar(db: Database, sql: str) -> Any:
    async with db.reading() as session:
        return await session.scalar(sa.text(sql))


async def test_counts_threads_and_metrics(fresh_url: str, fresh_db: Database) -> None:
    stats = await generate(fresh_url, people=200, posts=2000, seed=3, now=NOW)

    assert stats["people"] == await scalar(fresh_db, "SELECT count(*) FROM person") == 200
    assert stats["groups"] == await scalar(fresh_db, "SELECT count(*) FROM microblog_group") == 3
    assert stats["posts"] == await scalar(fresh_db, "SELECT count(*) FROM post") == 2000
    replies = await scalar(
        fresh_db, "SELECT count(*) FROM post WHERE thread_starter_id IS NOT NULL"
    )
    assert stats["replies"] == replies == 600

    # Every reply's starter is a starter created earlier; what it answers is in its thread.
    assert (
        await scalar(
            fresh_db,
            """
        SELECT count(*) FROM post r JOIN post s ON s.id = r.thread_starter_id
        JOIN post p ON p.id = r.replied_to_id
        WHERE s.thread_starter_id IS NOT NULL OR s.created_at >= r.created_at
           OR p.created_at > r.created_at OR coalesce(p.thread_starter_id, p.id) <> s.id""",
        )
        == 0
    )
    assert (
        await scalar(
            fresh_db,
            """
        SELECT count(*) FROM post
        WHERE thread_starter_id IS NOT NULL AND replied_to_id IS NULL""",
        )
        == 0
    )
    assert (
        await scalar(
            fresh_db,
            """
        SELECT count(*) FROM post s WHERE s.thread_starter_id IS NULL
          AND s.reply_count <> (SELECT count(*) FROM post r
                                WHERE r.thread_starter_id = s.id)""",
        )
        == 0
    )
    assert await scalar(fresh_db, "SELECT max(reply_count) FROM post") > 1

    span = await rows(fresh_db, "SELECT min(created_at), max(created_at) FROM post")
    assert NOW - timedelta(days=121) < span[0][0] <= span[0][1] <= NOW

    # Each starter has one or two snapshots, the latest holding its current counts.
    assert (
        await scalar(
            fresh_db,
            """
        SELECT count(*) FROM post s WHERE s.thread_starter_id IS NULL AND (
          SELECT (m.likes, m.replies, m.shares) FROM post_metrics_snapshot m WHERE m.post_id = s.id
          ORDER BY m.observed_at DESC LIMIT 1) IS DISTINCT FROM
          (s.like_count, s.reply_count, s.share_count)""",
        )
        == 0
    )
    per_starter = await rows(
        fresh_db,
        """
        SELECT count(*) FROM post s JOIN post_metrics_snapshot m ON m.post_id = s.id
        WHERE s.thread_starter_id IS NULL GROUP BY s.id""",
    )
    assert len(per_starter) == 1400
    assert {n for (n,) in per_starter} <= {1, 2}

    # Follower history ends at today's count and never repeats a value back to back.
    history = await rows(
        fresh_db,
        """
        SELECT p.id, p.follower_count, f.followers FROM person p
        JOIN follower_snapshot f ON f.person_id = p.id ORDER BY p.id, f.observed_at""",
    )
    counts: dict[int, list[int]] = defaultdict(list)
    latest = {}
    for person_id, follower_count, followers in history:
        counts[person_id].append(followers)
        latest[person_id] = follower_count
    assert len(counts) == 200
    for person_id, values in counts.items():
        assert values[-1] == latest[person_id]
        assert all(a != b for a, b in pairwise(values))

    assert await scalar(fresh_db, "SELECT count(DISTINCT email) FROM person") == 200


async def test_hashtags_match_bodies(fresh_url: str, fresh_db: Database) -> None:
    await generate(fresh_url, people=100, posts=1000, seed=5, now=NOW)

    bodies = dict(await rows(fresh_db, "SELECT id, body FROM post"))
    stored: dict[int, set[str]] = defaultdict(set)
    for post_id, tag in await rows(fresh_db, "SELECT post_id, hashtag FROM post_hashtag"):
        stored[post_id].add(tag)
    tagged = {post_id for post_id, body in bodies.items() if text.hashtags(body)}
    assert len(tagged) > 500
    for post_id, body in bodies.items():
        assert stored.get(post_id, set()) == set(text.hashtags(body))
    # No topics in an empty database: the generic campaign hashtags are used.
    assert {"leadership", "change"} <= set().union(*stored.values())


async def test_uses_topics_resources_and_managers(fresh_url: str, fresh_db: Database) -> None:
    async with fresh_db.unit_of_work() as session:
        for sql in (
            "INSERT INTO person (id, external_id, full_name) VALUES (1, 900, 'Priya Raman')",
            "INSERT INTO campaign (id, slug, name, starts_on) VALUES (1, 'c', 'C', '2026-08-01')",
            "INSERT INTO topic (id, campaign_id, hashtag, name) VALUES (1, 1, 'führung', 'F')",
            "INSERT INTO topic_manager (topic_id, person_id, since) VALUES (1, 1, '2026-08-01')",
            f"INSERT INTO resource (kind, title, url, normalized_url, tracking_token) VALUES "
            f"('PODCAST_EPISODE', 'Ep 1', '{RESOURCE_URL}', '{NORMALIZED_URL}', 't')",
        ):
            await session.execute(sa.text(sql))
    # Identity sequences did not see the explicit ids above; the generator must not collide.
    async with fresh_db.unit_of_work() as session:
        await session.execute(sa.text("SELECT setval(pg_get_serial_sequence('person', 'id'), 1)"))

    await generate(fresh_url, people=100, posts=1000, seed=2, now=NOW)

    assert await scalar(fresh_db, "SELECT min(external_id) FROM person WHERE id <> 1") == 901
    tags = {t for (t,) in await rows(fresh_db, "SELECT DISTINCT hashtag FROM post_hashtag")}
    assert "führung" in tags
    assert not tags & {"leadership", "managing"}  # topics exist, so no generic ones

    linked = await rows(
        fresh_db,
        """
        SELECT p.body, p.kind, p.message_type FROM post_resource pr
        JOIN post p ON p.id = pr.post_id""",
    )
    assert len(linked) > 50
    for body, kind, message_type in linked:
        assert RESOURCE_URL in body  # some with utm_ parameters, which matching ignores
        # An announcement stays an announcement whatever it links to (text.classify).
        assert kind == ("ANNOUNCEMENT" if message_type == "announcement" else "RESOURCE")
    assert any("utm_source" in body for body, _, _ in linked)
    assert (
        await scalar(
            fresh_db,
            """
        SELECT count(*) FROM post WHERE kind = 'RESOURCE'
          AND id NOT IN (SELECT post_id FROM post_resource)""",
        )
        == 0
    )

    tips = await rows(fresh_db, "SELECT author_id FROM post WHERE kind = 'TIP'")
    assert tips
    assert {author for (author,) in tips} == {1}


async def test_same_seed_same_bodies_and_reruns_add(fresh_url: str, fresh_db: Database) -> None:
    async def batch(seed: int) -> list[str]:
        before = await scalar(fresh_db, "SELECT coalesce(max(external_id), 0) FROM post")
        await generate(fresh_url, people=50, posts=500, seed=seed, now=NOW)
        found = await rows(
            fresh_db,
            "SELECT body FROM post WHERE external_id > :before ORDER BY external_id",
            before=before,
        )
        return [body for (body,) in found]

    first, again, other = await batch(7), await batch(7), await batch(8)

    assert len(first) == 500
    assert first == again
    assert other != first
    assert await scalar(fresh_db, "SELECT count(*) FROM person") == 150
    assert await scalar(fresh_db, "SELECT count(*) FROM post") == 1500
    assert await scalar(fresh_db, "SELECT count(*) FROM microblog_group") == 9


async def test_failure_leaves_nothing(fresh_url: str, fresh_db: Database) -> None:
    # No people to author posts: the groups already copied must be rolled back.
    with pytest.raises(ValueError, match="authors"):
        await generate(fresh_url, people=0, posts=10, now=NOW)

    assert await scalar(fresh_db, "SELECT count(*) FROM microblog_group") == 0
    assert await scalar(fresh_db, "SELECT count(*) FROM post") == 0


async def test_the_planner_knows_the_maintained_tables_after_a_generation(
    fresh_url: str, fresh_db: Database
) -> None:
    # Without statistics (a server with autovacuum off) the planner takes the rollups for
    # empty and reads the author rollup once per topic: seconds at 300,000 posts.
    await generate(fresh_url, people=50, posts=400, seed=2, now=NOW)
    analyzed = await rows(
        fresh_db,
        "SELECT relname FROM pg_stat_user_tables"
        " WHERE last_analyze IS NOT NULL AND relname = ANY(:tables)",
        tables=[
            "rollup_day",
            "rollup_author_day",
            "rollup_author_bits",
            "hashtag_post_count",
            "group_post_count",
            "resource_post_count",
        ],
    )
    assert sorted(r.relname for r in analyzed) == [
        "group_post_count",
        "hashtag_post_count",
        "resource_post_count",
        "rollup_author_bits",
        "rollup_author_day",
        "rollup_day",
    ]
