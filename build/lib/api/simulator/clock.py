"""The campaign clock: the simulator's "now", replaying the demo's weeks in minutes.

It starts at a position (the campaign's first Monday for a new demo, the saved time for a
resumed one) and stands there until ``start()``: the simulator calls it on the first API
request, so the story begins when a worker is there to watch it and the first reading it
takes is the campaign's first.  Then it runs ``pace`` times faster than real time until it
has caught up with real time, and is real time from then on.  At pace 1 there is no replay:
once started it is real time (a resumed demo does not lag by the time it was down).  It never
runs ahead of the present, so everything the simulator stamps (message times, the ``Date``
header) is a moment that has really passed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


def real_now() -> datetime:
    return datetime.now(UTC)


class CampaignClock:
    def __init__(
        self,
        position: datetime,
        pace: float = 1.0,
        *,
        real: Callable[[], datetime] = real_now,
        started: bool = True,
    ) -> None:
        if pace < 1:
            raise ValueError("the pace must be at least 1 (real time)")
        self.pace = pace
        self.real = real
        self._since: datetime | None = None
        self._position = min(position, real())
        self._last = self._position
        if started:
            self.start()

    def start(self) -> None:
        """Set the clock going (again: no effect)."""
        if self._since is None:
            self._since = self.real()

    def now(self) -> datetime:
        if self._since is None:
            return self._last
        real = self.real()
        # At pace 1, no replay: the present, whatever the clock stood at.
        elapsed = (real - self._since) * self.pace
        replayed = real if self.pace == 1 else self._position + elapsed
        # Monotonic even if the real clock steps back.
        self._last = max(self._last, min(replayed, real))
        return self._last

    __call__ = now

    @property
    def caught_up(self) -> bool:
        return self.now() >= self.real()
