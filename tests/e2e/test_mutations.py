"""Bad input to every mutation gives userErrors with a code, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from api.db.session import Database
from api.domain.enums import Role
from schema.types.node import encode_id
from tests.e2e.conftest import Api, operation

SETUP = operation("admin/SetUpCampaign.graphql")
CAMPAIGN = encode_id("Campaign", 1)
TOPIC = encode_id("Topic", 1)
PERSON = encode_id("Person", 6)
UNKNOWN_CAMPAIGN = encode_id("Campaign", 999)
TABLES = [
    "campaign",
    "topic",
    "topic_manager",
    "campaign_group",
    "resource",
    "resource_topic",
    "campaign_goal",
    "promotion",
    "promotion_topic",
]

# (operation, input, field at fault, code)
BAD_INPUT: list[tuple[str, dict[str, Any], str | None, str]] = [
    (
        "CreateCampaign",
        {"slug": "Two Words", "name": "x", "startsOn": "2027-01-01"},
        "slug",
        "INVALID",
    ),
    (
        "CreateCampaign",
        {"slug": "learning-community", "name": "Again", "startsOn": "2027-01-01"},
        "slug",
        "DUPLICATE",
    ),
    ("CreateCampaign", {"slug": "ok", "name": "  ", "startsOn": "2027-01-01"}, "name", "INVALID"),
    (
        "CreateCampaign",
        {"slug": "ok", "name": "x", "startsOn": "2027-01-01", "endsOn": "2026-01-01"},
        "endsOn",
        "INVALID",
    ),
    (
        "CreateCampaign",
        {"slug": "ok", "name": "x", "startsOn": "2027-01-01", "ownerId": encode_id("Person", 999)},
        "ownerId",
        "NOT_FOUND",
    ),
    (
        "CreateCampaign",
        {"slug": "ok", "name": "x", "startsOn": "2027-01-01", "ownerId": "not-an-id"},
        "ownerId",
        "INVALID",
    ),
    (
        "CreateTopic",
        {"campaignId": CAMPAIGN, "hashtag": "#Leadership", "name": "Again"},
        "hashtag",
        "DUPLICATE",
    ),
    (
        "CreateTopic",
        {"campaignId": CAMPAIGN, "hashtag": "two words", "name": "x"},
        "hashtag",
        "INVALID",
    ),
    ("CreateTopic", {"campaignId": CAMPAIGN, "hashtag": "a#b", "name": "x"}, "hashtag", "INVALID"),
    ("CreateTopic", {"campaignId": CAMPAIGN, "hashtag": "#", "name": "x"}, "hashtag", "INVALID"),
    (
        "CreateTopic",
        {"campaignId": UNKNOWN_CAMPAIGN, "hashtag": "fresh", "name": "x"},
        "campaignId",
        "NOT_FOUND",
    ),
    (
        "CreateTopic",
        {"campaignId": TOPIC, "hashtag": "fresh", "name": "x"},
        "campaignId",
        "INVALID",
    ),
    (
        "AssignTopicManager",
        {"topicId": encode_id("Topic", 999), "personId": PERSON},
        "topicId",
        "NOT_FOUND",
    ),
    (
        "AssignTopicManager",
        {"topicId": TOPIC, "personId": encode_id("Person", 999)},
        "personId",
        "NOT_FOUND",
    ),
    ("AssignTopicManager", {"topicId": TOPIC, "personId": TOPIC}, "personId", "INVALID"),
    (
        "TrackGroup",
        {"campaignId": CAMPAIGN, "groupId": encode_id("Group", 999)},
        "groupId",
        "NOT_FOUND",
    ),
    (
        "TrackGroup",
        {"campaignId": UNKNOWN_CAMPAIGN, "groupId": encode_id("Group", 3)},
        "campaignId",
        "NOT_FOUND",
    ),
    ("AddResource", {"kind": "LINK", "title": "x", "url": "not a url"}, "url", "INVALID"),
    (
        "AddResource",
        {"kind": "LINK", "title": "x", "url": "ftp://files.example.com/a"},
        "url",
        "INVALID",
    ),
    (
        "AddResource",
        {
            "kind": "ARTICLE",
            "title": "Same article",
            "url": "http://HBR.org/2007/02/in-praise-of-the-incomplete-leader/?utm_source=x",
        },
        "url",
        "DUPLICATE",
    ),
    (
        "AddResource",
        {"kind": "LINK", "title": "x", "url": "https://a.example.com", "position": 0},
        "position",
        "INVALID",
    ),
    (
        "AddResource",
        {
            "kind": "PODCAST_EPISODE",
            "title": "x",
            "url": "https://a.example.com",
            "seriesId": encode_id("Resource", 2),
        },
        "seriesId",
        "NOT_FOUND",
    ),
    (
        "AddResource",
        {
            "kind": "LINK",
            "title": "x",
            "url": "https://a.example.com",
            "topicIds": [TOPIC, encode_id("Topic", 999)],
        },
        "topicIds",
        "NOT_FOUND",
    ),
    (
        "SetCampaignGoal",
        {"campaignId": CAMPAIGN, "metric": "LIKES", "target": -5},
        "target",
        "INVALID",
    ),
    (
        "SetCampaignGoal",
        {"campaignId": CAMPAIGN, "metric": "LIKES", "target": 0},
        "target",
        "INVALID",
    ),
    (
        "SetCampaignGoal",
        {"campaignId": UNKNOWN_CAMPAIGN, "metric": "LIKES", "target": 5},
        "campaignId",
        "NOT_FOUND",
    ),
    (
        "RecordPromotion",
        {
            "campaignId": CAMPAIGN,
            "kind": "OTHER",
            "title": "x",
            "heldOn": "2026-10-10",
            "audienceSize": -1,
        },
        "audienceSize",
        "INVALID",
    ),
    (
        "RecordPromotion",
        {"campaignId": CAMPAIGN, "kind": "OTHER", "title": "", "heldOn": "2026-10-10"},
        "title",
        "INVALID",
    ),
    (
        "RecordPromotion",
        {
            "campaignId": CAMPAIGN,
            "kind": "OTHER",
            "title": "x",
            "heldOn": "2026-10-10",
            "topicIds": ["bogus"],
        },
        "topicIds",
        "INVALID",
    ),
    ("ClassifyPost", {"postId": encode_id("Post", 9999), "kind": "TIP"}, "postId", "NOT_FOUND"),
    ("ClassifyPost", {"postId": "%%%", "kind": "TIP"}, "postId", "INVALID"),
]


async def _counts(db: Database) -> dict[str, int]:
    async with db.reading() as session:
        return {
            t: (await session.execute(sa.text(f"SELECT count(*) FROM {t}"))).scalar_one()
            for t in TABLES
        }


@pytest.mark.parametrize(("name", "input", "field", "code"), BAD_INPUT)
async def test_bad_input_gives_user_errors_and_writes_nothing(
    api: Api, demo_db: Database, name: str, input: dict[str, Any], field: str | None, code: str
) -> None:
    before = await _counts(demo_db)
    data = await api.data(SETUP, {"input": input}, operation_name=name)
    payload = next(iter(data.values()))
    errors = payload["userErrors"]
    assert errors, payload
    assert (errors[0]["field"], errors[0]["code"]) == (["input", field], code)
    assert errors[0]["message"]
    assert all(value is None for key, value in payload.items() if key != "userErrors")
    assert await _counts(demo_db) == before


async def test_hashtags_are_normalised_the_same_way_everywhere(api: Api) -> None:
    data = await api.data(
        SETUP,
        {"input": {"campaignId": CAMPAIGN, "hashtag": "  #Führung ", "name": "Führung"}},
        operation_name="CreateTopic",
    )
    assert data["createTopic"]["topic"]["hashtag"] == "führung"
    for spelling in ("führung", "#FÜHRUNG", " #Führung"):
        found = await api.data(
            "query($h: String!) { topic(hashtag: $h) { name } }", {"h": spelling}
        )
        assert found["topic"] == {"name": "Führung"}
    body = await api.post('{ topic(hashtag: "two words") { name } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_classification_by_hand_sticks(api: Api, demo_db: Database) -> None:
    from datetime import UTC, datetime

    from api.db.repositories import ingest

    feed = await api.data(
        '{ topic(hashtag: "managing") { posts(first: 1) { nodes { id kind body } } } }'
    )
    post = feed["topic"]["posts"]["nodes"][0]
    data = await api.data(
        SETUP, {"input": {"postId": post["id"], "kind": "QUOTE"}}, operation_name="ClassifyPost"
    )
    assert data["classifyPost"]["post"]["kind"] == "QUOTE"
    # The mirror sees the post again (an edit, a new like): the hand-set kind stays.
    async with demo_db.unit_of_work() as session:
        row = (
            await session.execute(
                sa.text("SELECT external_id, author_id, created_at FROM post WHERE body = :b"),
                {"b": post["body"]},
            )
        ).one()
        await ingest.upsert_posts(
            session,
            [
                ingest.IncomingPost(
                    external_id=row.external_id,
                    author_id=row.author_id,
                    body=post["body"] + " (edited)",
                    created_at=row.created_at,
                    like_count=99,
                )
            ],
            observed_at=datetime.now(UTC),
        )
    again = await api.data(
        "query($id: ID!) { node(id: $id) { ... on Post { kind metrics { likes } } } }",
        {"id": post["id"]},
    )
    assert again["node"] == {"kind": "QUOTE", "metrics": {"likes": 99}}


async def test_members_cannot_mutate(api: Api, demo_db: Database) -> None:
    before = await _counts(demo_db)
    body = await api.post(
        SETUP,
        {"input": {"slug": "x", "name": "x", "startsOn": "2027-01-01"}},
        operation_name="CreateCampaign",
        role=Role.MEMBER,
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await _counts(demo_db) == before


async def test_managers_add_resources_only_to_their_topics(api: Api) -> None:
    marcus = {"role": Role.MANAGER, "subject": "marcus.oyelaran@example.com"}
    managing = (await api.data('{ topic(hashtag: "managing") { id } }'))["topic"]["id"]
    change = (await api.data('{ topic(hashtag: "change") { id } }'))["topic"]["id"]
    ok = await api.data(
        SETUP,
        {
            "input": {
                "kind": "VIDEO",
                "title": "Feedback in five minutes",
                "url": "https://video.example.com/f5",
                "topicIds": [managing],
            }
        },
        operation_name="AddResource",
        **marcus,
    )
    assert ok["addResource"]["userErrors"] == []
    refused = await api.data(
        SETUP,
        {
            "input": {
                "kind": "VIDEO",
                "title": "Not mine",
                "url": "https://video.example.com/nm",
                "topicIds": [change],
            }
        },
        operation_name="AddResource",
        **marcus,
    )
    assert refused["addResource"]["userErrors"][0]["code"] == "FORBIDDEN"
    # Creating campaigns is for admins.
    body = await api.post(
        SETUP,
        {"input": {"slug": "x", "name": "x", "startsOn": "2027-01-01"}},
        operation_name="CreateCampaign",
        **marcus,
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_managers_classify_only_posts_on_their_topics(api: Api) -> None:
    elena = {"role": Role.MANAGER, "subject": "elena.sokolova@example.com"}
    feed = await api.data(
        '{ change: topic(hashtag: "change") { posts(first: 1) { nodes { id } } }'
        ' managing: topic(hashtag: "managing") { posts(first: 20) { nodes { id topics { hashtag } } } } }'
    )
    own = feed["change"]["posts"]["nodes"][0]["id"]
    other = next(
        p["id"]
        for p in feed["managing"]["posts"]["nodes"]
        if "change" not in {t["hashtag"] for t in p["topics"]}
    )
    ok = await api.data(
        SETUP, {"input": {"postId": own, "kind": "TIP"}}, operation_name="ClassifyPost", **elena
    )
    assert ok["classifyPost"]["userErrors"] == []
    refused = await api.data(
        SETUP, {"input": {"postId": other, "kind": "TIP"}}, operation_name="ClassifyPost", **elena
    )
    assert refused["classifyPost"]["userErrors"][0]["code"] == "FORBIDDEN"
    assert refused["classifyPost"]["post"] is None


async def test_managers_add_episodes_only_to_series_on_their_topics(api: Api) -> None:
    elena = {"role": Role.MANAGER, "subject": "elena.sokolova@example.com"}  # manages #change
    marcus = {"role": Role.MANAGER, "subject": "marcus.oyelaran@example.com"}  # #managing
    found = await api.data(
        "{ resources(first: 1, filter: {kinds: [PODCAST_SERIES]}) { nodes { id } }"
        ' change: topic(hashtag: "change") { id } managing: topic(hashtag: "managing") { id } }'
    )
    series = found["resources"]["nodes"][0]["id"]

    def episode(n: int, topic: str) -> dict[str, Any]:
        return {
            "input": {
                "kind": "PODCAST_EPISODE",
                "title": f"Bonus episode {n}",
                "url": f"https://learning.example.com/podcasts/engaged-managers/bonus-{n}",
                "seriesId": series,
                "position": 5 + n,
                "topicIds": [found[topic]["id"]],
            }
        }

    refused = await api.data(SETUP, episode(1, "change"), operation_name="AddResource", **elena)
    errors = refused["addResource"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [(["input", "seriesId"], "FORBIDDEN")]
    ok = await api.data(SETUP, episode(2, "managing"), operation_name="AddResource", **marcus)
    assert ok["addResource"]["userErrors"] == []


async def test_promotion_topics_belong_to_its_campaign(api: Api, demo_db: Database) -> None:
    priya = {"role": Role.MANAGER, "subject": "priya.raman@example.com"}  # manages #leadership
    created = await api.data(
        SETUP,
        {"input": {"slug": "other", "name": "Other campaign", "startsOn": "2027-01-01"}},
        operation_name="CreateCampaign",
    )
    other = created["createCampaign"]["campaign"]["id"]
    leadership = (await api.data('{ topic(hashtag: "leadership") { id } }'))["topic"]["id"]
    before = await _counts(demo_db)
    promotion = {
        "input": {
            "campaignId": other,
            "kind": "OTHER",
            "title": "Somebody else's event",
            "heldOn": "2027-01-10",
            "topicIds": [leadership],
        }
    }
    for who in (priya, {}):  # the manager of the topic, and an admin
        body = await api.data(SETUP, promotion, operation_name="RecordPromotion", **who)
        errors = body["recordPromotion"]["userErrors"]
        assert [(e["field"], e["code"]) for e in errors] == [(["input", "topicIds"], "INVALID")]
        assert body["recordPromotion"]["promotion"] is None
    assert await _counts(demo_db) == before
