"""The LMS integration: resource links by topic and resource performance, with an API key."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from api.auth import create_api_key
from api.db.repositories import ingest
from api.db.session import Database
from api.domain import demo_content as content
from api.domain.enums import Role
from tests.e2e.conftest import Api, operation


async def _lms_key(demo_db: Database) -> dict[str, str]:
    return {"X-API-Key": await create_api_key(demo_db, "lms", Role.LMS)}


async def test_resource_links_by_topic(api: Api, demo_db: Database) -> None:
    headers = await _lms_key(demo_db)
    data = await api.data(
        operation("lms/ResourceLinks.graphql"),
        {"hashtag": "#leadership"},
        role=None,
        headers=headers,
    )
    resources = data["resources"]
    expected = [r for r in content.RESOURCES if "leadership" in r[6]]
    assert resources["totalCount"] == len(expected)
    assert [r["title"] for r in resources["nodes"]] == [r[1] for r in expected]
    series = next(r for r in resources["nodes"] if r["kind"] == "PODCAST_SERIES")
    assert [e["title"] for e in series["episodes"]] == content.EPISODES
    assert [e["position"] for e in series["episodes"]] == [1, 2, 3, 4, 5]
    course = next(r for r in resources["nodes"] if r["kind"] == "COURSE")
    assert course["lmsCourseId"] == "MP-1042"
    assert course["provider"] == "My Portfolio"
    assert "leadership" in {t["hashtag"] for t in course["topics"]}
    assert all(r["trackedUrl"].startswith("http://campaign.test/r/") for r in resources["nodes"])


async def test_resource_links_filtered_by_kind(api: Api, demo_db: Database) -> None:
    headers = await _lms_key(demo_db)
    data = await api.data(
        operation("lms/ResourceLinks.graphql"),
        {"hashtag": "engagement", "kinds": ["COURSE"]},
        role=None,
        headers=headers,
    )
    assert [r["lmsCourseId"] for r in data["resources"]["nodes"]] == ["MP-2077"]


async def test_resource_performance(api: Api, demo_db: Database) -> None:
    headers = await _lms_key(demo_db)
    links = await api.data(
        operation("lms/ResourceLinks.graphql"),
        {"hashtag": "leadership", "kinds": ["PODCAST_EPISODE", "ARTICLE"]},
        role=None,
        headers=headers,
    )
    by_title = {r["title"]: r["id"] for r in links["resources"]["nodes"]}
    episode_one = by_title.get(content.EPISODES[0])
    ids = [by_title["In Praise of the Incomplete Leader"]] + ([episode_one] if episode_one else [])

    data = await api.data(
        operation("lms/ResourcePerformance.graphql"), {"ids": ids}, role=None, headers=headers
    )
    article = data["nodes"][0]
    clicks = {url: sum(n for u, _c, n in content.CLICKS if u == url) for url, *_ in content.CLICKS}
    assert article["clickCount"] == clicks[content.HBR]
    promoting = article["promotingPosts"]
    assert promoting["totalCount"] == sum(1 for p in content.POSTS if content.HBR in p[4])
    assert promoting["nodes"][0]["metrics"]["likes"] == 15


async def test_promoting_posts_are_thread_starters_only(api: Api, demo_db: Database) -> None:
    # A newer reply linking the article, in the starter's thread: it counts in the starter's
    # replies, never as a promoting post (contract README: replies never count in `posts`).
    async with demo_db.unit_of_work() as session:
        starter = (
            await session.execute(
                sa.text(
                    "SELECT external_id, author_id, created_at FROM post"
                    " WHERE thread_starter_id IS NULL AND body LIKE :link"
                    " ORDER BY created_at DESC LIMIT 1"
                ),
                {"link": f"%{content.HBR}%"},
            )
        ).one()
        reply = ingest.IncomingPost(
            external_id=9_000_001,
            author_id=starter.author_id,
            body=f"Worth a second read: {content.HBR}",
            created_at=starter.created_at + timedelta(days=30),
            thread_external_id=starter.external_id,
            replied_to_external_id=starter.external_id,
        )
        result = await ingest.upsert_posts(session, [reply], reply.created_at)
        reply_id = result.ids[reply.external_id]
        linked = await session.execute(
            sa.text("SELECT 1 FROM post_resource WHERE post_id = :id"), {"id": reply_id}
        )
        assert linked.first() is not None  # the reply does link the resource

    # Pages sized to the demo (5 resources, one promoting post) keep the cost under the limit.
    data = await api.data(
        "{ resources(first: 10) { nodes { url promotingPosts(first: 5) { totalCount "
        "nodes { body replies(first: 20) { nodes { body } } } } } } }"
    )
    article = next(r for r in data["resources"]["nodes"] if r["url"] == content.HBR)
    promoting = article["promotingPosts"]
    assert promoting["totalCount"] == sum(1 for p in content.POSTS if content.HBR in p[4])
    assert len(promoting["nodes"]) == promoting["totalCount"]
    assert reply.body not in [p["body"] for p in promoting["nodes"]]
    assert reply.body in [r["body"] for p in promoting["nodes"] for r in p["replies"]["nodes"]]


async def test_lms_key_cannot_read_people(api: Api, demo_db: Database) -> None:
    headers = await _lms_key(demo_db)
    body = await api.post("{ people(first: 5) { nodes { fullName } } }", role=None, headers=headers)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await api.post(
        '{ resources(first: 1, filter: {hashtag: "leadership", kinds: [ARTICLE]}) { nodes { '
        "promotingPosts(first: 1) { nodes { author { fullName email } } } } } }",
        role=None,
        headers=headers,
    )
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}


async def test_revoked_or_unknown_key_is_unauthenticated(api: Api) -> None:
    body = await api.post("{ topics { totalCount } }", role=None, headers={"X-API-Key": "cgk_nope"})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_lms_reads_no_campaign_internals_through_topics(api: Api, demo_db: Database) -> None:
    headers = await _lms_key(demo_db)
    for field in (
        "campaign { goals { metric } }",
        "posts(first: 1) { totalCount }",
        'performance(since: "2026-10-05T00:00:00Z", until: "2026-10-26T00:00:00Z") { posts }',
    ):
        body = await api.post(
            f'{{ topic(hashtag: "leadership") {{ {field} }} }}', role=None, headers=headers
        )
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", field
    # What the LMS is for still works: topics, their resources, and who clicked.
    data = await api.data(
        '{ topic(hashtag: "leadership") { name resources { title } } }', role=None, headers=headers
    )
    assert data["topic"]["resources"]


async def test_lms_refetches_only_posts_that_promote_a_resource(
    api: Api, demo_db: Database
) -> None:
    headers = await _lms_key(demo_db)
    data = await api.data(
        '{ resources(first: 1, filter: {hashtag: "leadership", kinds: [ARTICLE]}) { nodes { '
        "promotingPosts(first: 1) { nodes { id } } } } }",
        role=None,
        headers=headers,
    )
    promoting = data["resources"]["nodes"][0]["promotingPosts"]["nodes"][0]["id"]
    other = await api.data(
        '{ posts(first: 50, filter: {hashtags: ["leadership"]}) { nodes { id resources { id } } } }'
    )
    plain = next(p["id"] for p in other["posts"]["nodes"] if not p["resources"])
    refetched = await api.data(
        "query($id: ID!) { node(id: $id) { id } }", {"id": promoting}, role=None, headers=headers
    )
    assert refetched["node"]["id"] == promoting
    body = await api.post(
        "query($id: ID!) { node(id: $id) { id ... on Post { body } } }",
        {"id": plain},
        role=None,
        headers=headers,
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"]["node"] is None


async def test_lms_cannot_reach_groups_through_a_promoting_post(
    api: Api, demo_db: Database
) -> None:
    headers = await _lms_key(demo_db)
    body = await api.post(
        '{ resources(first: 1, filter: {hashtag: "leadership", kinds: [ARTICLE]}) { nodes { '
        "promotingPosts(first: 1) { nodes { group { name posts(first: 5) { nodes { body } } } } }"
        " } } }",
        role=None,
        headers=headers,
    )
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    assert "Social Media" not in str(body.get("data"))
