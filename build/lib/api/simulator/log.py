"""The request log: every ``/api/v1`` request the simulator answered, for tests to count.

``at`` is the app's clock (monotonic seconds by default, injectable), taken when the request
arrived, so per-window counts line up with the rate limiter's own view.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class RequestRecord:
    at: float
    wall: str  # ISO-8601 UTC, for people reading /_sim/requests
    token: str | None
    method: str
    path: str
    query: str
    bucket: str  # rate-limit bucket: messages, autocomplete, export, other
    status: int | None  # None when the client went away first (a hang past its timeout)
    outcome: str  # ok, unauthorized, rate_limited, storm, error, hang, malformed, forbidden...
    admitted: bool  # counted against the token's budget (passed auth and the limiter)


class RequestLog:
    def __init__(self) -> None:
        self._records: list[RequestRecord] = []
        # uvicorn may serve from another thread while a test reads the log.
        self._lock = threading.Lock()

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    @property
    def records(self) -> list[RequestRecord]:
        with self._lock:
            return sorted(self._records, key=lambda r: r.at)

    def select(
        self,
        *,
        token: str | None = None,
        bucket: str | None = None,
        status: int | None = None,
        path_prefix: str | None = None,
        admitted_only: bool = False,
    ) -> list[RequestRecord]:
        return [
            r
            for r in self.records
            if (token is None or r.token == token)
            and (bucket is None or r.bucket == bucket)
            and (status is None or r.status == status)
            and (path_prefix is None or r.path.startswith(path_prefix))
            and (r.admitted or not admitted_only)
        ]

    def count(self, **filters: Any) -> int:
        return len(self.select(**filters))

    def max_in_window(self, window_seconds: float, **filters: Any) -> int:
        """The most requests (matching the filters) that arrived within any window of that length.

        A worker that keeps to a budget of N per window never makes this exceed N.
        """
        times = [r.at for r in self.select(**filters)]
        best = 0
        for i, end in enumerate(times):
            # Requests in (end - window, end]: the limiter's sliding window ending at ``end``.
            first = bisect_left(times, end - window_seconds + 1e-9, 0, i + 1)
            best = max(best, i + 1 - first)
        return best

    def to_json(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.records]
