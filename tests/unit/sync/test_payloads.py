"""Payload validation at the boundary (api.sync.payloads, api.sync.scalars), on spec §9 data."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from api.sync.errors import PayloadError
from api.sync.payloads import (
    FeedPage,
    Group,
    Message,
    MessageRef,
    TagRef,
    ThreadRef,
    TopicRef,
    UnknownRef,
    User,
    UserList,
    parse,
)
from tests.unit.sync.fakes import load

STARTER, REPLY, REPLY_TO_REPLY = 2269815632207872, 2269821337362432, 2269833041182720

# -- the spec's example payloads ----------------------------------------------------------


def test_in_thread_page_keeps_the_reply_chain() -> None:
    page = parse(FeedPage, load("in_thread.json"))
    by_id = {m.id: m for m in page.messages}
    assert list(by_id) == [REPLY_TO_REPLY, REPLY, STARTER]
    assert by_id[REPLY_TO_REPLY].replied_to_id == REPLY  # a reply to a reply
    assert by_id[REPLY_TO_REPLY].thread_id == STARTER
    assert by_id[STARTER].is_thread_starter
    assert by_id[STARTER].created_at == datetime(2023, 5, 16, 18, 42, 34, tzinfo=UTC)
    assert by_id[REPLY].liked_by.count == 3  # the total, not len(names)
    assert by_id[REPLY].body.plain == "日本語でも大丈夫です 👍"
    assert by_id[REPLY_TO_REPLY].body.text == "Agreed @jdoe — tagging #café"


def test_references_are_typed_and_looked_up_by_id() -> None:
    page = parse(FeedPage, load("in_thread.json"))
    assert set(page.users()) == {1842170699776, 1842170701312}
    stats = page.users()[1842170699776].stats
    assert stats is not None
    assert stats.followers == 7
    assert list(page.groups()) == [123412865024]
    thread = page.threads()[STARTER]
    assert thread.stats.latest_reply_id == REPLY_TO_REPLY
    assert thread.topic_ids == [5012399]
    assert thread.reply_count == 2
    assert page.topics()[5012399].name == "café"
    # [[tag:ID]] tokens use the tag id; the tag's web_url names the topic id.
    assert page.tags()[5012334].topic_id == 5012399


def test_threaded_extended_is_keyed_by_integer_thread_id() -> None:
    page = parse(FeedPage, load("in_group_extended.json"))
    assert [m.id for m in page.messages] == [STARTER]
    assert [m.id for m in page.threaded_extended[STARTER]] == [REPLY_TO_REPLY, REPLY]
    assert [m.id for m in page.all_messages()] == [STARTER, REPLY_TO_REPLY, REPLY]
    assert page.meta.older_available is True
    assert page.meta.requested_poll_interval == 60


def test_groups_with_string_booleans_and_missing_fields() -> None:
    public, private = parse(list[Group], load("groups.json"))
    assert public.show_in_directory is True
    assert private.show_in_directory is False
    assert public.stats is not None
    assert public.stats.members == 14
    assert public.stats.last_message_at == datetime(2023, 5, 16, 19, 51, 2, tzinfo=UTC)
    assert not public.is_private
    assert private.is_private
    assert private.description is None
    assert private.stats is not None
    assert private.stats.last_message_id is None


def test_users_directory_and_user_lists() -> None:
    [user] = parse(list[User], load("users.json"))
    assert user.admin is False
    assert user.verified_admin is False
    assert user.department == "R&D"
    assert user.stats is not None
    assert (user.stats.followers, user.stats.following, user.stats.updates) == (7, 4, 52)
    listing = parse(UserList, load("user_list.json"))
    assert [u.id for u in listing.users] == [1842170701312]
    assert listing.more_available is False


def test_thread_topic_and_direct_message_objects() -> None:
    thread = parse(ThreadRef, load("thread.json"))
    assert [p.id for p in thread.participants] == [1842170699776, 1842170701312]
    topic = parse(TopicRef, load("topic.json"))
    assert (topic.name, topic.followers) == ("café", 3)
    dm = parse(Message, load("direct_message.json"))
    assert dm.group_id is None
    assert dm.direct_message
    assert dm.is_private
    assert dm.published_at is None


# -- scalars inside a payload ------------------------------------------------------------------


def test_a_bad_offset_fails_the_whole_page() -> None:
    data = load("in_thread.json")
    data["messages"][1]["created_at"] = "2023/05/16 19:02:11 +9900"
    with pytest.raises(PayloadError, match=r"messages\.1\.created_at") as caught:
        parse(FeedPage, data, path="/api/v1/messages/in_thread/1.json", status=200)
    assert caught.value.path == "/api/v1/messages/in_thread/1.json"
    assert caught.value.status == 200


def test_big_string_ids_survive_a_whole_message() -> None:
    data = load("direct_message.json")
    data.update(id="9007199254740993", thread_id="9007199254740993", sender_id="18421706997")
    parsed = parse(Message, data)
    assert parsed.id == 2**53 + 1  # a double would have rounded it to 2**53
    assert parsed.sender_id == 18421706997


def test_string_boolean_flags_on_a_message() -> None:
    data = load("direct_message.json") | {"direct_message": "true", "system_message": "false"}
    parsed = parse(Message, data)
    assert parsed.direct_message is True
    assert parsed.system_message is False
    with pytest.raises(PayloadError, match="direct_message"):
        parse(Message, data | {"direct_message": "sometimes"})


# -- leniency -------------------------------------------------------------------------------


def test_unknown_fields_are_ignored_and_key_order_is_irrelevant() -> None:
    data = load("direct_message.json")
    shuffled = dict(reversed(list(data.items())))
    shuffled["brand_new_field"] = {"nested": [1, 2, 3]}
    shuffled["body"] = dict(reversed(list(data["body"].items()))) | {"html": "<p>x</p>"}
    assert parse(Message, shuffled) == parse(Message, data)


def test_optional_fields_may_be_missing() -> None:
    minimal = parse(
        Message,
        {"id": 5, "sender_id": 6, "thread_id": 5, "created_at": "2023/05/16 18:42:34 +0000"},
    )
    assert minimal.body.text == ""
    assert minimal.group_id is None
    assert minimal.liked_by.count == 0
    assert minimal.is_private  # unknown privacy is treated as private, never as public
    user = parse(User, {"id": 7})
    assert user.stats is None  # unknown, not zero followers
    page = parse(FeedPage, {"messages": [], "meta": [], "threaded_extended": []})
    assert page.meta.older_available is None
    assert page.threaded_extended == {}


def test_required_message_fields_are_required() -> None:
    with pytest.raises(PayloadError, match="thread_id"):
        parse(Message, {"id": 5, "sender_id": 6, "created_at": "2023/05/16 18:42:34 +0000"})
    with pytest.raises(PayloadError, match="messages"):
        parse(FeedPage, {"references": []})
    with pytest.raises(PayloadError, match="list"):
        parse(list[Group], {"groups": []})


def test_body_text_falls_back_to_rich_html() -> None:
    data = load("direct_message.json")
    data["body"] = {"rich": "Read <a href='x'>this &amp; that</a>"}
    assert parse(Message, data).body.text == "Read this & that"


def test_topics_on_a_message_may_be_ids_or_links() -> None:
    data = load("direct_message.json")
    assert parse(Message, data | {"topics": [5012399, "42"]}).topic_ids == [5012399, 42]
    links = [{"type": "topic", "id": 5012399}]
    assert parse(Message, data | {"topics": links}).topic_ids == [5012399]


def test_unknown_reference_types_are_kept() -> None:
    data = load("in_thread.json")
    data["references"] += [
        {"type": "page", "id": 99, "name": "Handbook"},
        {"type": "bot", "id": "company"},
        {"type": "message", "id": STARTER, "body": {"plain": "Hello everyone!"}},
    ]
    page = parse(FeedPage, data)
    unknown = [r for r in page.references if isinstance(r, UnknownRef)]
    assert [(r.type, r.id) for r in unknown] == [("page", 99), ("bot", "company")]
    assert unknown[0].model_extra == {"name": "Handbook"}
    [starter] = [r for r in page.references if isinstance(r, MessageRef)]
    assert starter.body.text == "Hello everyone!"
    assert len(page.users()) == 2
    assert isinstance(page.tags()[5012334], TagRef)


def test_a_malformed_known_reference_fails_the_page() -> None:
    data = load("in_thread.json")
    data["references"][0]["id"] = "jdoe"
    with pytest.raises(PayloadError, match=r"references\.0"):
        parse(FeedPage, data)


def test_one_malformed_message_fails_the_page_not_just_itself() -> None:
    data: dict[str, Any] = load("in_group_extended.json")
    broken = copy.deepcopy(data)
    del broken["threaded_extended"][str(STARTER)][1]["sender_id"]
    with pytest.raises(PayloadError, match="threaded_extended") as caught:
        parse(FeedPage, broken)
    # Locations only: message bodies and personal data stay out of errors and logs.
    assert "日本語" not in str(caught.value)
    assert "jane.doe" not in str(caught.value)
    assert parse(FeedPage, data)  # the intact page is fine
