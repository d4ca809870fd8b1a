"""Feed and list paging (api.sync.paging via MicroblogClient) against spec §5's rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.unit.sync.fakes import (
    START,
    FeedServer,
    envelope,
    ids,
    make_client,
    message,
    param,
)


def feed_of(count: int, **knobs: Any) -> FeedServer:
    return FeedServer([message(i) for i in ids(count)], **knobs)


async def walk(server: FeedServer, **options: Any) -> tuple[list[list[int]], str | None]:
    async with make_client(server) as client:
        walker = client.iter_feed("in_group", 123412865024, **options)
        pages = [[m.id for m in page.messages] async for page in walker]
    return pages, walker.stop_reason


# -- backwards paging -------------------------------------------------------------------------


async def test_pages_backwards_with_older_than_the_smallest_id() -> None:
    server = feed_of(45)
    pages, reason = await walk(server)
    assert [len(page) for page in pages] == [20, 20, 5]
    assert server.cursors() == [None, min(pages[0]), min(pages[1])]
    assert sorted(i for page in pages for i in page) == ids(45)
    assert reason == "short_page"
    assert all(param(request, "limit") == 20 for request in server.requests)
    assert server.requests[0].url.path == "/api/v1/messages/in_group/123412865024.json"


async def test_a_feed_of_exactly_whole_pages_ends_on_the_empty_page() -> None:
    server = feed_of(40)
    pages, reason = await walk(server)
    assert [len(page) for page in pages] == [20, 20, 0]
    assert reason == "short_page"


async def test_stops_on_a_short_page_even_when_older_available_says_true() -> None:
    server = feed_of(7, older_available=True)
    pages, reason = await walk(server)
    assert [len(page) for page in pages] == [7]
    assert len(server.requests) == 1
    assert reason == "short_page"


async def test_keeps_going_on_a_full_page_when_older_available_says_false() -> None:
    # older_available is known to say false while older messages exist (spec §5.2).
    server = feed_of(30, older_available=False)
    pages, _ = await walk(server)
    assert [len(page) for page in pages] == [20, 10]


async def test_no_progress_guard_when_the_server_ignores_older_than() -> None:
    server = feed_of(100, honour_older_than=False)
    pages, reason = await walk(server)
    assert len(pages) == 2  # the repeat is yielded (upserts make it harmless), then stop
    assert pages[0] == pages[1]
    assert reason == "no_progress"


async def test_resumes_from_a_given_cursor_and_reports_the_next_one() -> None:
    server = feed_of(60)
    all_ids = sorted(ids(60), reverse=True)
    async with make_client(server) as client:
        walker = client.iter_feed("in_thread", 5, older_than=all_ids[9], max_pages=2)
        pages = [page async for page in walker]
    assert [m.id for m in pages[0].messages] == all_ids[10:30]
    assert len(pages) == 2
    assert walker.stop_reason == "max_pages"
    assert walker.next_older_than == all_ids[49]  # where a later walk picks up


# -- polling --------------------------------------------------------------------------------


async def test_newer_than_polls_only_new_messages_across_pages() -> None:
    server = feed_of(70)
    seen = sorted(ids(70))[24]  # 45 messages are newer than what we have
    pages, reason = await walk(server, newer_than=seen)
    fetched = sorted(i for page in pages for i in page)
    assert fetched == sorted(ids(70))[25:]
    assert server.cursors("newer_than") == [seen] * 3  # the lower bound stays on every page
    assert reason == "short_page"


async def test_polling_when_nothing_is_new_costs_one_request() -> None:
    server = feed_of(30)
    pages, reason = await walk(server, newer_than=max(ids(30)))
    assert pages == [[]]
    assert reason == "short_page"


async def test_polling_stops_at_newer_than_even_if_the_server_ignores_it() -> None:
    server = feed_of(100, honour_newer_than=False)
    seen = sorted(ids(100))[70]
    pages, reason = await walk(server, newer_than=seen)
    assert len(pages) == 2  # not the 5 pages of the whole feed
    assert reason == "caught_up"


# -- backfill horizon -------------------------------------------------------------------------


async def test_backfill_stops_at_the_horizon() -> None:
    # One message an hour, newest first: page 1 covers hours 0-19, page 2 hours 20-39, ...
    newest = START + timedelta(hours=100)
    messages = [
        message(i, created_at=newest - timedelta(hours=n))
        for n, i in enumerate(sorted(ids(100), reverse=True))
    ]
    server = FeedServer(messages)
    pages, reason = await walk(server, horizon=newest - timedelta(hours=30))
    assert [len(page) for page in pages] == [20, 20]
    assert reason == "horizon"


async def test_threaded_feeds_page_on_the_threads_latest_reply() -> None:
    # Threads ordered by activity: the cursor is the smallest latest_reply_id on the page.
    starters = sorted(ids(20), reverse=True)
    latest = {starter: starter + 500 for starter in starters}
    refs = [
        {"type": "thread", "id": s, "thread_starter_id": s, "stats": {"latest_reply_id": r}}
        for s, r in latest.items()
    ]
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        page = envelope([message(s) for s in starters] if len(requests) == 1 else [])
        return httpx.Response(200, json=page | {"references": refs})

    async with make_client(handler) as client:
        pages = [page async for page in client.iter_feed("in_group", 1, threaded="extended")]
    assert len(pages) == 2
    assert requests[0].url.params["threaded"] == "extended"
    assert param(requests[1], "older_than") == min(latest.values())


# -- numbered lists -----------------------------------------------------------------------------


def directory(
    count: int, kind: str, *, honour_page: bool = True, per_page: int = 50
) -> tuple[list[int], Any]:
    pages: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        number = param(request, "page") or 1
        pages.append(number)
        first = 0 if not honour_page else (number - 1) * per_page
        end = min(first + per_page, count)
        rows = [{"type": kind, "id": 1000 + n} for n in range(first, end)]
        return httpx.Response(200, json=rows)

    return pages, handler


@pytest.mark.parametrize(
    ("count", "per_page", "requests"),
    [(0, 50, 1), (19, 50, 1), (20, 50, 2), (100, 50, 3), (120, 50, 3), (45, 20, 3), (40, 20, 3)],
)
async def test_groups_page_until_a_short_or_empty_page(
    count: int, per_page: int, requests: int
) -> None:
    """By 50 as documented, or by 20 as some clients say groups.json pages: all are listed."""
    pages, handler = directory(count, "group", per_page=per_page)
    async with make_client(handler) as client:
        listed = [group.id async for page in client.iter_groups() for group in page]
    assert listed == [1000 + n for n in range(count)]
    assert pages == list(range(1, requests + 1))


async def test_private_groups_with_mine_true() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[{"type": "group", "id": 9, "privacy": "private"}])

    async with make_client(handler) as client:
        [[group]] = [page async for page in client.iter_groups(mine=True)]
    assert group.is_private
    assert seen[0].url.params["mine"] == "true"
    assert seen[0].url.path == "/api/v1/groups.json"


async def test_users_stop_when_the_server_ignores_page() -> None:
    pages, handler = directory(500, "user", honour_page=False)
    async with make_client(handler) as client:
        listed = [page async for page in client.iter_users()]
    assert len(listed) == 1
    assert pages == [1, 2]


async def test_likers_page_on_more_available() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        number = param(request, "page") or 1
        users = [{"type": "user", "id": number * 10 + n} for n in range(3)]
        return httpx.Response(200, json={"users": users, "more_available": str(number < 3).lower()})

    async with make_client(handler) as client:
        likers = await client.liked_by(2269815632207872)
        assert client.stats.requests == 3
    assert [u.id for u in likers] == [10, 11, 12, 20, 21, 22, 30, 31, 32]


async def test_likers_stop_when_pages_repeat() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"users": [{"id": 1}], "more_available": True})

    async with make_client(handler) as client:
        assert [u.id for u in await client.liked_by(5)] == [1]
        assert client.stats.requests == 2
