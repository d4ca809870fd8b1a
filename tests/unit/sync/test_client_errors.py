"""Errors that are not retried, the budget end to end, and the token's secrecy."""

from __future__ import annotations

import logging

import httpx
import pytest

from api.sync.budget import MESSAGES, OTHER, RateBudget
from api.sync.errors import (
    AuthFailed,
    Forbidden,
    MicroblogError,
    MicroblogUnavailable,
    NotFound,
    PayloadError,
)
from tests.unit.sync.fakes import (
    TOKEN,
    FakeClock,
    FeedServer,
    count_in_windows,
    envelope,
    ids,
    load,
    make_client,
    message,
    ok_user,
    scripted,
    too_many,
)

# -- errors that are not retried ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (401, load("error_401.json"), AuthFailed, 16),
        (403, {"response": {"message": "Private group", "stat": "fail"}}, Forbidden, None),
        (404, None, NotFound, None),
        (400, {"response": {"message": "Bad request", "code": 2}}, MicroblogError, 2),
    ],
)
async def test_client_errors_are_mapped_and_not_retried(
    status: int, body: object, error: type[MicroblogError], code: int | None
) -> None:
    clock = FakeClock()
    answer = httpx.Response(status, json=body) if body else httpx.Response(status, text="gone")
    seen, handler = scripted(answer)
    async with make_client(handler, clock) as client:
        with pytest.raises(MicroblogError) as caught:
            await client.message(2269815632207872)
    assert type(caught.value) is error
    assert (caught.value.status, caught.value.code) == (status, code)
    assert caught.value.path == "/api/v1/messages/2269815632207872.json"
    assert len(seen) == 1
    assert clock.sleeps == []


async def test_auth_failure_carries_the_microblogs_message() -> None:
    _, handler = scripted(httpx.Response(401, json=load("error_401.json")))
    async with make_client(handler) as client:
        with pytest.raises(AuthFailed, match=r"Token not found\. on GET /api/v1/users/current"):
            await client.current_user()


async def test_a_200_that_is_not_json_is_retried_like_a_5xx() -> None:
    # A proxy's maintenance page, then a document cut short on the way, then the real answer.
    clock = FakeClock()
    seen, handler = scripted(
        httpx.Response(200, text="<html>maintenance</html>"),
        httpx.Response(200, text='{"type": "user", "id": 18421'),
        ok_user(),
    )
    async with make_client(handler, clock) as client:
        user = await client.current_user()
        assert client.stats.retries == 2
        assert client.stats.by_status["bad_body"] == 2
    assert user.id == 1842170699776
    assert len(seen) == 3
    assert len(clock.sleeps) == 2  # backed off like a 5xx


async def test_a_body_that_stays_unreadable_fails_clearly() -> None:
    seen, handler = scripted(*[httpx.Response(200, text="<html>maintenance</html>")] * 5)
    async with make_client(handler) as client:
        with pytest.raises(PayloadError, match="not JSON after 5 attempts") as caught:
            await client.current_user()
    assert len(seen) == 5
    assert caught.value.path == "/api/v1/users/current.json"


async def test_json_of_the_wrong_shape_is_a_payload_error_at_once() -> None:
    # Valid JSON that is not the documented shape is a schema change, not a glitch on the
    # way: asking again would only spend the budget.
    seen, handler = scripted(
        httpx.Response(200, json=envelope([message(ids(1)[0]) | {"created_at": "yesterday"}])),
    )
    async with make_client(handler) as client:
        with pytest.raises(PayloadError, match=r"messages\.0\.created_at") as caught:
            await client.feed("in_group", 5, older_than=99)
    assert caught.value.path == "/api/v1/messages/in_group/5.json?limit=20&older_than=99"
    assert len(seen) == 1


# -- the budget, end to end --------------------------------------------------------------------


async def test_the_client_never_exceeds_the_budget() -> None:
    clock = FakeClock()
    arrivals: dict[str, list[float]] = {MESSAGES: [], OTHER: []}
    feed = FeedServer([message(i) for i in ids(400)])

    async def handler(request: httpx.Request) -> httpx.Response:
        bucket = MESSAGES if "/messages/" in request.url.path else OTHER
        # Slow first requests, fast later ones: where counting a slot from its grant instead
        # of its completion would overrun the server's window.
        await clock.sleep(2.0 if len(arrivals[bucket]) < 10 else 0.1)
        arrivals[bucket].append(clock.now)  # the server counts it here
        await clock.sleep(0.4)
        return feed(request) if bucket == MESSAGES else ok_user()

    budget = RateBudget(clock=clock, sleep=clock.sleep)
    async with make_client(handler, clock, budget=budget) as client:
        pages = [page async for page in client.iter_feed("in_group", 123)]
        for _ in range(25):
            await client.current_user()
    assert len(pages) == 21  # 400 messages: 20 full pages and the empty one that ends it
    assert count_in_windows(arrivals[MESSAGES], 30.0) == 10
    assert count_in_windows(arrivals[OTHER], 30.0) == 10
    assert budget.status()[MESSAGES].total == 21


# -- the token -------------------------------------------------------------------------------


async def test_the_token_is_sent_but_never_logged_or_shown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    seen, handler = scripted(
        too_many("1"),
        httpx.Response(503),
        httpx.ReadTimeout,
        ok_user(),
        httpx.Response(401, json=load("error_401.json")),
        *[httpx.Response(500)] * 5,
    )
    errors: list[Exception] = []
    async with make_client(handler, clock) as client:
        await client.current_user()
        for call in (client.current_user, lambda: client.user(5)):
            try:
                await call()
            except MicroblogError as exc:
                errors.append(exc)
        shown = repr(client)
    assert seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert "retry" in caplog.text  # the retries were logged...
    assert TOKEN not in caplog.text  # ...without the token
    assert all(TOKEN not in str(error) and TOKEN not in repr(error) for error in errors)
    assert [type(error) for error in errors] == [AuthFailed, MicroblogUnavailable]
    assert TOKEN not in shown


def test_bad_tokens_are_refused_without_echoing_them() -> None:
    for token in ("", " padded ", "line\nbreak"):
        with pytest.raises(ValueError, match="token") as caught:
            make_client(lambda request: ok_user(), token=token)
        assert token.strip() == "" or token.strip() not in str(caught.value)
