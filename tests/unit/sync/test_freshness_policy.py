"""The freshness policy's tiers and budget share, and what a page tells it for free."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.domain.freshness import EVERY_PASS, FreshnessPolicy, Tier
from api.settings import Settings
from api.sync.freshness import counted_as_read, thread_observations
from api.sync.payloads import FeedPage, parse
from api.sync.runtime import freshness_policy

HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def test_threads_are_read_less_often_as_they_age() -> None:
    policy = FreshnessPolicy()
    assert policy.every(timedelta(hours=3)) == EVERY_PASS
    assert policy.every(3 * DAY) == HOUR
    assert policy.every(50 * DAY) == DAY
    assert policy.longest == DAY


def test_the_walks_take_their_share_of_a_poll_intervals_messages_budget() -> None:
    # 10 requests per 30 s are 20 a minute; half of them.
    assert FreshnessPolicy().requests_per_pass(60.0) == 10
    assert FreshnessPolicy(share=0.25).requests_per_pass(60.0) == 5
    assert FreshnessPolicy(share=0.1).requests_per_pass(1.0) == 1  # never none at all
    assert FreshnessPolicy(budget_requests=None).requests_per_pass(60.0) is None


@pytest.mark.parametrize(
    ("tiers", "why"),
    [
        ((), "any age"),
        ((Tier(DAY, EVERY_PASS),), "any age"),  # nothing takes the oldest threads
        ((Tier(7 * DAY, HOUR), Tier(DAY, EVERY_PASS), Tier(None, DAY)), "most recent"),
        ((Tier(None, -HOUR),), "negative"),
    ],
)
def test_tiers_that_leave_threads_unread_are_refused(tiers: tuple[Tier, ...], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        FreshnessPolicy(tiers=tiers)


def test_settings_name_the_tiers_and_the_share() -> None:
    settings = Settings(
        sync_fresh_active_hours=6,
        sync_fresh_recent_days=3,
        sync_fresh_recent_every_minutes=30,
        sync_fresh_older_every_hours=12,
        sync_fresh_share=0.4,
        sync_budget_requests=20,
    )
    policy = freshness_policy(settings)
    assert policy.tiers == (
        Tier(timedelta(hours=6), EVERY_PASS),
        Tier(timedelta(days=3), timedelta(minutes=30)),
        Tier(None, timedelta(hours=12)),
    )
    assert policy.requests_per_pass(60.0) == 16
    with pytest.raises(ValueError, match="RECENT_DAYS must cover"):
        Settings(sync_fresh_active_hours=48, sync_fresh_recent_days=1)


def _page() -> FeedPage:
    def message(id_: int, thread: int, at: str) -> dict[str, object]:
        return {"id": id_, "sender_id": 1, "thread_id": thread, "created_at": at}

    return parse(
        FeedPage,
        {
            "messages": [
                message(12, 10, "2026/11/02 10:00:00 +0000"),
                message(10, 10, "2026/11/01 10:00:00 +0000"),
                message(21, 20, "2026/11/03 10:00:00 +0000"),
            ],
            "references": [
                {
                    "type": "thread",
                    "id": 10,
                    "stats": {
                        "updates": 5,
                        "shares": 2,
                        "latest_reply_id": 14,
                        "latest_reply_at": "2026/11/04 10:00:00 +0000",
                    },
                }
            ],
        },
    )


def test_a_page_shows_each_threads_newest_activity_and_stats() -> None:
    seen = {s.thread_id: s for s in thread_observations(_page())}
    assert seen[10].activity == datetime(2026, 11, 4, 10, tzinfo=UTC)  # the reference's
    assert (seen[10].updates, seen[10].latest_reply_id) == (5, 14)
    assert seen[20].activity == datetime(2026, 11, 3, 10, tzinfo=UTC)  # no reference
    assert (seen[20].updates, seen[20].latest_reply_id) == (None, None)


def test_a_walks_last_page_counts_what_the_walk_read() -> None:
    page = counted_as_read(_page(), 10, 3)
    ref = page.threads()[10]
    assert (ref.reply_count, ref.stats.shares, ref.stats.latest_reply_id) == (2, 2, 14)
    # A page without the thread's reference gets one, with the count only.
    assert counted_as_read(_page(), 20, 1).threads()[20].reply_count == 0
