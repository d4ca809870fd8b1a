"""The client-side rate budget: never send more than the microblog allows (spec §2).

The microblog counts requests per token in sliding windows, one per endpoint family, and
answers 429 on overflow. Waiting here instead of being refused there keeps the token in good
standing (apps that poll too much "will be blocked") and keeps the budget for useful calls.

- Buckets: ``"messages"`` for ``/messages*`` paths (every feed, ``in_thread`` included) and
  ``"other"`` for everything else; each 10 requests per 30 s by default, configurable per bucket.
  Buckets are independent, as the microblog's are.
- Sliding window, counted conservatively: a request occupies its slot from the moment it is
  granted, and ``Grant.done()`` re-stamps the slot with the time the response came back.
  The server saw the request somewhere in between, so spacing the (k + limit)-th grant a full
  window after the k-th *completion* keeps the server's own count within the limit while a
  request and its re-stamp take less than a window (a slot granted a window ago and not
  re-stamped yet no longer counts; the client's timeout, 10 s, is well under the microblog's
  30 s windows).
- ``penalise(bucket, seconds)`` pauses a bucket after a 429 (honouring Retry-After), for every
  coroutine sharing the budget, not only the one that was refused.
- One budget per token, shared by every client using that token: the limit is per (user, app).
- ``RateBudget.lifted()`` / ``lift()`` remove the per-window limit for throughput tests against
  the simulator; requests are still counted and penalties still honoured.
- Shared (``share``): the microblog counts per token whichever process sends, so the worker
  also draws every grant from a ``SharedBudget`` that outlives the process (PostgreSQL:
  ``api.sync.shared_budget``). A restart, ``sync --once`` or a replica taking over then starts
  from what was spent, not from a full budget; re-stamps and penalties go there too
  (``release`` and ``pause``, the awaitable forms of ``Grant.done`` and ``penalise``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from api.sync.errors import Interrupted

log = logging.getLogger(__name__)
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]

MESSAGES = "messages"
OTHER = "other"
DEFAULT_REQUESTS = 10
DEFAULT_WINDOW = 30.0
INTERRUPT_CHECK_SECONDS = 0.5  # how soon an interruptible wait notices a stop

_MESSAGE_PATH = re.compile(r"/messages(?:/|\.json$|$)")


def bucket_for(path: str) -> str:
    """The budget bucket of an API path: ``/api/v1/messages/in_group/1.json`` -> messages."""
    return MESSAGES if _MESSAGE_PATH.search(path.split("?", 1)[0]) else OTHER


@dataclass(frozen=True)
class Limit:
    requests: int | None  # None: lifted (counted, not enforced)
    window: float = DEFAULT_WINDOW

    def __post_init__(self) -> None:
        if self.requests is not None and self.requests < 1:
            raise ValueError("a limit allows at least one request per window")
        if self.window <= 0:
            raise ValueError("the window must be positive")


@dataclass(frozen=True)
class BucketStatus:
    """What the admin sees for one bucket (``requestsInLastWindow`` and friends)."""

    requests_in_window: int
    limit: int | None
    window: float
    total: int
    paused_for: float


class SharedBudget(Protocol):
    """The grants of every process using one token, kept where all of them see them."""

    async def take(self, bucket: str, limit: Limit) -> tuple[float, object | None]:
        """Take a slot in ``bucket`` if ``limit`` allows it now: ``(0, stamp)``; otherwise
        ``(seconds to wait, None)``. A lifted limit takes no slot but honours a pause."""
        ...

    async def in_window(self, windows: Mapping[str, float]) -> dict[str, int]:
        """Slots taken within its window in each bucket of ``windows`` (bucket: window in
        seconds), by every process sharing the token."""
        ...

    async def restamp(self, bucket: str, stamp: object) -> None:
        """Move the slot ``stamp`` to now: its response came back (see ``Grant.done``)."""
        ...

    async def pause(self, bucket: str, seconds: float) -> None:
        """Hold ``bucket`` for ``seconds`` for everyone sharing the token."""
        ...


class _Slot:
    __slots__ = ("at",)

    def __init__(self, at: float) -> None:
        self.at = at


class Grant:
    """Permission for one request; call ``done()`` (or ``RateBudget.release``) when its
    response (or failure) is in."""

    def __init__(
        self, slot: _Slot, clock: Clock, bucket: str = "", shared: object | None = None
    ) -> None:
        self._slot = slot
        self._clock = clock
        self.bucket = bucket
        self.shared = shared  # the shared budget's stamp of this slot, if one was taken

    def done(self) -> None:
        self._slot.at = max(self._slot.at, self._clock())


class _Bucket:
    def __init__(self, limit: Limit) -> None:
        self.limit = limit
        self.slots: deque[_Slot] = deque()
        self.paused_until = float("-inf")
        self.total = 0
        # FIFO among waiters of one bucket; a waiter holds it while it sleeps.
        self.lock = asyncio.Lock()

    def prune(self, now: float) -> None:
        horizon = now - self.limit.window
        if self.limit.requests is None:
            # Lifted: only counted, so approximate order is enough and stays O(1) per request.
            while self.slots and self.slots[0].at <= horizon:
                self.slots.popleft()
        else:
            # At most `requests` slots; done() may re-stamp out of order, so scan them all.
            self.slots = deque(slot for slot in self.slots if slot.at > horizon)

    def wait(self, now: float) -> float:
        """Seconds until a request may be granted (0: now)."""
        if self.paused_until > now:
            return self.paused_until - now
        self.prune(now)
        requests = self.limit.requests
        if requests is None or len(self.slots) < requests:
            return 0.0
        oldest = min(slot.at for slot in self.slots)
        return max(oldest + self.limit.window - now, 0.0)


class RateBudget:
    def __init__(
        self,
        limits: Mapping[str, Limit] | None = None,
        *,
        requests: int | None = DEFAULT_REQUESTS,
        window: float = DEFAULT_WINDOW,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._default = Limit(requests, window)
        self._clock = clock
        self._sleep = sleep
        self._should_stop: Callable[[], bool] | None = None
        self._shared: SharedBudget | None = None
        self._buckets: dict[str, _Bucket] = {}
        for name in (MESSAGES, OTHER):
            self._bucket(name)
        for name, limit in (limits or {}).items():
            self._bucket(name).limit = limit

    @classmethod
    def lifted(cls, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> RateBudget:
        return cls(requests=None, clock=clock, sleep=sleep)

    def lift(self) -> None:
        """Stop enforcing the per-window limits (throughput tests); counting goes on."""
        self._default = Limit(None, self._default.window)
        for bucket in self._buckets.values():
            bucket.limit = Limit(None, bucket.limit.window)

    def _bucket(self, name: str) -> _Bucket:
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = self._buckets[name] = _Bucket(self._default)
        return bucket

    def share(self, shared: SharedBudget | None) -> None:
        """Draw every grant from ``shared`` as well (None: this process's budget only)."""
        self._shared = shared

    def interrupt_when(self, should_stop: Callable[[], bool]) -> None:
        """Make waits end early, raising ``Interrupted``, once ``should_stop()`` is true: a
        429's Retry-After may pause a bucket for minutes, and SIGTERM must not wait it out."""
        self._should_stop = should_stop

    async def acquire(self, bucket: str) -> Grant:
        """Wait until one more request in ``bucket`` stays within the limit, and take it."""
        state = self._bucket(bucket)
        async with state.lock:
            while True:
                while (delay := state.wait(self._clock())) > 0:
                    await self.wait(delay)
                if self._shared is None:
                    stamp = None
                    break
                # The shared budget takes its slot atomically (or says how long to wait);
                # this process's own waiters queue on state.lock meanwhile.
                delay, stamp = await self._shared.take(bucket, state.limit)
                if delay <= 0:
                    break
                await self.wait(delay)
            # No await between the local check above and taking the slot: nobody slips in.
            slot = _Slot(self._clock())
            state.slots.append(slot)
            state.total += 1
            return Grant(slot, self._clock, bucket, stamp)

    async def release(self, grant: Grant) -> None:
        """``grant.done()``, in the shared budget too: the response is in."""
        grant.done()
        if self._shared is not None and grant.shared is not None:
            try:
                await self._shared.restamp(grant.bucket, grant.shared)
            except Exception as exc:  # the slot stays stamped at its grant: still counted
                log.warning("rate budget slot not re-stamped: %s", exc)

    async def wait(self, seconds: float, sleep: Sleep | None = None) -> None:
        """Sleep ``seconds`` (with ``sleep``, default the budget's), ending early with
        ``Interrupted`` once the ``interrupt_when`` condition holds."""
        sleep = sleep or self._sleep
        if self._should_stop is None:
            await sleep(seconds)
            return
        remaining = seconds
        while remaining > 0:
            if self._should_stop():
                raise Interrupted(f"stopped with {remaining:.1f} s of a wait left")
            step = min(remaining, INTERRUPT_CHECK_SECONDS)
            await sleep(step)
            remaining -= step

    def penalise(self, bucket: str, seconds: float) -> None:
        """Hold every request in ``bucket`` for ``seconds`` (e.g. a 429's Retry-After)."""
        state = self._bucket(bucket)
        state.paused_until = max(state.paused_until, self._clock() + max(seconds, 0.0))

    async def pause(self, bucket: str, seconds: float) -> None:
        """``penalise``, for every process sharing the token too."""
        self.penalise(bucket, seconds)
        if self._shared is not None:
            try:
                await self._shared.pause(bucket, max(seconds, 0.0))
            except Exception as exc:  # this process holds off still; the others may not
                log.warning("rate budget pause not shared: %s", exc)

    def in_window(self, bucket: str) -> int:
        """Requests granted in ``bucket`` during the last window."""
        state = self._bucket(bucket)
        state.prune(self._clock())
        return len(state.slots)

    async def requests_in_window(self) -> int:
        """Requests in the last window over every bucket, by every process sharing the token
        (what the admin sees as ``requestsInLastWindow``): the shared budget's count, where it
        has one. A lifted bucket takes no shared slot, and an unreachable shared budget says
        nothing: this process's own count stands in (its slots are among the shared ones)."""
        local = {name: self.in_window(name) for name in self._buckets}
        if self._shared is None:
            return sum(local.values())
        windows = {name: state.limit.window for name, state in self._buckets.items()}
        try:
            shared = await self._shared.in_window(windows)
        except Exception as exc:
            log.warning("rate budget: the shared count could not be read: %s", exc)
            shared = {}
        return sum(max(count, shared.get(name, 0)) for name, count in local.items())

    def status(self) -> dict[str, BucketStatus]:
        now = self._clock()
        result = {}
        for name, state in self._buckets.items():
            state.prune(now)
            result[name] = BucketStatus(
                requests_in_window=len(state.slots),
                limit=state.limit.requests,
                window=state.limit.window,
                total=state.total,
                paused_for=max(state.paused_until - now, 0.0),
            )
        return result
