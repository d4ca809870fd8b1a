"""Test doubles for the sync client: a fake clock, payload builders and a tiny feed server.

Written from the spec (reference/yammer-api.md), not from the client, so that the tests check
the client against the documented behaviour; shares nothing with ``api.simulator``.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Coroutine, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from api.sync.budget import Limit, RateBudget
from api.sync.client import MicroblogClient

DATA = Path(__file__).parent / "data"
TOKEN = "s3cret-T0KEN-value-1234567890"
BASE_URL = "http://microblog.test"
START = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)
FIRST_ID = 4_038_774_531_842_049  # modern 16-digit magnitude

Handler = (
    Callable[[httpx.Request], httpx.Response]
    | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
)


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


class FakeClock:
    """``clock()`` and ``await clock.sleep(s)`` without real waiting.

    A sleep moves time to at least its own deadline, never backwards, so concurrent sleepers
    wake no earlier than they asked (possibly later, as real sleepers may).
    """

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        deadline = self.now + max(seconds, 0.0)
        await asyncio.sleep(0)
        self.now = max(self.now, deadline)


def make_client(
    handler: Handler,
    clock: FakeClock | None = None,
    *,
    budget: RateBudget | None = None,
    token: str = TOKEN,
    **options: Any,
) -> MicroblogClient:
    clock = clock or FakeClock()
    return MicroblogClient(
        BASE_URL,
        token,
        transport=httpx.MockTransport(handler),
        budget=budget or RateBudget.lifted(clock=clock, sleep=clock.sleep),
        sleep=clock.sleep,
        rng=random.Random(7),
        **options,
    )


def yammer_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y/%m/%d %H:%M:%S +0000")


def message(
    message_id: int,
    *,
    thread_id: int | None = None,
    replied_to_id: int | None = None,
    created_at: datetime | None = None,
    group_id: int | None = 123412865024,
) -> dict[str, Any]:
    # Ids grow with time, as the microblog's do.
    created = created_at or START + timedelta(seconds=max(message_id - FIRST_ID, 0) / 1_000)
    return {
        "id": message_id,
        "sender_id": 1842170699776,
        "sender_type": "user",
        "replied_to_id": replied_to_id,
        "thread_id": thread_id or message_id,
        "group_id": group_id,
        "created_at": yammer_time(created),
        "published_at": yammer_time(created),
        "message_type": "update",
        "system_message": False,
        "direct_message": False,
        "privacy": "public",
        "web_url": f"https://www.yammer.com/contoso/messages/{message_id}",
        "body": {"plain": f"post {message_id}", "parsed": "", "rich": "", "urls": []},
        "liked_by": {"count": 0, "names": []},
    }


def envelope(messages: list[dict[str, Any]], **meta: Any) -> dict[str, Any]:
    return {
        "messages": messages,
        "references": [],
        "meta": {"requested_poll_interval": 60, **meta},
        "threaded_extended": {},
        "external_references": [],
    }


def param(request: httpx.Request, name: str) -> int | None:
    value = request.url.params.get(name)
    return None if value is None else int(value)


class FeedServer:
    """Serves ``messages/<kind>/<id>.json`` over a fixed list of messages, as spec §5 says.

    Newest first, at most ``min(limit, 20)``, ``older_than``/``newer_than`` strict. Knobs
    make it misbehave the documented ways: ``older_available`` forced to a lie, cursors ignored.
    """

    def __init__(
        self,
        messages: list[dict[str, Any]],
        *,
        older_available: bool | None = None,
        honour_older_than: bool = True,
        honour_newer_than: bool = True,
    ) -> None:
        self.messages = sorted(messages, key=lambda m: m["id"], reverse=True)
        self.older_available = older_available
        self.honour_older_than = honour_older_than
        self.honour_newer_than = honour_newer_than
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        older, newer = param(request, "older_than"), param(request, "newer_than")
        limit = min(param(request, "limit") or 20, 20)
        matching = [
            m
            for m in self.messages
            if (older is None or not self.honour_older_than or m["id"] < older)
            and (newer is None or not self.honour_newer_than or m["id"] > newer)
        ]
        page = matching[:limit]
        more = len(matching) > limit if self.older_available is None else self.older_available
        return httpx.Response(200, json=envelope(page, older_available=more))

    def cursors(self, name: str = "older_than") -> list[int | None]:
        return [param(request, name) for request in self.requests]


def ids(count: int) -> list[int]:
    # Sparse, like real ids: consecutive messages are not consecutive integers.
    return [FIRST_ID + 1_000 * step for step in range(count)]


def count_in_windows(times: list[float], window: float) -> int:
    """The most requests any window of ``window`` seconds (ending at a request) saw."""
    return max((sum(1 for t in times if end - window < t <= end) for end in times), default=0)


def ok_user() -> httpx.Response:
    return httpx.Response(200, json={"type": "user", "id": 1842170699776, "full_name": "Jane Doe"})


def too_many(retry_after: str | None = None) -> httpx.Response:
    """Spec §9.9's 429, with or without Retry-After."""
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    return httpx.Response(429, json=load("error_429.json"), headers=headers)


def scripted(
    *responses: httpx.Response | type[Exception],
) -> tuple[list[httpx.Request], Callable[[httpx.Request], httpx.Response]]:
    """A handler answering with ``responses`` in order (an exception class is raised)."""
    seen: list[httpx.Request] = []
    queue: Iterator[httpx.Response | type[Exception]] = iter(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = next(queue)
        if isinstance(answer, type):
            raise answer("simulated", request=request)  # type: ignore[call-arg]
        return answer

    return seen, handler


class MemoryShared:
    """A ``SharedBudget`` in memory: what the PostgreSQL one keeps, for budgets in one test."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.granted: dict[str, list[list[float]]] = {}
        self.paused: dict[str, float] = {}

    async def take(self, bucket: str, limit: Limit) -> tuple[float, object | None]:
        await asyncio.sleep(0)  # a round trip: other coroutines may run meanwhile
        now = self.clock()
        paused = self.paused.get(bucket, float("-inf"))
        if paused > now:
            return paused - now, None
        if limit.requests is None:
            return 0.0, None
        slots = [s for s in self.granted.get(bucket, []) if s[0] > now - limit.window]
        self.granted[bucket] = slots
        if len(slots) >= limit.requests:
            return min(s[0] for s in slots) + limit.window - now, None
        slot = [now]
        slots.append(slot)
        return 0.0, slot

    async def in_window(self, windows: Mapping[str, float]) -> dict[str, int]:
        now = self.clock()
        return {
            bucket: sum(1 for s in self.granted.get(bucket, []) if s[0] > now - window)
            for bucket, window in windows.items()
        }

    async def restamp(self, bucket: str, stamp: object) -> None:
        assert isinstance(stamp, list)
        stamp[0] = max(stamp[0], self.clock())

    async def pause(self, bucket: str, seconds: float) -> None:
        now = self.clock()
        self.paused[bucket] = max(self.paused.get(bucket, float("-inf")), now + seconds)
