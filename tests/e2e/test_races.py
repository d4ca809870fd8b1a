"""Concurrent calls of every mutation that could race leave the database consistent.

Each test fires many identical or competing calls at once (``asyncio.gather`` over separate
HTTP requests, each its own transaction) and asserts what must hold whatever the
interleaving: the database's invariant, and that every call either did its work or was
answered with a user error.  No assertion depends on timing, so the tests are not flaky:
an interleaving with no overlap at all must satisfy the same invariants.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from api.db.session import Database
from schema.types.node import decode_id, encode_id
from tests.e2e.conftest import Api, operation

SETUP = operation("admin/SetUpCampaign.graphql")
SYNC = operation("admin/SyncStatus.graphql")
CAMPAIGN = encode_id("Campaign", 1)
CALLS = 8
TODAY = datetime.now(UTC).date()


async def _all(api: Api, name: str, inputs: list[dict[str, Any]], doc: str = SETUP) -> list[Any]:
    """Run one mutation with each input at once; the payloads in the inputs' order."""
    bodies = await asyncio.gather(
        *(api.post(doc, {"input": input}, operation_name=name) for input in inputs)
    )
    for body in bodies:
        assert "errors" not in body, body  # never INTERNAL_SERVER_ERROR: a user error or data
    return [next(iter(body["data"].values())) for body in bodies]


async def _scalar(db: Database, sql: str, **params: Any) -> Any:
    async with db.reading() as session:
        return (await session.execute(sa.text(sql), params)).scalar_one()


async def _people(db: Database, n: int) -> list[str]:
    async with db.reading() as session:
        rows = await session.execute(
            sa.text("SELECT id FROM person ORDER BY id LIMIT :n"), {"n": n}
        )
        return [encode_id("Person", pk) for pk in rows.scalars()]


def _split(payloads: list[Any], key: str) -> tuple[list[Any], list[Any]]:
    won = [p for p in payloads if p[key] is not None]
    lost = [p for p in payloads if p[key] is None]
    for p in won:
        assert p["userErrors"] == [], p
    return won, lost


async def _new_topic(api: Api, hashtag: str) -> str:
    data = await _run_one(
        api, "CreateTopic", {"campaignId": CAMPAIGN, "hashtag": hashtag, "name": hashtag}
    )
    return data["topic"]["id"]  # type: ignore[no-any-return]


async def _run_one(api: Api, name: str, input: dict[str, Any]) -> Any:
    [payload] = await _all(api, name, [input])
    assert payload["userErrors"] == [], payload
    return payload


async def _managers(api: Api, topic: str) -> list[Any]:
    data = await api.data(
        "query($id: ID!) { node(id: $id) { ... on Topic { managers { id person { id } } } } }",
        {"id": topic},
    )
    return data["node"]["managers"]  # type: ignore[no-any-return]


async def _assignments(db: Database, hashtag: str) -> int:
    return await _scalar(  # type: ignore[no-any-return]
        db,
        "SELECT count(*) FROM topic_manager tm JOIN topic t ON t.id = tm.topic_id"
        " WHERE t.hashtag = :h",
        h=hashtag,
    )


async def _overlapping_assignments(db: Database) -> int:
    return await _scalar(  # type: ignore[no-any-return]
        db,
        "SELECT count(*) FROM topic_manager a JOIN topic_manager b"
        " ON a.topic_id = b.topic_id AND a.id < b.id"
        " AND daterange(a.since, a.until) && daterange(b.since, b.until)",
    )


# -- assignTopicManager: the race of the issue -----------------------------------------------------
async def test_one_person_assigned_at_once_with_different_days_is_one_assignment(
    api: Api, demo_db: Database
) -> None:
    topic = await _new_topic(api, "racing")
    [person] = await _people(demo_db, 1)
    days = [(TODAY - timedelta(days=n)).isoformat() for n in range(1, CALLS + 1)]
    payloads = await _all(
        api,
        "AssignTopicManager",
        [{"topicId": topic, "personId": person, "since": day} for day in days],
    )
    won, lost = _split(payloads, "topicManager")
    # A call either found the current assignment or lost the race with a CONFLICT.
    assert won
    assert {p["topicManager"]["id"] for p in won} == {won[0]["topicManager"]["id"]}
    for p in lost:
        assert [(e["field"], e["code"]) for e in p["userErrors"]] == [
            (["input", "since"], "CONFLICT")
        ]
    assert await _managers(api, topic) == [
        {"id": won[0]["topicManager"]["id"], "person": {"id": person}}
    ]
    assert await _assignments(demo_db, "racing") == 1
    assert await _overlapping_assignments(demo_db) == 0


async def test_different_people_assigned_at_once_leave_one_manager(
    api: Api, demo_db: Database
) -> None:
    topic = await _new_topic(api, "contested")
    people = await _people(demo_db, CALLS)
    day = (TODAY - timedelta(days=2)).isoformat()
    payloads = await _all(
        api,
        "AssignTopicManager",
        [{"topicId": topic, "personId": p, "since": day} for p in people],
    )
    won, lost = _split(payloads, "topicManager")
    # The same day for all: whatever the interleaving, exactly one is assigned.
    assert len(won) == 1
    assert len(lost) == CALLS - 1
    for p in lost:
        assert p["userErrors"][0]["code"] == "CONFLICT", p
        assert p["userErrors"][0]["field"] == ["input", "since"]
    assert await _managers(api, topic) == [
        {
            "id": won[0]["topicManager"]["id"],
            "person": {"id": won[0]["topicManager"]["person"]["id"]},
        }
    ]
    assert await _assignments(demo_db, "contested") == 1
    assert await _overlapping_assignments(demo_db) == 0


async def test_competing_handovers_on_a_managed_topic_keep_one_current_manager(
    api: Api, demo_db: Database
) -> None:
    # A demo topic with its manager: each call hands it over on a different day.
    topic = (await api.data('{ topic(hashtag: "leadership") { id } }'))["topic"]["id"]
    people = await _people(demo_db, CALLS + 12)
    [current] = await _managers(api, topic)
    others = [p for p in people if p != current["person"]["id"]][:CALLS]
    payloads = await _all(
        api,
        "AssignTopicManager",
        [
            {"topicId": topic, "personId": p, "since": (TODAY - timedelta(days=n)).isoformat()}
            for n, p in enumerate(others)
        ],
    )
    won, lost = _split(payloads, "topicManager")
    assert won
    for p in lost:
        assert p["userErrors"][0]["code"] == "CONFLICT", p
    assert await _overlapping_assignments(demo_db) == 0
    assert len(await _managers(api, topic)) == 1
    # The losers wrote nothing: every assignment of the topic is the old one or a winner's.
    winners = {p["topicManager"]["id"] for p in won}
    async with demo_db.reading() as session:
        rows = (
            (
                await session.execute(
                    sa.text(
                        "SELECT tm.id FROM topic_manager tm JOIN topic t ON t.id = tm.topic_id"
                        " WHERE t.hashtag = 'leadership' ORDER BY tm.since"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert {encode_id("TopicManager", pk) for pk in rows[1:]} == winners
    assert len(rows) == len(winners) + 1


async def test_handovers_one_after_another(api: Api, demo_db: Database) -> None:
    topic = await _new_topic(api, "relay")
    first, second, third, fourth = await _people(demo_db, 4)

    async def assign(person: str, days: int) -> Any:
        since = (TODAY + timedelta(days=days)).isoformat()
        [payload] = await _all(
            api, "AssignTopicManager", [{"topicId": topic, "personId": person, "since": since}]
        )
        return payload

    assert (await assign(first, -10))["userErrors"] == []
    assert (await assign(second, -3))["userErrors"] == []
    # The first manager's assignment ended the day the second's began.
    assert [m["person"]["id"] for m in await _managers(api, topic)] == [second]
    until = await _scalar(
        demo_db,
        "SELECT until FROM topic_manager tm JOIN topic t ON t.id = tm.topic_id"
        " WHERE t.hashtag = 'relay' ORDER BY since LIMIT 1",
    )
    assert until == TODAY - timedelta(days=3)
    # Going back before the running assignment would overlap it.
    refused = await assign(third, -5)
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["input", "since"], "CONFLICT")
    ]
    # A handover planned for next week: the second manager stays current until then.
    assert (await assign(fourth, 7))["userErrors"] == []
    assert [m["person"]["id"] for m in await _managers(api, topic)] == [second]
    assert await _assignments(demo_db, "relay") == 3
    assert await _overlapping_assignments(demo_db) == 0


# -- unique names: the database decides, the losers hear DUPLICATE ---------------------------------
async def test_campaigns_created_at_once_with_one_slug(api: Api, demo_db: Database) -> None:
    payloads = await _all(
        api,
        "CreateCampaign",
        [
            {"slug": "spring-drive", "name": f"Drive {n}", "startsOn": "2027-03-01"}
            for n in range(CALLS)
        ],
    )
    won, lost = _split(payloads, "campaign")
    assert len(won) == 1
    assert {(e["field"][-1], e["code"]) for p in lost for e in p["userErrors"]} == {
        ("slug", "DUPLICATE")
    }
    assert await _scalar(demo_db, "SELECT count(*) FROM campaign WHERE slug = 'spring-drive'") == 1


async def test_topics_created_at_once_with_one_hashtag(api: Api, demo_db: Database) -> None:
    spellings = ["#Resilience", "resilience", " #RESILIENCE", "Resilience"] * (CALLS // 4)
    payloads = await _all(
        api,
        "CreateTopic",
        [{"campaignId": CAMPAIGN, "hashtag": h, "name": f"R{n}"} for n, h in enumerate(spellings)],
    )
    won, lost = _split(payloads, "topic")
    assert len(won) == 1
    assert {(e["field"][-1], e["code"]) for p in lost for e in p["userErrors"]} == {
        ("hashtag", "DUPLICATE")
    }
    assert await _scalar(demo_db, "SELECT count(*) FROM topic WHERE hashtag = 'resilience'") == 1


async def test_resources_added_at_once_with_one_url(api: Api, demo_db: Database) -> None:
    urls = [f"https://Video.example.com/race/?utm_source=n{n}" for n in range(CALLS)]
    payloads = await _all(
        api, "AddResource", [{"kind": "VIDEO", "title": "Race", "url": url} for url in urls]
    )
    won, lost = _split(payloads, "resource")
    assert len(won) == 1
    assert {(e["field"][-1], e["code"]) for p in lost for e in p["userErrors"]} == {
        ("url", "DUPLICATE")
    }
    assert await _scalar(demo_db, "SELECT count(*) FROM resource WHERE title = 'Race'") == 1


async def test_episodes_added_at_once_at_one_place(api: Api, demo_db: Database) -> None:
    found = await api.data(
        "{ resources(first: 1, filter: {kinds: [PODCAST_SERIES]}) { nodes { id } } }"
    )
    series = found["resources"]["nodes"][0]["id"]
    inputs = [
        {
            "kind": "PODCAST_EPISODE",
            "title": f"Bonus {n}",
            "url": f"https://learning.example.com/podcasts/bonus-{n}",
            "seriesId": series,
            "position": 9,
        }
        for n in range(CALLS)
    ]
    won, lost = _split(await _all(api, "AddResource", inputs), "resource")
    assert len(won) == 1
    assert {(e["field"][-1], e["code"]) for p in lost for e in p["userErrors"]} == {
        ("position", "DUPLICATE")
    }
    # Nothing half-written: no resource of a loser, and no topic links of one.
    assert await _scalar(demo_db, "SELECT count(*) FROM resource WHERE title LIKE 'Bonus %'") == 1
    assert await _scalar(demo_db, "SELECT count(*) FROM resource WHERE position = 9") == 1


# -- idempotent writes: every call succeeds, one row results -----------------------------------------
async def test_a_group_tracked_at_once_is_tracked_once(api: Api, demo_db: Database) -> None:
    campaign = await _run_one(
        api, "CreateCampaign", {"slug": "tracking", "name": "Tracking", "startsOn": "2027-01-04"}
    )
    group = encode_id("Group", await _scalar(demo_db, "SELECT min(id) FROM microblog_group"))
    input = {"campaignId": campaign["campaign"]["id"], "groupId": group}
    won, lost = _split(await _all(api, "TrackGroup", [input] * CALLS), "group")
    assert len(won) == CALLS
    assert not lost
    assert (
        await _scalar(
            demo_db,
            "SELECT count(*) FROM campaign_group cg JOIN campaign c ON c.id = cg.campaign_id"
            " WHERE c.slug = 'tracking'",
        )
        == 1
    )


async def test_a_goal_set_at_once_is_one_goal_of_one_call(api: Api, demo_db: Database) -> None:
    targets = [100 + n for n in range(CALLS)]
    inputs = [{"campaignId": CAMPAIGN, "metric": "REPLIES", "target": t} for t in targets]
    won, lost = _split(await _all(api, "SetCampaignGoal", inputs), "goal")
    assert len(won) == CALLS
    assert not lost
    async with demo_db.reading() as session:
        rows = (
            (
                await session.execute(
                    sa.text(
                        "SELECT target FROM campaign_goal WHERE campaign_id = 1 AND metric = 'REPLIES'"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(rows) == 1
    assert rows[0] in targets


async def test_sync_requested_at_once_queues_one_run(api: Api, demo_db: Database) -> None:
    before = await _scalar(demo_db, "SELECT count(*) FROM sync_run WHERE status = 'QUEUED'")
    assert before == 0
    payloads = await _all(api, "RequestSync", [{"feeds": None}] * CALLS, doc=SYNC)
    assert sum(p["accepted"] for p in payloads) == 1
    assert all(p["userErrors"] == [] for p in payloads)
    assert await _scalar(demo_db, "SELECT count(*) FROM sync_run WHERE status = 'QUEUED'") == 1


async def test_a_post_classified_while_the_mirror_deletes_it(api: Api, demo_db: Database) -> None:
    feed = await api.data('{ topic(hashtag: "managing") { posts(first: 1) { nodes { id } } } }')
    post = feed["topic"]["posts"]["nodes"][0]["id"]
    kinds = ["TIP", "QUOTE", "RESOURCE", "OTHER"] * (CALLS // 4)

    async def delete() -> None:
        async with demo_db.unit_of_work() as session:
            await session.execute(
                sa.text("UPDATE post SET deleted_at = now() WHERE id = :id"),
                {"id": decode_id(post, field="post", expect="Post")[1]},
            )

    classified, _ = await asyncio.gather(
        _all(api, "ClassifyPost", [{"postId": post, "kind": k} for k in kinds]), delete()
    )
    # Each call classified the post before it went, or heard it is gone; none failed.
    for payload in classified:
        if payload["post"] is None:
            assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
                (["input", "postId"], "NOT_FOUND")
            ]
        else:
            assert payload["post"]["kind"] in kinds
    assert await _scalar(
        demo_db,
        "SELECT kind_set_by_hand OR deleted_at IS NOT NULL FROM post WHERE id = :id",
        id=decode_id(post, field="post", expect="Post")[1],
    )
