"""The views and functions PostGraphile answers the benchmark's analytics through
(bench/peers/postgraphile.sql) give the project's figures, so its columns measure the same
work; checked in SQL on the demo plus a small generated network (no Node needed: the bench
itself checks PostGraphile's answers field by field before it loads them)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from api.db.session import asyncpg_connect_args
from api.domain.enums import Role
from api.seed.generator import generate
from bench.contract_cases import PEERS, figures
from tests.e2e.conftest import Api, operation

MEMBER = "priya.raman@example.com"
SLUG = "learning-community"


def _camel(data: Any) -> Any:
    if isinstance(data, dict):
        return {re.sub(r"_(\w)", lambda m: m[1].upper(), k): _camel(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_camel(v) for v in data]
    return data


@pytest.fixture
async def sql(demo_url: str) -> AsyncIterator[asyncpg.Connection]:
    await generate(demo_url, people=200, posts=2_000, seed=1)
    conn = await asyncpg.connect(**asyncpg_connect_args(demo_url))
    await conn.execute((PEERS / "postgraphile.sql").read_text())
    yield conn
    await conn.close()


async def _json(conn: asyncpg.Connection, query: str, *args: Any) -> Any:
    """A query's rows as the contract spells them (camelCase keys, JSON values)."""
    text = await conn.fetchval(f"SELECT coalesce(json_agg(x), '[]')::text FROM ({query}) x", *args)
    return _camel(json.loads(text))


async def test_the_peers_analytics_functions_give_the_projects_figures(
    api: Api, sql: asyncpg.Connection
) -> None:
    until = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    since = until - timedelta(days=90, hours=7)  # mid-week, mid-day: partial weeks
    span = {"slug": SLUG, "since": since.isoformat(), "until": until.isoformat()}
    dashboard = (await api.data(operation("web/CampaignDashboard.graphql"), span))["campaign"]
    mix = (await api.data(operation("web/ContentMix.graphql"), span))["campaign"]
    board = await api.data(
        operation("web/ManagerLeaderboard.graphql"), span, role=Role.MANAGER, subject=MEMBER
    )
    card = "FROM bench.campaign_card c, bench.{}(c{}) f WHERE c.slug = $1"

    async def of(function: str, *extra: Any) -> Any:
        args = ", $2, $3" if extra else ""
        return figures(await _json(sql, "SELECT f.* " + card.format(function, args), SLUG, *extra))

    performance = await of("campaign_card_performance", since, until)
    assert performance == [figures(dashboard["performance"])]
    assert dashboard["performance"]["activeAuthors"]
    assert await of("campaign_card_follower_growth", since, until) == figures(
        dashboard["followerGrowth"]
    )
    assert await of("campaign_card_goals") == figures(dashboard["goals"])
    assert await of("campaign_card_timeline", since, until) == figures(mix["timeline"])
    assert await of("campaign_card_performance_by_kind", since, until) == figures(
        mix["performanceByKind"]
    )
    assert await of("campaign_card_promotions") == figures(mix["promotions"]["nodes"])
    for topic in dashboard["topics"]["nodes"]:
        counts = await _json(
            sql,
            "SELECT f.* FROM bench.campaign_topic t, bench.campaign_topic_counts(t, $2, $3) f"
            " WHERE t.hashtag = $1",
            topic["hashtag"],
            since,
            until,
        )
        assert counts == [topic["performance"]]
        top = await _json(
            sql,
            "SELECT f.id, f.excerpt FROM bench.campaign_topic t,"
            " bench.campaign_topic_top_posts(t) f WHERE t.hashtag = $1 LIMIT 3",
            topic["hashtag"],
        )
        assert figures(top) == [
            {"id": figures(p)["id"], "excerpt": p["excerpt"]} for p in topic["topPosts"]["nodes"]
        ]
    managers = board["campaign"]["topicManagers"]
    assert managers
    performances = await _json(
        sql,
        "SELECT p.posts, p.likes, p.replies, p.active_authors FROM bench.campaign_card c,"
        " bench.campaign_card_topic_managers(c) m, bench.manager_card_performance(m, $2, $3) p"
        " WHERE c.slug = $1",
        SLUG,
        since,
        until,
    )
    assert performances == [m["performance"] for m in managers]


async def test_the_peers_search_functions_find_what_the_project_finds(
    api: Api, sql: asyncpg.Connection
) -> None:
    for text in ("leadership", "pri"):
        ours = await api.data(
            operation("mobile/Search.graphql"),
            {"text": text, "first": 10},
            role=Role.MEMBER,
            subject=MEMBER,
        )
        posts = await _json(sql, "SELECT id, excerpt FROM bench.search_posts($1) LIMIT 10", text)
        assert figures(posts) == [
            {"id": figures(p)["id"], "excerpt": p["excerpt"]} for p in ours["posts"]["nodes"]
        ]
        count = await sql.fetchval("SELECT count(*) FROM bench.search_posts($1)", text)
        assert count == ours["posts"]["totalCount"]
        people = await _json(sql, "SELECT id FROM bench.search_people($1) LIMIT 10", text)
        assert figures(people) == [{"id": figures(p)["id"]} for p in ours["people"]["nodes"]]
    assert ours["people"]["nodes"]
