"""The benchmark's raw-SQL limits answer exactly as the project does, so their columns measure
the same work: on the demo plus a small generated network.  Each test runs against both: the
raw peer, counting rows per request (bench/peers/raw.py), and "raw (maintained)", reading the
maintained counts and rollups where the project does (bench/peers/raw_maintained.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from asgi_lifespan import LifespanManager

from api.domain.enums import Role
from api.seed.generator import generate
from bench.peers.raw import OPERATIONS, make_app
from bench.peers.raw_maintained import MAINTAINED_OPERATIONS
from tests.e2e.conftest import Api, operation

MEMBER = "priya.raman@example.com"


# The raw peer (False) and raw (maintained) (True): one endpoint, two sets of statements.
_OPERATIONS = {False: OPERATIONS, True: MAINTAINED_OPERATIONS}


@pytest.fixture(params=[False, True], ids=["raw", "maintained"])
async def raw(
    demo_url: str, api: Api, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    await generate(demo_url, people=200, posts=2_000, seed=1)
    app = make_app(demo_url, 2, api.settings.base_url, _OPERATIONS[request.param])
    async with (
        LifespanManager(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://raw.test"
        ) as client,
    ):
        yield client


async def _same(api: Api, raw: httpx.AsyncClient, path: str, role: Role, variables: Any) -> Any:
    name = path.split("/")[-1].removesuffix(".graphql")
    ours = await api.data(operation(path), variables, role=role, subject=MEMBER)
    response = await raw.post("/graphql", json={"operationName": name, "variables": variables})
    assert response.status_code == 200, response.text
    assert response.json()["data"] == ours

    return ours


async def test_raw_sql_answers_the_simple_operations_as_the_project_does(
    api: Api, raw: httpx.AsyncClient
) -> None:
    feed = {"hashtag": "leadership", "first": 20}
    first = await _same(api, raw, "mobile/TopicFeed.graphql", Role.MEMBER, feed)
    cursor = first["topic"]["posts"]["pageInfo"]["endCursor"]
    await _same(api, raw, "mobile/TopicFeed.graphql", Role.MEMBER, {**feed, "after": cursor})
    busiest = await api.data(
        '{ topic(hashtag: "leadership") { posts(first: 1, orderBy: {field: REPLIES}) '
        "{ nodes { id } } } }"
    )
    post_id = busiest["topic"]["posts"]["nodes"][0]["id"]
    detail = await _same(api, raw, "mobile/PostDetail.graphql", Role.MEMBER, {"id": post_id})
    assert detail["node"]["replies"]["nodes"], "a thread with replies"
    until = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    span = {"since": (until - timedelta(days=90)).isoformat(), "until": until.isoformat()}
    await _same(api, raw, "admin/People.graphql", Role.ADMIN, {"first": 20, **span})
    # The LMS role reads ResourceLinks; its answer is the same for an admin but for INTERNAL
    # resources, which the raw statement leaves out as the LMS sees them.
    links = {"hashtag": "leadership"}
    ours = await api.data(operation("lms/ResourceLinks.graphql"), links, role=Role.LMS)
    response = await raw.post(
        "/graphql", json={"operationName": "ResourceLinks", "variables": links}
    )
    assert response.json()["data"] == ours


async def test_raw_sql_answers_the_analytics_and_search_as_the_project_does(
    api: Api, raw: httpx.AsyncClient
) -> None:
    until = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    # An odd range: it starts mid-week and mid-day, so timelines cover partial weeks.
    since = until - timedelta(days=90, hours=7)
    span = {"slug": "learning-community", "since": since.isoformat(), "until": until.isoformat()}
    dashboard = await _same(api, raw, "web/CampaignDashboard.graphql", Role.ADMIN, span)
    campaign = dashboard["campaign"]
    assert campaign["performance"]["posts"]
    assert campaign["goals"]
    assert campaign["topics"]["nodes"]
    mix = await _same(api, raw, "web/ContentMix.graphql", Role.MEMBER, span)
    assert mix["campaign"]["performanceByKind"]
    assert mix["campaign"]["promotions"]["nodes"]
    board = await _same(api, raw, "web/ManagerLeaderboard.graphql", Role.MANAGER, span)
    assert board["campaign"]["topicManagers"]
    found = await _same(
        api, raw, "mobile/Search.graphql", Role.MEMBER, {"text": "leadership", "first": 10}
    )
    assert found["posts"]["nodes"]
    await _same(api, raw, "mobile/Search.graphql", Role.MEMBER, {"text": "pri", "first": 5})
    topic = await api.data('{ topic(hashtag: "leadership") { resources { id } } }')
    ids = [r["id"] for r in topic["topic"]["resources"]]
    assert ids
    variables = {"ids": ids}
    ours = await api.data(operation("lms/ResourcePerformance.graphql"), variables, role=Role.LMS)
    response = await raw.post(
        "/graphql", json={"operationName": "ResourcePerformance", "variables": variables}
    )
    assert response.json()["data"] == ours
    assert any(n and n["promotingPosts"]["nodes"] for n in ours["nodes"])


@pytest.fixture
async def both(demo_url: str, api: Api) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """The raw peer and raw (maintained) side by side on one network."""
    await generate(demo_url, people=200, posts=2_000, seed=1)
    async with AsyncExitStack() as stack:
        clients = {}
        for name, maintained in (("raw", False), ("maintained", True)):
            app = make_app(demo_url, 2, api.settings.base_url, _OPERATIONS[maintained])
            await stack.enter_async_context(LifespanManager(app))
            clients[name] = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://raw")
            )
        yield clients


async def test_raw_maintained_reads_the_rollups_and_answers_the_dashboards_over_any_range(
    api: Api, both: dict[str, httpx.AsyncClient]
) -> None:
    """Ranges the rollups split differently: partial days at both ends, no whole day at all,
    an empty range, whole days only.  Raw (maintained) reads the whole days from the rollups
    and scans the edges; its figures are still the scan's (the raw peer's) and the project's."""
    assert api.db is not None
    async with api.db.engine.connect() as conn:
        rolled = await conn.scalar(sa.text("SELECT count(*) FROM rollup_author_day"))
    assert rolled, "the network's rollups are kept, so raw (maintained) reads real rows"
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    ranges = [
        (midnight - timedelta(days=40, hours=5), midnight - timedelta(hours=9, minutes=30)),
        (midnight - timedelta(days=3, hours=20), midnight - timedelta(days=3, hours=2)),
        (midnight - timedelta(days=5), midnight - timedelta(days=5)),
        (midnight - timedelta(days=120), midnight),
    ]
    operations = [
        ("web/CampaignDashboard.graphql", Role.ADMIN),
        ("web/ContentMix.graphql", Role.MEMBER),
        ("web/ManagerLeaderboard.graphql", Role.MANAGER),
    ]
    busy = 0
    for since, until in ranges:
        span = {
            "slug": "learning-community",
            "since": since.isoformat(),
            "until": until.isoformat(),
        }
        for path, role in operations:
            name = path.split("/")[-1].removesuffix(".graphql")
            ours = await api.data(operation(path), span, role=role, subject=MEMBER)
            body = {"operationName": name, "variables": span}
            for peer, client in both.items():
                response = await client.post("/graphql", json=body)
                assert response.status_code == 200, response.text
                assert response.json()["data"] == ours, (peer, name, since, until)
            if name == "ManagerLeaderboard":
                managers = ours["campaign"]["topicManagers"]
                busy += any(m["performance"]["activeAuthors"] for m in managers)
            if name == "CampaignDashboard":
                busy += ours["campaign"]["performance"]["posts"] > 0
    assert busy >= 4, "most ranges hold posts and active authors"
