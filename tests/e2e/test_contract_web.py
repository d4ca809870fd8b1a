"""The web dashboard's operations return the demo campaign as its content says they should."""

from __future__ import annotations

from datetime import timedelta

from api.db.enums import Role
from api.seed import demo_content as content
from tests.e2e import demo_facts as facts
from tests.e2e.conftest import Api, operation


async def test_campaign_dashboard(reader: Api) -> None:
    data = await reader.data(
        operation("web/CampaignDashboard.graphql"),
        {"slug": facts.SLUG, **facts.RANGE},
        role=Role.MEMBER,
        subject="julia.rossi@example.com",
    )
    campaign = data["campaign"]
    assert campaign["name"] == content.CAMPAIGN["name"]
    assert campaign["startsOn"] == facts.DEMO_ANCHOR.isoformat()
    final_followers = content.LEAD_FOLLOWERS[-1][1]
    assert campaign["owner"]["fullName"] == "Dana Whitfield"
    assert campaign["owner"]["followerCount"] == final_followers

    expected = facts.totals(content.POSTS)
    performance = campaign["performance"]
    assert {k: performance[k] for k in expected} == expected
    assert (
        performance["engagementRate"]
        == (expected["likes"] + expected["replies"]) / expected["posts"]
    )
    assert performance["newFollowers"] == final_followers - content.LEAD_FOLLOWERS[0][1]

    week_ends = [facts.START + timedelta(weeks=w + 1) for w in range(3)]
    assert campaign["followerGrowth"] == [
        {"periodStart": start, "followers": facts.lead_followers_at(end)}
        for start, end in zip(facts.week_starts(), week_ends, strict=True)
    ]

    goals = {g["metric"]: g for g in campaign["goals"]}
    assert set(goals) == {metric.name for metric, *_ in content.GOALS}
    assert goals["FOLLOWERS"]["current"] == final_followers
    assert goals["FOLLOWERS"]["progress"] == final_followers / goals["FOLLOWERS"]["target"]
    assert goals["POSTS"]["current"] == expected["posts"]
    assert goals["LIKES"]["current"] == expected["likes"]
    assert goals["ACTIVE_AUTHORS"]["current"] == expected["activeAuthors"]

    topics = campaign["topics"]
    assert topics["totalCount"] == len(content.TOPICS)
    assert [t["hashtag"] for t in topics["nodes"]] == [t[0] for t in content.TOPICS]
    for node, (tag, _name, _description, manager) in zip(
        topics["nodes"], content.TOPICS, strict=True
    ):
        assert [m["person"]["fullName"] for m in node["managers"]] == [facts.NAMES[manager]]
        posts = facts.tagged(tag)
        topic_totals = facts.totals(posts)
        assert node["performance"] == {k: topic_totals[k] for k in ("posts", "likes", "replies")}
        top = node["topPosts"]["nodes"]
        assert [p["metrics"]["likes"] for p in top] == sorted((p[5] for p in posts), reverse=True)[
            :3
        ]
        assert all(len(p["excerpt"]) <= 140 for p in top)

    groups = campaign["groups"]
    tracked = sorted(name for name, *_, tracked in content.GROUPS if tracked)
    assert groups["totalCount"] == len(tracked)
    assert [g["name"] for g in groups["nodes"]] == tracked
    assert all(g["joined"] for g in groups["nodes"])


async def test_content_mix(reader: Api) -> None:
    data = await reader.data(
        operation("web/ContentMix.graphql"), {"slug": facts.SLUG, **facts.RANGE}, role=Role.MEMBER
    )
    campaign = data["campaign"]
    expected = facts.totals(content.POSTS)
    by_kind = campaign["performanceByKind"]
    assert {"TIP", "RESOURCE", "QUOTE", "QUESTION"} <= {row["kind"] for row in by_kind}
    assert sum(row["posts"] for row in by_kind) == expected["posts"]
    assert sum(row["likes"] for row in by_kind) == expected["likes"]
    for row in by_kind:
        assert row["posts"] > 0
        assert row["likesPerPost"] == row["likes"] / row["posts"]

    timeline = campaign["timeline"]
    assert [p["periodStart"] for p in timeline] == facts.week_starts()
    for week, point in enumerate(timeline):
        in_week = [p for p in content.POSTS if week * 7 <= p[2][0] < week * 7 + 7]
        week_totals = facts.totals(in_week)
        # A reply counts towards active authors only when written within the same week.
        authors = {p[1] for p in in_week} | {
            r[0] for p in in_week for r in p[6] if week * 7 <= r[1][0] < week * 7 + 7
        }
        assert point == {
            "periodStart": point["periodStart"],
            "posts": week_totals["posts"],
            "likes": week_totals["likes"],
            "replies": week_totals["replies"],
            "activeAuthors": len(authors),
        }

    promotions = campaign["promotions"]["nodes"]
    assert [p["title"] for p in promotions] == [p[1] for p in reversed(content.PROMOTIONS)]
    for node in promotions:
        kind, _title, day, audience, _tags = next(
            p for p in content.PROMOTIONS if p[1] == node["title"]
        )
        assert node["kind"] == kind.name
        assert node["heldOn"] == facts.day(day).isoformat()
        assert node["audienceSize"] == audience
        held = facts.at((day, 0))
        gained = facts.lead_followers_at(held + timedelta(days=7)) - facts.lead_followers_at(held)
        assert node["followersGainedWithin7Days"] == gained


async def test_manager_leaderboard(reader: Api) -> None:
    data = await reader.data(
        operation("web/ManagerLeaderboard.graphql"),
        {"slug": facts.SLUG, **facts.RANGE},
        role=Role.MANAGER,
        subject="priya.raman@example.com",
    )
    managers = data["campaign"]["topicManagers"]
    assert [(m["topic"]["hashtag"], m["person"]["fullName"]) for m in managers] == [
        (tag, facts.NAMES[manager]) for tag, _n, _d, manager in content.TOPICS
    ]
    for m in managers:
        assert m["since"] == facts.DEMO_ANCHOR.isoformat()
        expected = facts.totals(facts.tagged(m["topic"]["hashtag"]))
        assert m["performance"] == expected


async def test_range_errors_are_bad_user_input(reader: Api) -> None:
    body = await reader.post(
        operation("web/ContentMix.graphql"),
        {"slug": facts.SLUG, "since": facts.UNTIL, "until": facts.SINCE},
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    long_range = {"since": "2000-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}
    body = await reader.post(
        'query($s: DateTime!, $u: DateTime!) { campaign(slug: "learning-community") '
        "{ timeline(since: $s, until: $u, interval: DAY) { periodStart } } }",
        {"s": long_range["since"], "u": long_range["until"]},
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
