"""The mirror's freshness policy: how often a thread is re-read, by how recently it was active.

Likes, edits and deletions show only when a thread is read again (REST v1 has no change feed),
so every live thread is re-read on a schedule that decays with its age: by default threads
active in the last day every pass, in the last week hourly, older ones daily. The walks of a
pass take at most ``share`` of the requests the messages bucket allows in one poll interval,
after the feeds' catch-up, so new posts never wait for old threads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

EVERY_PASS = timedelta(0)


@dataclass(frozen=True, slots=True)
class Tier:
    """Threads last active at most ``within`` ago (``None``: any age) are re-read ``every``."""

    within: timedelta | None
    every: timedelta


DEFAULT_TIERS = (
    Tier(timedelta(days=1), EVERY_PASS),
    Tier(timedelta(days=7), timedelta(hours=1)),
    Tier(None, timedelta(days=1)),
)


@dataclass(frozen=True, slots=True)
class FreshnessPolicy:
    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    # Of the messages bucket's requests in one poll interval, the share thread walks may take.
    share: float = 0.5
    # The messages bucket's limit (requests per window); None: not limited, nor are the walks.
    budget_requests: int | None = 10
    budget_window: float = 30.0

    def __post_init__(self) -> None:
        if not self.tiers or self.tiers[-1].within is not None:
            raise ValueError("the last freshness tier must take threads of any age")
        limits = [t.within for t in self.tiers[:-1]]
        if any(w is None for w in limits) or limits != sorted(limits):  # type: ignore[type-var]
            raise ValueError("freshness tiers go from the most recent activity to the oldest")
        if any(t.every < EVERY_PASS for t in self.tiers):
            raise ValueError("a tier's interval cannot be negative")
        if not 0 < self.share <= 1:
            raise ValueError("the freshness share of the budget is in (0, 1]")

    @property
    def longest(self) -> timedelta:
        """The longest a live thread goes unread while the budget keeps up."""
        return max(t.every for t in self.tiers)

    def every(self, age: timedelta) -> timedelta:
        """How often a thread last active ``age`` ago is re-read."""
        for tier in self.tiers:
            if tier.within is None or age <= tier.within:
                return tier.every
        raise AssertionError("unreachable: the last tier takes any age")

    def requests_per_pass(self, poll_interval: float) -> int | None:
        """The walks' allowance for one pass (None: unlimited), at least one request."""
        if self.budget_requests is None:
            return None
        per_poll = self.budget_requests * poll_interval / self.budget_window
        return max(1, math.floor(self.share * per_poll))


def policy_from_settings(
    *,
    active_within: timedelta,
    recent_within: timedelta,
    recent_every: timedelta,
    older_every: timedelta,
    share: float,
    budget_requests: int | None,
    budget_window: float,
) -> FreshnessPolicy:
    """The settings' three named tiers (``CAMPAIGN_SYNC_FRESH_*``): active threads every
    pass, recent ones ``recent_every``, older ones ``older_every``."""
    return FreshnessPolicy(
        tiers=(
            Tier(active_within, EVERY_PASS),
            Tier(recent_within, recent_every),
            Tier(None, older_every),
        ),
        share=share,
        budget_requests=budget_requests,
        budget_window=budget_window,
    )
