"""Each MicroblogClient call: its path and query, its payload, and the spec §9 data it reads."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from api.sync.client import MicroblogClient
from api.sync.errors import NotFound, PayloadError
from tests.unit.sync.fakes import TOKEN, envelope, ids, load, make_client, message

THREAD = 2269815632207872


def serve(routes: dict[str, Any], seen: list[httpx.Request] | None = None) -> Any:
    """A handler answering JSON by exact path; 404 for anything else."""

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        body = routes.get(request.url.path)
        if body is None:
            return httpx.Response(404)
        if isinstance(body, bytes):
            return httpx.Response(200, content=body)
        return httpx.Response(200, json=body)

    return handler


async def test_spec_payloads_through_their_endpoints() -> None:
    seen: list[httpx.Request] = []
    routes = {
        f"/api/v1/messages/in_thread/{THREAD}.json": load("in_thread.json"),
        f"/api/v1/threads/{THREAD}.json": load("thread.json"),
        "/api/v1/topics/5012399.json": load("topic.json"),
        "/api/v1/users/current.json": load("users.json")[0],
        "/api/v1/users/1842170699776.json": load("users.json")[0],
        "/api/v1/groups/123412865024.json": load("groups.json")[0],
        "/api/v1/messages/2269900000000001.json": load("direct_message.json"),
    }
    async with make_client(serve(routes, seen)) as client:
        page = await client.feed("in_thread", THREAD)
        assert len(page.messages) == 3
        thread = await client.thread(THREAD)
        assert thread.stats.first_reply_id == 2269821337362432
        assert (await client.topic(5012399)).normalized_name == "café"
        assert (await client.current_user()).email == "jane.doe@contoso.onmicrosoft.com"
        assert (await client.user(1842170699776)).full_name == "Jane Doe"
        assert (await client.group(123412865024)).full_name == "Platform Team"
        assert (await client.message(2269900000000001)).direct_message
    assert all(request.headers["Authorization"] == f"Bearer {TOKEN}" for request in seen)
    assert all(request.method == "GET" for request in seen)


async def test_feed_query_parameters() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=envelope([]))

    async with make_client(handler) as client:
        await client.feed("about_topic", 5012399, older_than=9, newer_than=3, limit=5)
        await client.feed("from_user", 1842170699776, threaded=True)
        await client.feed("in_group", "company", threaded="extended")
    assert str(seen[0].url) == (
        "http://microblog.test/api/v1/messages/about_topic/5012399.json"
        "?limit=5&older_than=9&newer_than=3"
    )
    assert seen[1].url.params["threaded"] == "true"
    assert seen[2].url.path == "/api/v1/messages/in_group/company.json"
    assert seen[2].url.params["threaded"] == "extended"


async def test_feed_arguments_are_checked_before_any_request() -> None:
    async with make_client(serve({})) as client:
        with pytest.raises(ValueError, match="feed kind"):
            await client.feed("following", 1)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="limit"):
            await client.feed("in_group", 1, limit=50)
        with pytest.raises(ValueError, match="id"):
            await client.feed("in_group", "1/../../users")
        with pytest.raises(ValueError, match="id"):
            await client.user(True)
        assert client.stats.requests == 0


async def test_message_is_a_bare_object_but_an_envelope_is_tolerated() -> None:
    wrapped = envelope([message(ids(2)[0]), message(8)])
    routes = {"/api/v1/messages/8.json": wrapped, "/api/v1/messages/9.json": wrapped}
    async with make_client(serve(routes)) as client:
        assert (await client.message(8)).id == 8
        with pytest.raises(PayloadError, match="message 9"):
            await client.message(9)


async def test_a_deleted_message_is_not_found() -> None:
    async with make_client(serve({})) as client:
        with pytest.raises(NotFound) as caught:
            await client.message(2269815632207872)
    assert caught.value.status == 404


def zipped(**files: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


async def test_export_returns_the_zip() -> None:
    seen: list[httpx.Request] = []
    archive = zipped(**{"Messages.csv": "id,body\n1,hi\n", "Users.csv": "id\n"})
    async with make_client(serve({"/api/v1/export": archive}, seen)) as client:
        since = datetime(2023, 5, 16, tzinfo=UTC)
        data = await client.export(since, datetime(2023, 6, 1, tzinfo=UTC), models=["Message"])
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == ["Messages.csv", "Users.csv"]
    params = seen[0].url.params
    assert params["since"] == "2023-05-16T00:00:00+00:00"
    assert params["until"] == "2023-06-01T00:00:00+00:00"
    assert params.get_list("model") == ["Message"]
    assert params["include"] == "csv"


async def test_export_that_is_not_a_zip_is_a_payload_error() -> None:
    async with make_client(serve({"/api/v1/export": b"<html>sign in</html>"})) as client:
        with pytest.raises(PayloadError, match="ZIP"):
            await client.export(datetime(2023, 5, 16, tzinfo=UTC))
        with pytest.raises(ValueError, match="timezone"):
            await client.export(datetime(2023, 5, 16))


async def test_base_url_may_name_the_api_root() -> None:
    seen: list[httpx.Request] = []
    handler = serve({"/api/v1/users/current.json": {"id": 1}}, seen)
    for base in ("http://microblog.test/api/v1/", "http://microblog.test/"):
        async with MicroblogClient(base, TOKEN, transport=httpx.MockTransport(handler)) as client:
            await client.current_user()
    assert [str(request.url) for request in seen] == [
        "http://microblog.test/api/v1/users/current.json"
    ] * 2


async def test_take_stats_hands_over_the_counters() -> None:
    async with make_client(serve({"/api/v1/users/current.json": {"id": 1}})) as client:
        await client.current_user()
        await client.current_user()
        taken = client.take_stats()
        assert (taken.requests, dict(taken.by_status)) == (2, {"200": 2})
        assert client.stats.requests == 0


async def test_search_topics_reads_only_the_topics_of_a_search() -> None:
    seen: list[httpx.Request] = []
    topic = load("topic.json")
    result = {
        "count": {"messages": 1, "groups": 0, "topics": 1, "users": 0},
        # Sections the client does not read may take any shape without failing the call.
        "messages": {"messages": [{"id": "not-a-message"}]},
        "groups": [],
        "topics": [{**topic, "followers_count": 3}],
        "users": [],
    }
    async with make_client(serve({"/api/v1/search.json": result}, seen)) as client:
        found = await client.search_topics("café")
    assert [(t.id, t.normalized_name) for t in found] == [(5012399, "café")]
    assert seen[0].url.params["search"] == "#café"
