"""The rate budget (api.sync.budget): sliding windows per bucket, penalties, counts."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from api.sync.budget import MESSAGES, OTHER, Limit, RateBudget, bucket_for
from tests.unit.sync.fakes import FakeClock, MemoryShared, count_in_windows


def budget(clock: FakeClock, **options: object) -> RateBudget:
    return RateBudget(clock=clock, sleep=clock.sleep, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "bucket"),
    [
        ("/api/v1/messages.json", MESSAGES),
        ("/api/v1/messages/in_group/123.json?older_than=5", MESSAGES),
        ("/api/v1/messages/in_thread/123.json", MESSAGES),
        ("/api/v1/messages/2269815632207872.json", MESSAGES),
        ("/api/v1/users/liked_message/2269815632207872.json", OTHER),
        ("/api/v1/users.json", OTHER),
        ("/api/v1/groups.json?mine=true", OTHER),
        ("/api/v1/threads/1.json", OTHER),
        ("/api/v1/topics/1.json", OTHER),
        ("/api/v1/export", OTHER),
    ],
)
def test_paths_map_to_buckets(path: str, bucket: str) -> None:
    assert bucket_for(path) == bucket


async def test_sequential_requests_are_spaced_by_the_window() -> None:
    clock = FakeClock()
    rates = budget(clock)
    granted = []
    for _ in range(25):
        (await rates.acquire(MESSAGES)).done()
        granted.append(clock.now)
    start = granted[0]
    assert granted == [start] * 10 + [start + 30] * 10 + [start + 60] * 5
    assert count_in_windows(granted, 30) == 10


async def test_concurrent_requests_never_exceed_the_budget() -> None:
    clock = FakeClock()
    rates = budget(clock)
    granted: list[float] = []

    async def request() -> None:
        grant = await rates.acquire(MESSAGES)
        granted.append(clock.now)
        await clock.sleep(0.25)  # in flight
        grant.done()

    await asyncio.gather(*(request() for _ in range(47)))
    assert len(granted) == 47
    assert count_in_windows(granted, 30) <= 10


async def test_a_slot_counts_from_when_its_response_came_back() -> None:
    # The server saw the request somewhere between grant and completion; only counting from
    # completion keeps the server's own sliding window within the limit whatever the latency.
    clock = FakeClock()
    rates = budget(clock, requests=2, window=10.0)
    first = await rates.acquire(OTHER)
    await clock.sleep(4)
    first.done()  # completed at +4
    (await rates.acquire(OTHER)).done()  # second slot at +4
    started = clock.now
    (await rates.acquire(OTHER)).done()
    assert clock.now == started + 10  # not +6, which counting from the grant would allow


async def test_buckets_are_independent_and_configurable() -> None:
    clock = FakeClock()
    rates = budget(clock, limits={OTHER: Limit(3, 10.0)})
    for _ in range(10):
        (await rates.acquire(MESSAGES)).done()
    for _ in range(3):
        (await rates.acquire(OTHER)).done()
    assert clock.sleeps == []  # 10 messages and 3 others fit in the same moment
    (await rates.acquire(OTHER)).done()
    assert clock.sleeps == [10.0]
    status = rates.status()
    assert status[MESSAGES].requests_in_window == 10  # 10 s later, still in its 30 s window
    assert status[OTHER].requests_in_window == 1  # the first three left its 10 s window
    assert (status[OTHER].limit, status[OTHER].window) == (3, 10.0)


async def test_requests_in_the_last_window_are_counted() -> None:
    clock = FakeClock()
    rates = budget(clock)
    for _ in range(4):
        (await rates.acquire(MESSAGES)).done()
    await clock.sleep(20)
    for _ in range(3):
        (await rates.acquire(MESSAGES)).done()
    assert rates.in_window(MESSAGES) == 7
    await clock.sleep(15)  # the first four are now more than 30 s old
    assert rates.in_window(MESSAGES) == 3
    status = rates.status()[MESSAGES]
    assert (status.requests_in_window, status.total, status.limit, status.window) == (3, 7, 10, 30)
    assert rates.in_window(OTHER) == 0


async def test_penalise_pauses_one_bucket_for_everyone() -> None:
    clock = FakeClock()
    rates = budget(clock)
    rates.penalise(MESSAGES, 30)
    rates.penalise(MESSAGES, 5)  # a shorter penalty does not shorten the pause
    assert rates.status()[MESSAGES].paused_for == 30
    start = clock.now
    (await rates.acquire(OTHER)).done()
    assert clock.now == start  # the other bucket is unaffected
    (await rates.acquire(MESSAGES)).done()
    assert clock.now == start + 30


async def test_lifted_budget_counts_but_never_waits() -> None:
    clock = FakeClock()
    rates = RateBudget.lifted(clock=clock, sleep=clock.sleep)
    for _ in range(500):
        (await rates.acquire(MESSAGES)).done()
    assert clock.sleeps == []
    assert rates.in_window(MESSAGES) == 500
    assert rates.status()[MESSAGES].limit is None
    rates.penalise(MESSAGES, 12)  # a 429 is still honoured
    (await rates.acquire(MESSAGES)).done()
    assert clock.sleeps == [12]


async def test_lift_at_runtime() -> None:
    clock = FakeClock()
    rates = budget(clock)
    rates.lift()
    for _ in range(50):
        (await rates.acquire(OTHER)).done()
    assert clock.sleeps == []
    (await rates.acquire("autocomplete")).done()  # buckets made later are lifted too
    assert rates.status()["autocomplete"].limit is None


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Limit(0, 30)
    with pytest.raises(ValueError, match="positive"):
        Limit(10, 0)


# -- a budget shared between processes -----------------------------------------------------------


async def test_budgets_sharing_a_token_never_exceed_it_together() -> None:
    # Two processes (a worker and `sync --once`, or a worker restarted) on one token.
    clock = FakeClock()
    shared = MemoryShared(clock)
    one, other = budget(clock), budget(clock)
    one.share(shared)
    other.share(shared)
    granted: list[float] = []

    async def request(rates: RateBudget) -> None:
        grant = await rates.acquire(MESSAGES)
        granted.append(clock.now)
        await clock.sleep(0.25)  # in flight
        await rates.release(grant)

    await asyncio.gather(*(request(one if i % 2 else other) for i in range(40)))
    assert len(granted) == 40
    assert count_in_windows(granted, 30) <= 10  # each alone would have allowed 20


async def test_a_new_budget_starts_from_what_the_token_spent() -> None:
    clock = FakeClock()
    shared = MemoryShared(clock)
    before = budget(clock)
    before.share(shared)
    for _ in range(10):
        await before.release(await before.acquire(OTHER))
    restarted = budget(clock)  # a full budget in memory, but not in the shared one
    restarted.share(shared)
    start = clock.now
    await restarted.release(await restarted.acquire(OTHER))
    assert clock.now == start + 30


async def test_requests_in_window_are_the_tokens_across_budgets() -> None:
    clock = FakeClock()
    shared = MemoryShared(clock)
    one, other, alone = budget(clock), budget(clock), RateBudget.lifted(clock=clock)
    one.share(shared)
    other.share(shared)
    for rates, bucket in ((one, MESSAGES), (other, MESSAGES), (other, OTHER), (alone, OTHER)):
        await rates.release(await rates.acquire(bucket))
    assert await one.requests_in_window() == 3  # this process asked once; the token, thrice
    assert await alone.requests_in_window() == 1  # no shared budget: its own
    await clock.sleep(31)  # past the window
    assert await one.requests_in_window() == 0


async def test_requests_in_window_fall_back_to_this_process_when_the_shared_count_fails() -> None:
    class Unreachable(MemoryShared):
        async def in_window(self, windows: Mapping[str, float]) -> dict[str, int]:
            raise OSError("the database is away")

    clock = FakeClock()
    shared = Unreachable(clock)
    one, other = budget(clock), budget(clock)
    one.share(shared)
    other.share(shared)
    await one.release(await one.acquire(MESSAGES))
    await other.release(await other.acquire(MESSAGES))
    assert await one.requests_in_window() == 1


async def test_a_pause_holds_every_budget_sharing_the_token() -> None:
    clock = FakeClock()
    shared = MemoryShared(clock)
    one, other = budget(clock), budget(clock)
    one.share(shared)
    other.share(shared)
    await one.pause(MESSAGES, 12)  # a 429's Retry-After, seen by one
    start = clock.now
    await other.release(await other.acquire(MESSAGES))
    assert clock.now == start + 12


async def test_a_shared_slot_counts_from_when_its_response_came_back() -> None:
    clock = FakeClock()
    shared = MemoryShared(clock)
    rates = budget(clock, requests=1, window=10.0)
    rates.share(shared)
    grant = await rates.acquire(OTHER)
    await clock.sleep(4)
    await rates.release(grant)  # re-stamped at +4 in the shared budget too
    other = budget(clock, requests=1, window=10.0)
    other.share(shared)
    started = clock.now
    await other.release(await other.acquire(OTHER))
    assert clock.now == started + 10
