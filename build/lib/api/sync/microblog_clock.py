"""The worker's clock when it follows the microblog's: the ``Date`` of its latest answer, moving
with real time in between.

The worker stamps what it reads (follower counts, metrics, runs) with its clock.  Against the
bundled simulator's demo, whose campaign clock replays weeks in minutes and dates every answer
by it, a worker in another process (docker compose) follows that clock, so a follower count is
stamped with the simulated moment it describes, as `campaign up` does in one process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx


class MicroblogClock:
    def __init__(
        self,
        *,
        real: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.real = real
        self.monotonic = monotonic
        self._dated: datetime | None = None  # the latest answer's Date
        self._at = 0.0  # when it arrived (monotonic seconds)
        self._last: datetime | None = None

    def observe(self, date_header: str | None) -> None:
        """Follow an answer's ``Date`` (ignored when missing or unreadable)."""
        if not date_header:
            return
        try:
            dated = parsedate_to_datetime(date_header)
        except (TypeError, ValueError):
            return
        self._dated = dated if dated.tzinfo else dated.replace(tzinfo=UTC)
        self._at = self.monotonic()

    def __call__(self) -> datetime:
        if self._dated is None:
            return self.real()  # nothing heard yet
        now = self._dated + timedelta(seconds=self.monotonic() - self._at)
        # Dates have whole seconds: never step back to a coarser one.
        self._last = now if self._last is None else max(self._last, now)
        return self._last


class DatedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that shows every answer's ``Date`` to a ``MicroblogClock``."""

    def __init__(
        self, clock: MicroblogClock, inner: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.clock = clock
        self.inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.clock.observe(response.headers.get("date"))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
