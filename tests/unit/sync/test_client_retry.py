"""Retries (api.sync.http): 429 with and without Retry-After, 5xx, timeouts, connection errors."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from api.sync.budget import MESSAGES, OTHER, RateBudget
from api.sync.errors import MicroblogUnavailable, RateLimited
from tests.unit.sync.fakes import FakeClock, load, make_client, ok_user, scripted, too_many

# -- 429 --------------------------------------------------------------------------------------


async def test_429_honours_retry_after() -> None:
    clock = FakeClock()
    seen, handler = scripted(too_many("30"), ok_user())
    async with make_client(handler, clock) as client:
        user = await client.current_user()
        assert user.full_name == "Jane Doe"
        assert clock.sleeps == [30.0]
        assert client.budget.status()[OTHER].paused_for == 0  # the pause has been served
        assert client.stats.as_dict() == {
            "requests": 2,
            "retries": 1,
            "by_status": {"200": 1, "429": 1},
        }
    assert len(seen) == 2


async def test_429_pauses_the_bucket_for_everyone_sharing_the_budget() -> None:
    clock = FakeClock()
    _, handler = scripted(too_many("45"), ok_user())
    budget = RateBudget.lifted(clock=clock, sleep=clock.sleep)
    async with make_client(handler, clock, budget=budget, max_retries=0) as client:
        with pytest.raises(RateLimited) as caught:
            await client.current_user()
    assert caught.value.retry_after == 45
    assert budget.status()[OTHER].paused_for == 45
    assert budget.status()[MESSAGES].paused_for == 0


async def test_429_without_retry_after_backs_off_exponentially_with_jitter() -> None:
    clock = FakeClock()
    _, handler = scripted(too_many(), too_many(), too_many(), ok_user())
    async with make_client(handler, clock) as client:
        await client.current_user()
    first, second, third = clock.sleeps
    # Equal jitter from a 10 s base: [5, 10], [10, 20], [20, 40].
    assert 5 <= first <= 10
    assert 10 <= second <= 20
    assert 20 <= third <= 40
    assert len({first / 10, second / 20, third / 40}) == 3  # jittered, not lockstep


async def test_429_that_persists_raises_rate_limited() -> None:
    clock = FakeClock()
    seen, handler = scripted(*[too_many("7")] * 5)
    async with make_client(handler, clock, max_retries=4) as client:
        with pytest.raises(RateLimited) as caught:
            await client.feed("in_group", 123)
        assert client.stats.retries == 4
    assert len(seen) == 5
    assert clock.sleeps == [7.0] * 4
    assert caught.value.status == 429
    assert caught.value.retry_after == 7
    assert caught.value.path is not None
    assert caught.value.path.startswith("/api/v1/messages/in_group/123.json?limit=20")


async def test_a_retry_after_too_long_to_wait_raises_at_once() -> None:
    clock = FakeClock()
    seen, handler = scripted(too_many("3600"))
    async with make_client(handler, clock) as client:
        with pytest.raises(RateLimited) as caught:
            await client.current_user()
        assert client.budget.status()[OTHER].paused_for == 3600
    assert len(seen) == 1
    assert clock.sleeps == []
    assert (caught.value.retry_after, caught.value.code) == (3600, 33)


async def test_retry_after_as_an_http_date() -> None:
    clock = FakeClock()
    now = format_datetime(datetime.now(UTC), usegmt=True)
    _, handler = scripted(too_many(now), ok_user())
    async with make_client(handler, clock) as client:
        await client.current_user()
    assert clock.sleeps == [0.0]  # a date in the past (or now) means "retry now"


async def test_legacy_403_rate_limit_is_a_rate_limit() -> None:
    # The 2009 API said 403 with code 33; a 403 without it is a permission error.
    clock = FakeClock()
    _, handler = scripted(httpx.Response(403, json=load("error_429.json")), ok_user())
    async with make_client(handler, clock) as client:
        await client.current_user()
    assert len(clock.sleeps) == 1


# -- 5xx, timeouts, connection errors ---------------------------------------------------------


async def test_5xx_is_retried_then_succeeds() -> None:
    clock = FakeClock()
    _, handler = scripted(httpx.Response(502), httpx.Response(503), ok_user())
    async with make_client(handler, clock) as client:
        await client.current_user()
        assert client.stats.by_status == {"502": 1, "503": 1, "200": 1}
    assert 0.5 <= clock.sleeps[0] <= 1
    assert 1 <= clock.sleeps[1] <= 2


async def test_5xx_that_persists_raises_unavailable_after_bounded_retries() -> None:
    clock = FakeClock()
    seen, handler = scripted(*[httpx.Response(500)] * 4)
    async with make_client(handler, clock, max_retries=3, backoff_base=2.0) as client:
        with pytest.raises(MicroblogUnavailable) as caught:
            await client.user(1842170699776)
    assert len(seen) == 4
    for attempt, slept in enumerate(clock.sleeps):
        assert 2 * 2**attempt / 2 <= slept <= 2 * 2**attempt
    assert caught.value.status == 500
    assert caught.value.path == "/api/v1/users/1842170699776.json"


@pytest.mark.parametrize(
    ("failure", "outcome"),
    [
        (httpx.ReadTimeout, "timeout"),
        (httpx.ConnectTimeout, "timeout"),
        (httpx.ConnectError, "network"),
    ],
)
async def test_timeouts_and_connection_errors_are_retried(
    failure: type[Exception], outcome: str
) -> None:
    clock = FakeClock()
    _, handler = scripted(failure, failure, ok_user())
    async with make_client(handler, clock) as client:
        await client.current_user()
        assert client.stats.by_status == {outcome: 2, "200": 1}
    assert len(clock.sleeps) == 2


async def test_timeouts_that_persist_raise_unavailable() -> None:
    clock = FakeClock()
    seen, handler = scripted(*[httpx.ReadTimeout] * 3)
    async with make_client(handler, clock, max_retries=2) as client:
        with pytest.raises(MicroblogUnavailable, match="timeout after 3 attempts") as caught:
            await client.current_user()
    assert caught.value.status is None
    assert len(seen) == 3
