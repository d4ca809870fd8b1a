"""Retry policy and request counters for ``MicroblogClient`` (kept apart so both stay small).

- 429: wait ``Retry-After`` when the server sends it (undocumented for Yammer, so it may not),
  otherwise back off exponentially from ``rate_limit_base`` (spec §10.15: "start at about
  10 s"; a 30 s window refilled after 1 s would just 429 again).
- 5xx, timeouts, connection errors: back off exponentially from ``backoff_base``.
- Both with jitter, so replicas or feeds that failed together do not retry in lockstep, and
  both bounded by ``max_retries``; then the client raises and the scheduler moves on.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    backoff_base: float = 1.0
    rate_limit_base: float = 10.0
    max_delay: float = 120.0
    # A Retry-After longer than this is not slept through: the client raises RateLimited at
    # once and leaves the wait to the scheduler (which keeps the bucket paused meanwhile).
    max_retry_after: float = 300.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.backoff_base < 0 or self.rate_limit_base < 0:
            raise ValueError("backoff bases must be >= 0")

    def backoff(self, attempt: int, rng: random.Random, *, rate_limited: bool = False) -> float:
        """Seconds before retry number ``attempt + 1``: "equal jitter" exponential backoff.

        Half the exponential delay is fixed, half random, so a retry never comes back
        immediately yet retries that failed together spread out.
        """
        base = self.rate_limit_base if rate_limited else self.backoff_base
        ceiling = min(base * 2**attempt, self.max_delay)
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


def retry_after(response: httpx.Response, *, now: datetime | None = None) -> float | None:
    """The ``Retry-After`` header in seconds (delta-seconds or HTTP-date), or None."""
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None  # unreadable: fall back to backoff rather than fail the request
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def error_detail(response: httpx.Response) -> tuple[str, int | None]:
    """Yammer's ``{"response": {"message", "code", "stat"}}`` error body, when there is one."""
    reason = response.reason_phrase or f"HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        return reason, None
    inner = body.get("response") if isinstance(body, dict) else None
    if not isinstance(inner, dict):
        return reason, None
    message = inner.get("message")
    code = inner.get("code")
    return (
        message if isinstance(message, str) and message else reason,
        code if isinstance(code, int) and not isinstance(code, bool) else None,
    )


RATE_LIMIT_CODE = 33  # "Rate limited due to excessive requests."


def is_rate_limited(response: httpx.Response, code: int | None) -> bool:
    # The 2009 API answered 403 instead of 429; its body still says code 33.
    return response.status_code == 429 or (response.status_code == 403 and code == RATE_LIMIT_CODE)


@dataclass
class ClientStats:
    """What a ``sync_run`` row records about the calls made: attempts, retries, outcomes."""

    requests: int = 0  # every attempt sent, retries included
    retries: int = 0
    # HTTP status as text ("200", "429", ...), or "timeout" / "network" when none came back.
    by_status: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "by_status": dict(sorted(self.by_status.items())),
        }
