"""Message feeds over the ASGI app: paging, threading, references and the single-item routes."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from api.simulator import Network
from tests.simulator.conftest import by_type

pytestmark = pytest.mark.unit

Get = Callable[..., Any]
YAMMER_TIME = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} \+0000$")


async def _walk(get_json: Get, path: str, **params: Any) -> list[dict[str, Any]]:
    """Page backwards with older_than = min(id), as a client does, until a short page."""
    pages: list[dict[str, Any]] = []
    cursor: int | None = None
    while True:
        extra = {"older_than": cursor} if cursor else {}
        page = await get_json(path, **params, **extra)
        pages.append(page)
        if len(page["messages"]) < min(int(params.get("limit", 20)), 20):
            return pages
        cursor = min(m["id"] for m in page["messages"])


async def test_all_feed_pages_newest_first_20_at_a_time(network: Network, get_json: Get) -> None:
    pages = await _walk(get_json, "/api/v1/messages.json")
    sizes = [len(p["messages"]) for p in pages]
    assert sizes == [20, 20, 4]
    assert [p["meta"]["older_available"] for p in pages] == [True, True, False]
    ids = [m["id"] for p in pages for m in p["messages"]]
    assert ids == sorted((m.id for m in network.visible_messages()), reverse=True)


async def test_limit_lowers_but_never_raises_the_page(get_json: Get) -> None:
    assert len((await get_json("/api/v1/messages.json", limit=5))["messages"]) == 5
    assert len((await get_json("/api/v1/messages.json", limit=50))["messages"]) == 20
    await get_json("/api/v1/messages.json", status=400, older_than="abc")


async def test_older_and_newer_than_are_strict(network: Network, get_json: Get) -> None:
    ids = sorted((m.id for m in network.visible_messages()), reverse=True)
    newer = await get_json("/api/v1/messages.json", newer_than=ids[3])
    assert [m["id"] for m in newer["messages"]] == ids[:3]
    older = await get_json("/api/v1/messages.json", older_than=ids[40])
    assert [m["id"] for m in older["messages"]] == ids[41:]
    both = await get_json("/api/v1/messages.json", older_than=ids[2], newer_than=ids[5])
    assert [m["id"] for m in both["messages"]] == ids[3:5]


async def test_new_messages_show_up_with_newer_than(network: Network, get_json: Get) -> None:
    latest = max(m.id for m in network.visible_messages())
    post = network.add_message(network.current_user_id, "Fresh #leadership tip")
    page = await get_json("/api/v1/messages.json", newer_than=latest)
    assert [m["id"] for m in page["messages"]] == [post.id]


async def test_threaded_true_lists_starters_by_latest_activity(
    network: Network, get_json: Get
) -> None:
    seen: list[int] = []
    cursor: int | None = None
    while True:
        params: dict[str, Any] = {"threaded": "true", "limit": 6}
        if cursor:
            params["older_than"] = cursor
        page = await get_json("/api/v1/messages.json", **params)
        threads = by_type(page["references"], "thread")
        assert all(m["id"] == m["thread_id"] for m in page["messages"])
        activity = [threads[m["id"]]["stats"]["latest_reply_id"] for m in page["messages"]]
        assert activity == sorted(activity, reverse=True)
        seen += [m["id"] for m in page["messages"]]
        if len(page["messages"]) < 6:
            break
        # Threaded feeds page on the threads' latest activity, not on the starters' ids.
        cursor = min(activity)
    visible_threads = {m.thread_id for m in network.visible_messages()}
    assert sorted(seen) == sorted(visible_threads)
    assert len(seen) == len(set(seen))


async def test_a_new_reply_bumps_its_thread_to_the_top(network: Network, get_json: Get) -> None:
    oldest = network.visible_messages()[0]
    network.add_message(network.current_user_id, "Still relevant!", replied_to_id=oldest.id)
    page = await get_json("/api/v1/messages.json", threaded="true", limit=1)
    assert page["messages"][0]["id"] == oldest.thread_id


async def test_threaded_extended_adds_two_latest_replies(network: Network, get_json: Get) -> None:
    group = network.group_by_name("Employee Engagement")
    page = await get_json(f"/api/v1/messages/in_group/{group.id}.json", threaded="extended")
    extended = page["threaded_extended"]
    assert set(extended) == {str(m["id"]) for m in page["messages"] if network.thread(m["id"])[1:]}
    for thread_id, replies in extended.items():
        expected = [m.id for m in reversed(network.thread(int(thread_id))[1:])][:2]
        assert [r["id"] for r in replies] == expected
    # The survey thread has three replies; only the latest two are inlined.
    assert any(len(network.thread(int(t))) == 4 and len(r) == 2 for t, r in extended.items())
    # Every reply shown has its sender among the references.
    users = by_type(page["references"], "user")
    assert all(r["sender_id"] in users for replies in extended.values() for r in replies)


async def test_references_cover_senders_groups_threads_and_topics(
    network: Network, get_json: Get
) -> None:
    page = await get_json("/api/v1/messages.json")
    refs = page["references"]
    users, groups = by_type(refs, "user"), by_type(refs, "group")
    threads, topics = by_type(refs, "thread"), by_type(refs, "topic")
    for message in page["messages"]:
        assert message["sender_id"] in users
        assert message["group_id"] is None or message["group_id"] in groups
        assert message["thread_id"] in threads
        assert YAMMER_TIME.match(message["created_at"])
        for topic in threads[message["thread_id"]]["topics"]:
            assert topic["id"] in topics
    thread = next(iter(threads.values()))
    assert set(thread["stats"]) >= {
        "updates",
        "latest_reply_id",
        "first_reply_id",
        "latest_reply_at",
    }
    user = next(iter(users.values()))
    assert set(user["stats"]) == {"followers", "following", "updates"}
    # parsed tokens name tags whose ids differ from topic ids, as in the 2011 fixture.
    tags = by_type(refs, "tag")
    assert tags
    assert not set(tags) & set(topics)
    assert page["external_references"] == []
    assert isinstance(page["meta"], dict)


async def test_in_thread_has_the_whole_thread_and_a_reply_to_a_reply(
    network: Network, get_json: Get
) -> None:
    nested = next(
        m for m in network.messages.values() if m.replied_to_id not in (None, m.thread_id)
    )
    page = await get_json(f"/api/v1/messages/in_thread/{nested.thread_id}.json")
    ids = [m["id"] for m in page["messages"]]
    assert ids == [m.id for m in reversed(network.thread(nested.thread_id))]
    assert {m["id"]: m["replied_to_id"] for m in page["messages"]}[
        nested.id
    ] == nested.replied_to_id
    stats = by_type(page["references"], "thread")[nested.thread_id]["stats"]
    assert (stats["updates"], stats["latest_reply_id"]) == (len(ids), max(ids))
    assert stats["first_reply_id"] == sorted(ids)[1]
    with_topics = await get_json(
        f"/api/v1/messages/in_thread/{nested.thread_id}", include_topics="true"
    )
    assert "topics" in with_topics["messages"][-1]


async def test_topic_and_user_feeds(network: Network, get_json: Get) -> None:
    topic = network.topic_by_name("change")
    assert topic is not None
    page = await get_json(f"/api/v1/messages/about_topic/{topic.id}.json")
    assert page["messages"]
    assert all("#change" in m["body"]["plain"] for m in page["messages"])
    assert f"[[tag:{topic.tag_id}]]" in page["messages"][0]["body"]["parsed"]
    author = network.user_by_email("tom.becker@example.com")
    sent = await get_json(f"/api/v1/messages/from_user/{author.id}.json")
    assert {m["sender_id"] for m in sent["messages"]} == {author.id}
    assert len(sent["messages"]) == network.updates(author.id)
    await get_json("/api/v1/messages/about_topic/1.json", status=404)
    await get_json("/api/v1/messages/from_user/1.json", status=404)


async def test_single_message_thread_and_topic_objects(network: Network, get_json: Get) -> None:
    message = network.visible_messages()[0]
    bare = await get_json(f"/api/v1/messages/{message.id}.json")
    assert bare["id"] == message.id
    assert "messages" not in bare
    assert set(bare["body"]) == {"plain", "parsed", "rich", "urls"}
    assert bare["liked_by"]["count"] == len(message.liker_ids)
    assert len(bare["liked_by"]["names"]) <= 3
    thread = await get_json(f"/api/v1/threads/{message.thread_id}")
    assert thread["type"] == "thread"
    assert thread["thread_starter_id"] == message.thread_id
    topic = network.topic_by_name("leadership")
    assert topic is not None
    data = await get_json(f"/api/v1/topics/{topic.id}.json")
    assert (data["name"], data["normalized_name"], data["type"]) == (
        "leadership",
        "leadership",
        "topic",
    )
    assert isinstance(data["followers"], int)
