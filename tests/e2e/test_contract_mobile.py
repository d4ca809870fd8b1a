"""The mobile app's operations: topic feeds, post detail, search."""

from __future__ import annotations

import re
from typing import Any

from api.domain import demo_content as content
from api.domain.enums import Role
from tests.e2e import demo_facts as facts
from tests.e2e.conftest import Api, operation

MEMBER = {"role": Role.MEMBER, "subject": "hannah.schmidt@example.com"}


async def _feed(api: Api, hashtag: str, first: int) -> tuple[list[dict[str, Any]], int]:
    nodes: list[dict[str, Any]] = []
    after, total = None, -1
    while True:
        data = await api.data(
            operation("mobile/TopicFeed.graphql"),
            {"hashtag": hashtag, "first": first, "after": after},
            **MEMBER,
        )
        posts = data["topic"]["posts"]
        total = posts["totalCount"]
        assert len(posts["edges"]) <= first
        nodes += [edge["node"] for edge in posts["edges"]]
        if not posts["pageInfo"]["hasNextPage"]:
            return nodes, total
        assert posts["pageInfo"]["endCursor"] == posts["edges"][-1]["cursor"]
        after = posts["pageInfo"]["endCursor"]


async def test_topic_feed_pages_through_every_starter_newest_first(reader: Api) -> None:
    # '#' and case are accepted as the user typed them.
    nodes, total = await _feed(reader, "#Leadership", first=3)
    expected = facts.tagged("leadership")
    assert total == len(expected) == len(nodes)
    assert len({n["id"] for n in nodes}) == len(nodes)
    created = [n["createdAt"] for n in nodes]
    assert created == sorted(created, reverse=True)
    assert sorted(n["body"] for n in nodes) == sorted(p[4] for p in expected)
    # The deleted post carried #leadership too; replies never show as feed items.
    assert content.DELETED_POST[2] not in {n["body"] for n in nodes}
    for node in nodes:
        assert "leadership" in {t["hashtag"] for t in node["topics"]}
        assert node["author"]["fullName"]
        assert node["kind"] in {"TIP", "RESOURCE", "QUOTE", "QUESTION", "ANNOUNCEMENT", "OTHER"}


async def test_topic_feed_links_resources_with_tracked_urls(reader: Api) -> None:
    nodes, _ = await _feed(reader, "change", first=20)
    course = next(n for n in nodes if content.COURSE_CHANGE in n["body"])
    assert course["kind"] == "RESOURCE"
    # The link in the post carries ?utm_campaign=...; it still matches the course.
    assert [r["title"] for r in course["resources"]] == ["Leading Through Change"]
    assert course["resources"][0]["trackedUrl"].startswith("http://campaign.test/r/")
    quote = next(n for n in nodes if n["body"].startswith("“Only when"))
    assert quote["kind"] == "QUOTE"


async def test_unknown_topic_is_null(reader: Api) -> None:
    data = await reader.data(
        operation("mobile/TopicFeed.graphql"), {"hashtag": "nosuchtopic"}, **MEMBER
    )
    assert data["topic"] is None


async def test_post_detail_with_replies_and_metrics_history(reader: Api) -> None:
    question = next(p for p in content.POSTS if p[0] == "p5")
    feed, _ = await _feed(reader, "engagement", first=20)
    post_id = next(n["id"] for n in feed if n["body"] == question[4])

    data = await reader.data(operation("mobile/PostDetail.graphql"), {"id": post_id}, **MEMBER)
    post = data["node"]
    assert post["kind"] == "QUESTION"
    assert post["author"]["fullName"] == "Tom Becker"
    assert post["metrics"] == {"likes": question[5], "replies": len(question[6]), "shares": 0}
    replies = post["replies"]
    assert replies["totalCount"] == len(question[6])
    assert [r["body"] for r in replies["nodes"]] == [r[2] for r in question[6]]  # oldest first
    assert [r["author"]["fullName"] for r in replies["nodes"]] == [
        facts.NAMES[r[0]] for r in question[6]
    ]
    history = post["metricsHistory"]["nodes"]
    observed = [h["observedAt"] for h in history]
    assert observed == sorted(observed)
    assert history[0]["likes"] == 0
    assert (history[-1]["likes"], history[-1]["replies"]) == (question[5], len(question[6]))


async def test_post_detail_pages_replies(reader: Api) -> None:
    question = next(p for p in content.POSTS if p[0] == "p5")
    feed, _ = await _feed(reader, "engagement", first=20)
    post_id = next(n["id"] for n in feed if n["body"] == question[4])
    query = (
        "query($id: ID!, $after: String) { node(id: $id) { ... on Post { "
        "replies(first: 2, after: $after) { pageInfo { hasNextPage endCursor } nodes { body } } } } }"
    )
    first = (await reader.data(query, {"id": post_id}, **MEMBER))["node"]["replies"]
    assert first["pageInfo"]["hasNextPage"]
    rest = await reader.data(
        query, {"id": post_id, "after": first["pageInfo"]["endCursor"]}, **MEMBER
    )
    bodies = [n["body"] for n in first["nodes"] + rest["node"]["replies"]["nodes"]]
    assert bodies == [r[2] for r in question[6]]


async def test_search_posts_and_people(reader: Api) -> None:
    data = await reader.data(
        operation("mobile/Search.graphql"), {"text": "engagement", "first": 50}, **MEMBER
    )
    # Words, not links: the podcast's URL has "engaged" in it but is not a word of the post.
    matching = [p for p in content.POSTS if "engag" in re.sub(r"https?://\S+", "", p[4]).lower()]
    posts = data["posts"]
    assert posts["totalCount"] == len(matching)
    created = [n["createdAt"] for n in posts["nodes"]]
    assert created == sorted(created, reverse=True)
    # Job titles and departments are searched too: Tom is an "Employee Engagement Analyst".
    assert [p["fullName"] for p in data["people"]["nodes"]] == ["Tom Becker"]


async def test_search_leaves_out_deleted_posts_and_matches_name_prefixes(reader: Api) -> None:
    data = await reader.data(
        operation("mobile/Search.graphql"), {"text": "please ignore"}, **MEMBER
    )
    assert data["posts"]["totalCount"] == 0
    data = await reader.data(operation("mobile/Search.graphql"), {"text": "Priy"}, **MEMBER)
    assert [p["fullName"] for p in data["people"]["nodes"]] == ["Priya Raman"]


async def test_search_without_order_ranks_by_relevance(reader: Api) -> None:
    query = 'query { posts(first: 5, filter: {text: "incomplete leader"}) { nodes { body } } }'
    nodes = (await reader.data(query, role=Role.MEMBER))["posts"]["nodes"]
    assert nodes, "the HBR posts mention the incomplete leader"
    assert all("incomplete" in n["body"].lower() for n in nodes)
