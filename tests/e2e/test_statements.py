"""The number of SQL statements an operation runs does not grow with the page size, and a
request takes one pooled connection and at most one transaction (api/db/request_session.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event

from api.auth import KeyUses, create_api_key, key_uses
from api.db.session import Database
from api.domain.enums import Role
from api.seed.generator import generate
from tests.e2e import demo_facts as facts
from tests.e2e.conftest import Api, _api, operation

DEEP_POSTS = """
query Deep($first: Int!) {
  # Resource posts: every node then has resources, so both page sizes ask for the same fields.
  posts(first: $first, filter: {kinds: [RESOURCE]}) {
    totalCount
    edges { cursor node {
      id kind excerpt metrics { likes replies shares }
      author { fullName managedTopics { topic { hashtag } } }
      group { name }
      topics { hashtag managers { person { fullName } } }
      hashtags
      resources { title trackedUrl clickCount topics { hashtag } episodes { title } }
      replies(first: 3) { totalCount nodes { body author { fullName } } }
      metricsHistory(first: 5) { totalCount nodes { likes } }
    } }
  }
}
"""

# (name, document, variables without `first`)
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("TopicFeed", operation("mobile/TopicFeed.graphql"), {"hashtag": "leadership"}),
    ("Search", operation("mobile/Search.graphql"), {"text": "leadership"}),
    ("People", operation("admin/People.graphql"), facts.RANGE),
    ("Deep posts", DEEP_POSTS, {}),
]


@pytest.fixture(scope="module")
async def big_url(pg_server: Any, demo_template: str) -> AsyncIterator[str]:
    """The demo plus a generated network, so pages of 50 are full."""
    url = pg_server.create(template=demo_template)
    await generate(url, people=300, posts=3000, seed=7)
    yield url
    pg_server.drop(url)


@pytest.fixture(scope="module")
async def big(big_url: str) -> AsyncIterator[Api]:
    async for api in _api(big_url):
        yield api


@pytest.fixture(scope="module")
async def uncached(big_url: str) -> AsyncIterator[Api]:
    """The app without its response cache: repeated requests execute, as they are counted."""
    async for api in _api(big_url, response_cache_bytes=0):
        yield api


@pytest.fixture(scope="module")
async def lms_key(big_url: str) -> str:
    db = Database.connect(big_url, pool_size=1)
    try:
        return await create_api_key(db, "statements", Role.LMS)
    finally:
        await db.dispose()


async def _count(api: Api, document: str, variables: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    api.statements.clear()
    data = await api.data(document, variables, role=Role.ADMIN)
    return len(api.statements), data


def _sizes(data: Any) -> list[int]:
    """Lengths of every list in a response, to show the pages really were full."""
    if isinstance(data, dict):
        return [n for value in data.values() for n in _sizes(value)]
    if isinstance(data, list):
        return [len(data), *(n for item in data for n in _sizes(item))]
    return []


@pytest.mark.parametrize(("name", "document", "variables"), CASES, ids=[c[0] for c in CASES])
async def test_statements_do_not_grow_with_page_size(
    big: Api, name: str, document: str, variables: dict[str, Any]
) -> None:
    small, small_data = await _count(big, document, {**variables, "first": 5})
    large, large_data = await _count(big, document, {**variables, "first": 50})
    assert max(_sizes(large_data)) == 50, f"{name}: the large page was not full"
    assert max(_sizes(small_data)) == 5
    if name == "Deep posts":
        # Loads of one kind reached by several paths (a post's author, a reply's author, a
        # manager) share a batch only when they arrive in the same loop tick, which depends on
        # when earlier batches return; so allow that jitter, and check 100 too: no growth.
        largest, _ = await _count(big, document, {**variables, "first": 100})
        assert max(small, large, largest) - min(small, large, largest) <= 2, (small, large, largest)
        assert largest <= 25
    else:
        assert small == large, f"{name}: {small} statements for 5 items, {large} for 50"


async def test_dashboard_statements_are_bounded(big: Api) -> None:
    count, _ = await _count(
        big, operation("web/CampaignDashboard.graphql"), {"slug": facts.SLUG, **facts.RANGE}
    )
    # One per field shape, whatever the number of topics, managers and posts.
    assert count <= 20


@dataclass
class Traffic:
    statements: int = 0
    checkouts: int = 0
    # Transactions begun on the wire (autocommit statements begin none).
    transactions: int = 0


@contextmanager
def watched(db: Database) -> Iterator[Traffic]:
    """Count what the app's engine sends and checks out while the block runs."""
    seen = Traffic()
    engine = db.engine.sync_engine

    def statement(*args: Any) -> None:
        seen.statements += 1

    def checkout(*args: Any) -> None:
        seen.checkouts += 1

    def begin(conn: Any) -> None:
        if not conn.connection.dbapi_connection.autocommit:
            seen.transactions += 1

    listeners = [
        (engine, "before_cursor_execute", statement),
        (engine.pool, "checkout", checkout),
        (engine, "begin", begin),
    ]
    for target, name, fn in listeners:
        event.listen(target, name, fn)
    try:
        yield seen
    finally:
        for target, name, fn in listeners:
            event.remove(target, name, fn)


async def _contract_case(api: Api, name: str, lms_key: str) -> tuple[str, dict[str, Any], dict]:
    """The contract operation ``name``: its document (page sizes as ``$first``), variables
    and headers (the LMS sends its API key, whose look-up is then part of the request)."""
    member = {"Authorization": f"Bearer {api.token(Role.MEMBER, 'priya.raman@example.com')}"}
    if name == "TopicFeed":
        return operation("mobile/TopicFeed.graphql"), {"hashtag": "leadership"}, member
    if name == "ResourceLinks":
        document = operation("lms/ResourceLinks.graphql").replace(
            "ResourceLinks($hashtag", "ResourceLinks($first: Int!, $hashtag"
        )
        document = document.replace("first: 50", "first: $first")
        return document, {"hashtag": "leadership"}, {"X-API-Key": lms_key}
    # PostDetail, on the leadership post with the most replies.
    found = await api.data(
        '{ topic(hashtag: "leadership") { posts(first: 1, orderBy: {field: REPLIES}) '
        "{ nodes { id } } } }"
    )
    post_id = found["topic"]["posts"]["nodes"][0]["id"]
    document = operation("mobile/PostDetail.graphql").replace(
        "PostDetail($id", "PostDetail($first: Int!, $id"
    )
    return document.replace("first: 50", "first: $first"), {"id": post_id}, member


@pytest.mark.parametrize("name", ["TopicFeed", "PostDetail", "ResourceLinks"])
async def test_a_compiled_request_takes_one_connection_and_no_transaction(
    uncached: Api, lms_key: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What PostGraphile is compared on: a contract request's statements do not grow with its
    pages, and it checks one connection out of the pool and begins no transaction: these
    operations are answered by a compiled plan, one statement that needs no BEGIN/ROLLBACK
    around it (``single_read``, or ``value_alone`` on the HTTP fast path)."""
    assert uncached.db is not None
    # The first use of an API key is recorded in the background; keep later ones out.
    monkeypatch.setattr(KeyUses, "INTERVAL_SECONDS", 1e9)
    document, variables, headers = await _contract_case(uncached, name, lms_key)
    await uncached.post(document, {**variables, "first": 5}, role=None, headers=headers)  # warm up
    await key_uses(uncached.db).drain()
    counts = {}
    for first in (5, 50):
        with watched(uncached.db) as seen:
            body = await uncached.post(
                document, {**variables, "first": first}, role=None, headers=headers
            )
        assert "errors" not in body, body["errors"]
        assert seen.checkouts == 1, f"{name}, first {first}: {seen.checkouts} checkouts"
        assert seen.transactions == 0, f"{name}, first {first}: {seen.transactions} BEGINs"
        counts[first] = seen.statements
        if first == 50 and name != "ResourceLinks":  # the demo tags three resources, no more
            assert max(_sizes(body["data"])) > 5, f"{name}: the large page held 5 or fewer"
    assert counts[5] == counts[50], f"{name}: {counts[5]} statements for 5, {counts[50]} for 50"
    # The budget's draw (for an API key, with the key's check: one statement), then the plan.
    assert counts[5] == 2, f"{name}: {counts[5]} statements"
