"""Admin operations: picking people, and setting up a campaign step by step."""

from __future__ import annotations

from typing import Any

from api.domain import demo_content as content
from api.domain.enums import Role
from tests.e2e import demo_facts as facts
from tests.e2e.conftest import Api, operation

SETUP = operation("admin/SetUpCampaign.graphql")


async def _run(api: Api, name: str, input: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    data = await api.data(SETUP, {"input": input}, operation_name=name, **kwargs)
    return next(iter(data.values()))  # type: ignore[no-any-return]


async def _person_id(api: Api, name: str) -> str:
    data = await api.data(operation("admin/People.graphql"), {"search": name, **facts.RANGE})
    return data["people"]["nodes"][0]["id"]  # type: ignore[no-any-return]


async def test_people_for_picking_managers(reader: Api) -> None:
    data = await reader.data(operation("admin/People.graphql"), {"search": "raman", **facts.RANGE})
    people = data["people"]
    assert people["totalCount"] == 1
    priya = people["nodes"][0]
    assert priya["email"] == "priya.raman@example.com"
    assert priya["jobTitle"] == "Leadership Development Partner"
    assert [t["topic"]["hashtag"] for t in priya["managedTopics"]] == ["leadership"]
    growth = [p["followers"] for p in priya["followerGrowth"]]
    assert len(growth) == 3
    assert growth == sorted(growth)
    assert growth[-1] == priya["followerCount"]


async def test_people_pages_alphabetically(reader: Api) -> None:
    seen: list[str] = []
    after = None
    while True:
        data = await reader.data(
            operation("admin/People.graphql"), {"first": 5, "after": after, **facts.RANGE}
        )
        people = data["people"]
        seen += [p["fullName"] for p in people["nodes"]]
        if not people["pageInfo"]["hasNextPage"]:
            break
        after = people["pageInfo"]["endCursor"]
    assert seen == sorted(p[1] for p in content.PEOPLE)
    assert people["totalCount"] == len(content.PEOPLE)


async def test_members_see_no_emails(reader: Api) -> None:
    body = await reader.post(
        operation("admin/People.graphql"), {"search": "raman", **facts.RANGE}, role=Role.MEMBER
    )
    assert body["data"]["people"]["nodes"][0]["email"] is None
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    assert {tuple(e["path"][-1:]) for e in body["errors"]} == {("email",)}


async def test_set_up_a_campaign_step_by_step(api: Api) -> None:
    owner = await _person_id(api, "Chloe Martin")
    created = await _run(
        api,
        "CreateCampaign",
        {
            "slug": "wellbeing-2027",
            "name": "Wellbeing 2027",
            "startsOn": "2027-01-04",
            "ownerId": owner,
        },
    )
    assert created["userErrors"] == []
    campaign = created["campaign"]
    assert (campaign["slug"], campaign["name"]) == ("wellbeing-2027", "Wellbeing 2027")

    topic = await _run(
        api,
        "CreateTopic",
        {"campaignId": campaign["id"], "hashtag": "#WellBeing", "name": "Wellbeing"},
    )
    assert topic["userErrors"] == []
    assert topic["topic"]["hashtag"] == "wellbeing"

    manager = await _person_id(api, "Hannah Schmidt")
    assigned = await _run(
        api, "AssignTopicManager", {"topicId": topic["topic"]["id"], "personId": manager}
    )
    assert assigned["userErrors"] == []
    assert assigned["topicManager"]["person"]["fullName"] == "Hannah Schmidt"
    assert assigned["topicManager"]["topic"]["hashtag"] == "wellbeing"

    groups = await api.data('{ groups(search: "All Company") { nodes { id name } } }')
    tracked = await _run(
        api,
        "TrackGroup",
        {"campaignId": campaign["id"], "groupId": groups["groups"]["nodes"][0]["id"]},
    )
    assert tracked["userErrors"] == []
    assert tracked["group"]["name"] == "All Company"

    resource = await _run(
        api,
        "AddResource",
        {
            "kind": "ARTICLE",
            "title": "Sleep and leadership",
            "url": "https://HBR.org/2015/02/sleep-well-lead-well/?utm_source=newsletter",
            "topicIds": [topic["topic"]["id"]],
        },
    )
    assert resource["userErrors"] == []
    assert resource["resource"]["topics"] == [{"hashtag": "wellbeing"}]
    assert resource["resource"]["trackedUrl"].startswith("http://campaign.test/r/")

    goal = await _run(
        api,
        "SetCampaignGoal",
        {"campaignId": campaign["id"], "metric": "POSTS", "target": 50, "dueOn": "2027-03-31"},
    )
    assert goal["userErrors"] == []
    assert goal["goal"] == {
        "metric": "POSTS",
        "target": 50,
        "dueOn": "2027-03-31",
        "current": 0,
        "progress": 0.0,
    }

    promotion = await _run(
        api,
        "RecordPromotion",
        {
            "campaignId": campaign["id"],
            "kind": "VIRTUAL_SESSION",
            "title": "Wellbeing kick-off",
            "heldOn": "2027-01-05",
            "audienceSize": 120,
            "topicIds": [topic["topic"]["id"]],
        },
    )
    assert promotion["userErrors"] == []
    assert promotion["promotion"]["heldOn"] == "2027-01-05"

    feed = await api.data(
        '{ topic(hashtag: "managing") { posts(first: 1) { nodes { id kind } } } }'
    )
    post = feed["topic"]["posts"]["nodes"][0]
    classified = await _run(api, "ClassifyPost", {"postId": post["id"], "kind": "ANNOUNCEMENT"})
    assert classified == {"post": {"id": post["id"], "kind": "ANNOUNCEMENT"}, "userErrors": []}

    dashboard = await api.data(
        '{ campaign(slug: "wellbeing-2027") { topics { nodes { hashtag managers { person { fullName } } } }'
        " groups { nodes { name } } goals { metric target } promotions { totalCount } } }"
    )
    assert dashboard["campaign"] == {
        "topics": {
            "nodes": [
                {"hashtag": "wellbeing", "managers": [{"person": {"fullName": "Hannah Schmidt"}}]}
            ]
        },
        "groups": {"nodes": [{"name": "All Company"}]},
        "goals": [{"metric": "POSTS", "target": 50}],
        "promotions": {"totalCount": 1},
    }


async def test_introspection_is_for_admins(reader: Api) -> None:
    query = "{ __schema { queryType { name } } }"
    assert (await reader.data(query))["__schema"]["queryType"]["name"] == "Query"
    for role in (Role.MEMBER, Role.MANAGER, Role.LMS):
        body = await reader.post(query, role=role)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # __typename is not introspection: clients (Apollo) add it everywhere.
    data = await reader.data('{ topic(hashtag: "change") { __typename } }', role=Role.MEMBER)
    assert data["topic"]["__typename"] == "Topic"
