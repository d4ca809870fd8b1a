"""Message feeds: paging, threading and the envelope (reference §3.1, §4.1, §5).

- At most ``min(limit, 20)`` per page; newest first; ``older_than`` / ``newer_than`` are strict.
- Unthreaded feeds page on message ids.  ``threaded=true|extended`` feeds list threads ordered by
  latest activity and page on the thread's latest message id (``stats.latest_reply_id``), as the
  reference assumes for group feeds; ``extended`` adds up to two latest replies per thread in
  ``threaded_extended``.
- ``references`` carry every sender, group, thread (with stats) and topic on the page, plus the
  replied-to messages that are not on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from api.simulator import render
from api.simulator.model import Message
from api.simulator.network import Network

MAX_PAGE = 20
EXTENDED_REPLIES = 2


@dataclass
class FeedQuery:
    older_than: int | None = None
    newer_than: int | None = None
    limit: int = MAX_PAGE
    threaded: str | None = None  # None, "true" or "extended"
    include_topics: bool = False

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> FeedQuery:
        """From query parameters; ValueError on a non-numeric id or limit."""

        def number(name: str) -> int | None:
            value = params.get(name)
            return int(value) if value not in (None, "") else None

        limit = number("limit")
        threaded = (params.get("threaded") or "").lower()
        return cls(
            older_than=number("older_than"),
            newer_than=number("newer_than"),
            limit=min(limit, MAX_PAGE) if limit and limit > 0 else MAX_PAGE,
            threaded=threaded if threaded in ("true", "extended") else None,
            include_topics=(params.get("include_topics") or "").lower() == "true",
        )


@dataclass
class FeedPage:
    messages: list[Message]
    older_available: bool
    extended: dict[int, list[Message]] = field(default_factory=dict)


def _in_range(key: int, query: FeedQuery) -> bool:
    return (query.older_than is None or key < query.older_than) and (
        query.newer_than is None or key > query.newer_than
    )


def select(network: Network, matching: list[Message], query: FeedQuery) -> FeedPage:
    """One page of a feed whose (visible) messages are ``matching``."""
    if query.threaded is None:
        candidates = sorted((m for m in matching if _in_range(m.id, query)), key=lambda m: -m.id)
        return FeedPage(candidates[: query.limit], len(candidates) > query.limit)

    by_thread: dict[int, list[Message]] = {}
    for message in matching:
        by_thread.setdefault(message.thread_id, []).append(message)
    threads: list[tuple[int, Message, list[Message]]] = []  # (activity key, starter, in feed)
    for thread_id, in_feed in by_thread.items():
        whole = network.thread(thread_id)
        if whole and _in_range(whole[-1].id, query):
            threads.append((whole[-1].id, whole[0], in_feed))
    threads.sort(key=lambda t: -t[0])
    shown = threads[: query.limit]
    page = FeedPage([starter for _key, starter, _ in shown], len(threads) > query.limit)
    if query.threaded == "extended":
        for _key, starter, in_feed in shown:
            replies = sorted((m for m in in_feed if not m.is_starter), key=lambda m: -m.id)
            if replies:
                page.extended[starter.id] = replies[:EXTENDED_REPLIES]
    return page


def envelope(
    network: Network,
    page: FeedPage,
    *,
    viewer_id: int,
    feed_name: str,
    feed_desc: str,
    include_topics: bool = False,
    older_available_lies: bool = False,
) -> dict[str, Any]:
    shown = page.messages + [m for replies in page.extended.values() for m in replies]
    return {
        "messages": [render.message_json(network, m, topics=include_topics) for m in page.messages],
        "references": references(network, shown),
        "meta": {
            # The knob makes it lie the way the reference says the real one does.
            "older_available": page.older_available and not older_available_lies,
            "requested_poll_interval": 60,
            "current_user_id": viewer_id,
            "followed_user_ids": [],
            "followed_references": [],
            "liked_message_ids": [m.id for m in shown if viewer_id in m.liker_ids],
            "favorite_message_ids": [],
            "bookmarked_message_ids": [],
            "feed_name": feed_name,
            "feed_desc": feed_desc,
            "direct_from_body": False,
            "ymodules": [],
        },
        "threaded_extended": {
            str(thread_id): [render.message_json(network, m) for m in replies]
            for thread_id, replies in page.extended.items()
        },
        "external_references": [],
    }


def references(network: Network, messages: list[Message]) -> list[dict[str, Any]]:
    users: dict[int, Any] = {}
    groups: dict[int, Any] = {}
    threads: dict[int, Any] = {}
    topics: dict[int, Any] = {}
    tags: dict[int, Any] = {}
    replied: dict[int, Any] = {}
    on_page = {m.id for m in messages}
    for message in messages:
        sender = network.users[message.sender_id]
        users.setdefault(sender.id, render.user_ref(network, sender))
        if message.group_id is not None and message.group_id not in groups:
            groups[message.group_id] = render.group_ref(network.groups[message.group_id])
        if message.thread_id not in threads:
            threads[message.thread_id] = render.thread_json(network, message.thread_id)
            for topic in network.thread_topics(message.thread_id):
                topics.setdefault(topic.id, render.topic_ref(topic))
                tags.setdefault(topic.tag_id, render.tag_ref(topic))
        parent_id = message.replied_to_id
        if parent_id is not None and parent_id not in on_page and parent_id not in replied:
            parent = network.messages.get(parent_id)
            if parent is not None and parent.deleted_at is None:
                replied[parent_id] = render.message_ref(network, parent)
    return [
        *users.values(),
        *groups.values(),
        *threads.values(),
        *topics.values(),
        *tags.values(),
        *replied.values(),
    ]
