"""Per-token sliding-window rate limits, one window per bucket (reference §2).

Only admitted requests use up the window; a 429 does not, so a client that waits as told by
``Retry-After`` gets through.  (Whether real Yammer counts rejected calls is not documented.)
"""

from __future__ import annotations

import math
from collections import deque

MESSAGES, AUTOCOMPLETE, EXPORT, OTHER = "messages", "autocomplete", "export", "other"


def bucket_of(api_path: str) -> str:
    """The bucket of a path below ``/api/v1``; every message feed (in_thread too) shares one."""
    for prefix, bucket in (
        ("/messages", MESSAGES),
        ("/autocomplete", AUTOCOMPLETE),
        ("/export", EXPORT),
    ):
        if api_path.startswith(prefix):
            return bucket
    return OTHER


class SlidingWindowLimiter:
    def __init__(self) -> None:
        self._hits: dict[tuple[str, str], deque[float]] = {}

    def admit(
        self, token: str, bucket: str, limit: tuple[int, float] | None, now: float
    ) -> float | None:
        """Record and admit the request (None), or refuse it: seconds until there is room."""
        if limit is None:
            return None
        allowed, window = limit
        hits = self._hits.setdefault((token, bucket), deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= allowed:
            return max(hits[0] + window - now, 0.0) if hits else window
        hits.append(now)
        return None

    def reset(self) -> None:
        self._hits.clear()


def retry_after_header(wait: float) -> str:
    return str(max(math.ceil(wait), 1))
