"""The number of SQL statements an operation runs does not grow with the page size."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

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
async def big(pg_server: Any, demo_template: str) -> AsyncIterator[Api]:
    """The demo plus a generated network, so pages of 50 are full."""
    url = pg_server.create(template=demo_template)
    await generate(url, people=300, posts=3000, seed=7)
    async for api in _api(url):
        yield api
    pg_server.drop(url)


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
