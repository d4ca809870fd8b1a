"""The in-memory network: the demo seed, ids, visibility and the mutations tests rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.domain import demo_content as content
from api.simulator import Network, NotFound
from api.simulator.demo import campaign_start, default_anchor, demo_network
from tests.simulator.conftest import ANCHOR, NOW

pytestmark = pytest.mark.unit

DEMO_REPLIES = sum(len(post[6]) for post in content.POSTS)


def test_demo_holds_the_campaign_and_a_private_thread(network: Network) -> None:
    summary = network.summary()
    # 20 demo threads + the private group's thread; the deleted post is kept, but deleted.
    assert summary["threads"] == len(content.POSTS) + 1
    assert summary["replies"] == DEMO_REPLIES + 1
    assert summary["deleted_messages"] == 1
    assert summary["users"] == len(content.PEOPLE) + 40
    assert {t.name for t in network.topics.values()} == {tag for tag, *_ in content.TOPICS}
    lead = network.user(network.current_user_id)
    assert lead.email == content.LEAD
    assert lead.followers == content.LEAD_FOLLOWERS[-1][1]


def test_visible_messages_hide_the_private_group_and_the_deleted_post(network: Network) -> None:
    visible = network.visible_messages()
    assert len(visible) == len(content.POSTS) + DEMO_REPLIES
    private = network.group_by_name("Leadership Circle")
    assert private.private
    assert network.current_user_id not in private.member_ids
    assert all(m.group_id != private.id for m in visible)
    member = next(iter(private.member_ids))
    assert any(m.group_id == private.id for m in network.visible_messages(member))
    deleted = [m for m in network.messages.values() if m.deleted_at is not None]
    assert [m.body for m in deleted] == [content.DELETED_POST[2]]
    with pytest.raises(NotFound):
        network.message(deleted[0].id)


def test_ids_are_large_and_grow_with_creation_time(network: Network) -> None:
    by_time = sorted(network.messages.values(), key=lambda m: (m.created_at, m.id))
    assert [m.id for m in by_time] == sorted(m.id for m in by_time)
    assert all(len(str(m.id)) == 16 and m.id < 2**53 for m in by_time)
    assert all(len(str(u)) == 13 for u in network.users)
    starters = [m for m in by_time if m.is_starter]
    assert all(m.thread_id == m.id and m.replied_to_id is None for m in starters)


def test_one_reply_answers_another_reply(network: Network) -> None:
    nested = [m for m in network.messages.values() if m.replied_to_id not in (None, m.thread_id)]
    assert len(nested) == 1
    parent = network.message(nested[0].replied_to_id or 0)
    assert not parent.is_starter
    assert parent.thread_id == nested[0].thread_id


def test_demo_only_holds_what_happened_by_now() -> None:
    start = campaign_start(ANCHOR)
    early = demo_network(ANCHOR, start + timedelta(days=2))
    assert all(m.created_at <= start + timedelta(days=2) for m in early.messages.values())
    assert early.summary()["threads"] == 4  # p1-p4 happened on days 0 and 1
    # The deleted post (day 5) does not exist yet; followers are as of day 2.
    assert early.summary()["deleted_messages"] == 0
    assert early.user(early.current_user_id).followers == 19


def test_default_anchor_is_a_monday_three_weeks_back() -> None:
    anchor = default_anchor(datetime(2026, 11, 26, tzinfo=UTC).date())
    assert anchor.weekday() == 0
    assert timedelta(days=21) <= datetime(2026, 11, 26).date() - anchor < timedelta(days=28)


def test_add_message_makes_threads_replies_and_topics(network: Network) -> None:
    before = max(network.messages)
    lead = network.current_user_id
    post = network.add_message(lead, "Ideas for #café and #日本語 fans? https://example.com/a#frag")
    assert post.id > before
    assert post.is_starter
    assert {network.topics[t].name for t in post.topic_ids} == {"café", "日本語"}
    reply = network.add_message(network.current_user_id, "Yes!", replied_to_id=post.id)
    nested = network.add_message(network.current_user_id, "Me too", replied_to_id=reply.id)
    assert (nested.thread_id, nested.replied_to_id, nested.id > reply.id) == (
        post.id,
        reply.id,
        True,
    )
    assert [m.id for m in network.thread(post.id)] == [post.id, reply.id, nested.id]
    with pytest.raises(NotFound):
        network.add_message(lead, "x", group_id=12345)


def test_like_followers_edit_and_delete(network: Network) -> None:
    message = network.visible_messages()[-1]
    count = len(message.liker_ids)
    assert network.like(message.id, 3) == count + 3
    assert len(set(message.liker_ids)) == len(message.liker_ids)
    assert message.sender_id not in message.liker_ids
    assert network.like(message.id, -1) == count + 2
    assert network.like(message.id, 500) == count + 502  # new people join to like it
    network.set_followers(network.current_user_id, 99)
    assert network.user(network.current_user_id).followers == 99

    network.edit(message.id, "Edited #engagement")
    assert message.body == "Edited #engagement"
    assert message.edited_at is not None
    starter = network.message(message.thread_id)
    thread = network.thread(starter.id)
    network.delete(starter.id)
    assert network.thread(starter.id) == []
    assert all(m.deleted_at is not None for m in thread)


def test_live_messages_never_go_back_in_time() -> None:
    # A network whose clock is behind its content still hands out growing ids.
    network = demo_network(ANCHOR, NOW)
    network.clock = lambda: datetime(2020, 1, 1, tzinfo=UTC)
    latest = max(network.messages)
    first = network.add_message(network.current_user_id, "one")
    second = network.add_message(network.current_user_id, "two")
    assert latest < first.id < second.id
