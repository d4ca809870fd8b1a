"""The web dashboard's operations return the demo campaign as its content says they should."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from api.db.session import Database
from api.domain import demo_content as content
from api.domain.enums import Role
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
        {"periodStart": start, "followers": facts.lead_followers_before(end)}
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
        later = held + timedelta(days=7)
        gained = facts.lead_followers_before(later) - facts.lead_followers_before(held)
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


FOLLOWERS = """
query($slug: String!, $since: DateTime!, $until: DateTime!) {
  campaign(slug: $slug) {
    performance(since: $since, until: $until) { newFollowers }
    followerGrowth(since: $since, until: $until, interval: WEEK) { periodStart followers }
    promotions(first: 50) { nodes { title followersGainedWithin7Days } }
    %s
  }
}
"""


async def _owner_snapshots(db: Database, *snapshots: tuple[datetime, int]) -> None:
    async with db.unit_of_work() as session:
        owner = (
            await session.execute(
                sa.text("SELECT owner_id FROM campaign WHERE slug = :slug"), {"slug": facts.SLUG}
            )
        ).scalar_one()
        for observed_at, followers in snapshots:
            await session.execute(
                sa.text(
                    "INSERT INTO follower_snapshot (person_id, observed_at, followers)"
                    " VALUES (:person, :observed_at, :followers)"
                ),
                {"person": owner, "observed_at": observed_at, "followers": followers},
            )


async def test_follower_changes_are_half_open(api: Api, demo_db: Database) -> None:
    # Snapshots exactly on week boundaries, after the demo's last one: a change observed at
    # `since` counts in the range, one observed at `until` belongs to the next range.
    week4, week5 = facts.START + timedelta(weeks=3), facts.START + timedelta(weeks=4)
    await _owner_snapshots(demo_db, (week4, 60), (week4 + timedelta(days=3), 65), (week5, 90))
    last_demo = content.LEAD_FOLLOWERS[-1][1]

    data = await api.data(
        FOLLOWERS % "",
        {"slug": facts.SLUG, "since": week4.isoformat(), "until": week5.isoformat()},
    )
    assert data["campaign"]["performance"]["newFollowers"] == 65 - last_demo

    # A week's point is the last snapshot within [start, end): consecutive points differ by
    # exactly that week's newFollowers.
    ends = [facts.START + timedelta(weeks=w + 1) for w in range(5)]
    weeks = " ".join(
        f'w{w}: performance(since: "{(end - timedelta(weeks=1)).isoformat()}",'
        f' until: "{end.isoformat()}") {{ newFollowers }}'
        for w, end in enumerate(ends)
    )
    data = await api.data(
        FOLLOWERS % weeks,
        {"slug": facts.SLUG, "since": facts.SINCE, "until": ends[-1].isoformat()},
    )
    points = [p["followers"] for p in data["campaign"]["followerGrowth"]]
    assert points == [*(facts.lead_followers_before(end) for end in ends[:3]), 65, 90]
    previous = [facts.lead_followers_before(facts.START), *points[:-1]]
    changes = [data["campaign"][f"w{w}"]["newFollowers"] for w in range(5)]
    assert changes == [point - before for point, before in zip(points, previous, strict=True)]


async def test_followers_gained_within_7_days_is_half_open(api: Api, demo_db: Database) -> None:
    _kind, title, day, *_ = next(p for p in content.PROMOTIONS if p[2] == 15)
    held = facts.at((day, 0))
    # One snapshot at the promotion day's start (counts), one exactly 7 days later (does not).
    await _owner_snapshots(demo_db, (held, 40), (held + timedelta(days=7), 70))
    data = await api.data(FOLLOWERS % "", {"slug": facts.SLUG, **facts.RANGE})
    gained = {
        p["title"]: p["followersGainedWithin7Days"] for p in data["campaign"]["promotions"]["nodes"]
    }
    # From just before the day (the demo's count then) to the demo's last count, which the
    # snapshot at the day's start (40) lies between.
    assert gained[title] == content.LEAD_FOLLOWERS[-1][1] - facts.lead_followers_before(held)


async def test_active_authors_are_counted_when_asked_through_fragments_and_aliases(
    reader: Api,
) -> None:
    """Active authors, the costliest figure, are computed only when selected; however a
    query selects them (a fragment, an inline fragment, an alias) it gets the real count."""
    expected = facts.totals(content.POSTS)["activeAuthors"]
    assert expected > 0
    data = await reader.data(
        """query($since: DateTime!, $until: DateTime!) { campaign(slug: "learning-community") {
          plain: performance(since: $since, until: $until) { posts }
          spread: performance(since: $since, until: $until) { ...Authors }
          inline: performance(since: $since, until: $until) { ... on Performance { n: activeAuthors } }
          goals { metric current } } }
        fragment Authors on Performance { activeAuthors }""",
        facts.RANGE,
        role=Role.MEMBER,
    )
    campaign = data["campaign"]
    assert campaign["spread"]["activeAuthors"] == expected
    assert campaign["inline"]["n"] == expected
    assert {g["metric"]: g["current"] for g in campaign["goals"]}["ACTIVE_AUTHORS"] == expected
