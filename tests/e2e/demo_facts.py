"""What the demo campaign should look like, worked out from its content by plain Python.

Tests compare the API's answers with these, so an expectation never restates the SQL under test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from api.domain import demo_content as content
from tests.conftest import DEMO_ANCHOR

START = datetime(DEMO_ANCHOR.year, DEMO_ANCHOR.month, DEMO_ANCHOR.day, tzinfo=UTC)
SINCE = START.isoformat()
UNTIL = (START + timedelta(weeks=3)).isoformat()
RANGE = {"since": SINCE, "until": UNTIL}
SLUG = content.CAMPAIGN["slug"]
NAMES = {email: name for email, name, *_ in content.PEOPLE}


def at(offset: tuple[int, int]) -> datetime:
    return START + timedelta(days=offset[0], hours=offset[1])


def tagged(tag: str) -> list[tuple]:
    return [p for p in content.POSTS if f"#{tag}" in p[4].lower()]


def totals(posts: list[tuple]) -> dict[str, int]:
    authors = {p[1] for p in posts} | {r[0] for p in posts for r in p[6]}
    return {
        "posts": len(posts),
        "likes": sum(p[5] for p in posts),
        "replies": sum(len(p[6]) for p in posts),
        "activeAuthors": len(authors),
    }


def lead_followers_before(moment: datetime) -> int:
    """The lead's count just before ``moment``: ranges are half-open, [since, until)."""
    value = content.LEAD_FOLLOWERS[0][1]
    for offset, followers in content.LEAD_FOLLOWERS:
        if at(offset) < moment:
            value = followers
    return value


def week_starts(weeks: int = 3) -> list[str]:
    return [(DEMO_ANCHOR + timedelta(weeks=w)).isoformat() for w in range(weeks)]


def day(offset: int) -> date:
    return DEMO_ANCHOR + timedelta(days=offset)
