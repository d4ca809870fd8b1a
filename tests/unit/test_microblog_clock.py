"""The worker's clock when it follows the microblog's Date header."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from api.sync.microblog_clock import DatedTransport, MicroblogClock

REAL = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class Seconds:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_it_follows_the_latest_date_and_moves_with_real_time_between() -> None:
    seconds = Seconds()
    clock = MicroblogClock(real=lambda: REAL, monotonic=seconds)
    assert clock() == REAL  # nothing heard yet
    clock.observe("Mon, 02 Nov 2026 09:00:00 GMT")
    assert clock() == datetime(2026, 11, 2, 9, tzinfo=UTC)
    seconds.now += 1.5
    assert clock() == datetime(2026, 11, 2, 9, tzinfo=UTC) + timedelta(seconds=1.5)
    clock.observe("Tue, 03 Nov 2026 10:00:00 GMT")  # the demo's clock runs fast
    assert clock() == datetime(2026, 11, 3, 10, tzinfo=UTC)
    clock.observe("not a date")
    clock.observe(None)
    assert clock() == datetime(2026, 11, 3, 10, tzinfo=UTC)


def test_it_never_steps_back_to_a_coarser_date() -> None:
    seconds = Seconds()
    clock = MicroblogClock(monotonic=seconds)
    clock.observe("Mon, 02 Nov 2026 09:00:00 GMT")
    seconds.now += 0.9
    ahead = clock()
    clock.observe("Mon, 02 Nov 2026 09:00:00 GMT")  # the same whole second, read later
    assert clock() == ahead


async def test_the_transport_shows_every_answer_to_the_clock() -> None:
    clock = MicroblogClock()

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={}, headers={"Date": "Wed, 04 Nov 2026 08:30:00 GMT"})

    transport = DatedTransport(clock, httpx.MockTransport(answer))
    async with httpx.AsyncClient(transport=transport, base_url="http://microblog") as http:
        await http.get("/api/v1/users/current.json")
    assert clock() - datetime(2026, 11, 4, 8, 30, tzinfo=UTC) < timedelta(seconds=5)
