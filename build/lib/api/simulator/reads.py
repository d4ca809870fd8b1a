"""The network's queries, kept apart from its mutations (``network``) to keep both small.

The network is shared between the server (uvicorn may run it in another thread) and the test
or live activity that changes it, so every public method holds the network's re-entrant lock.
Route handlers hold it too (see ``api_messages.api_routes``) so a page is built from one state.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec, TypeVar

from api.simulator import text
from api.simulator.model import Group, Message, Topic, User

P = ParamSpec("P")
R = TypeVar("R")
N = TypeVar("N", bound="NetworkReads")


class NotFound(LookupError):
    """No such (live) user, group or message."""


def synchronized(method: Callable[Concatenate[N, P], R]) -> Callable[Concatenate[N, P], R]:
    @functools.wraps(method)
    def locked(self: N, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.lock:
            return method(self, *args, **kwargs)

    return locked


@dataclass
class Derived:
    """Figures computed from all messages once per network version, not once per object."""

    version: int = -1
    sender_counts: dict[int, int] = field(default_factory=dict)
    group_posts: dict[int, tuple[int, Message]] = field(default_factory=dict)  # count, latest
    visible: dict[int, list[Message]] = field(default_factory=dict)  # viewer -> oldest first


class NetworkReads:
    users: dict[int, User]
    groups: dict[int, Group]
    topics: dict[int, Topic]
    messages: dict[int, Message]
    current_user_id: int
    version: int
    lock: threading.RLock
    _threads: dict[int, list[int]]
    _topic_names: dict[str, int]
    _derived: Derived

    def _fresh(self) -> Derived:
        if self._derived.version == self.version:
            return self._derived
        derived = Derived(self.version)
        for m in self.messages.values():
            if m.deleted_at is None:
                derived.sender_counts[m.sender_id] = derived.sender_counts.get(m.sender_id, 0) + 1
                if m.group_id is not None:
                    count, latest = derived.group_posts.get(m.group_id, (0, m))
                    derived.group_posts[m.group_id] = (
                        count + 1,
                        max(latest, m, key=lambda x: x.id),
                    )
        self._derived = derived
        return derived

    def user(self, user_id: int) -> User:
        try:
            return self.users[user_id]
        except KeyError:
            raise NotFound(f"user {user_id}") from None

    @synchronized
    def user_by_email(self, email: str) -> User:
        for user in self.users.values():
            if user.email.lower() == email.lower():
                return user
        raise NotFound(email)

    @synchronized
    def group_by_name(self, full_name: str) -> Group:
        for group in self.groups.values():
            if group.full_name == full_name:
                return group
        raise NotFound(full_name)

    def topic_by_name(self, name: str) -> Topic | None:
        topic_id = self._topic_names.get(text.normalise_topic(name.lstrip("#")))
        return self.topics[topic_id] if topic_id is not None else None

    def message(self, message_id: int) -> Message:
        """A live (not deleted) message."""
        message = self.messages.get(message_id)
        if message is None or message.deleted_at is not None:
            raise NotFound(f"message {message_id}")
        return message

    def can_see_group(self, user_id: int, group_id: int | None) -> bool:
        if group_id is None:
            return True  # storyline / All Company posts
        group = self.groups.get(group_id)
        return group is not None and (not group.private or user_id in group.member_ids)

    @synchronized
    def thread(self, thread_id: int) -> list[Message]:
        """The live messages of a thread, oldest first; empty when the starter is gone."""
        starter = self.messages.get(thread_id)
        if starter is None or starter.deleted_at is not None or not starter.is_starter:
            return []
        members = (self.messages[mid] for mid in self._threads.get(thread_id, []))
        return sorted((m for m in members if m.deleted_at is None), key=lambda m: m.id)

    def thread_topics(self, thread_id: int) -> list[Topic]:
        ids = dict.fromkeys(tid for m in self.thread(thread_id) for tid in m.topic_ids)
        return [self.topics[tid] for tid in ids]

    @synchronized
    def visible_messages(self, user_id: int | None = None) -> list[Message]:
        """What a user can read (default: the token's user), oldest first."""
        viewer = self.current_user_id if user_id is None else user_id
        derived = self._fresh()
        if viewer not in derived.visible:
            derived.visible[viewer] = sorted(
                (
                    m
                    for m in self.messages.values()
                    if m.deleted_at is None and self.can_see_group(viewer, m.group_id)
                ),
                key=lambda m: m.id,
            )
        return list(derived.visible[viewer])

    @synchronized
    def updates(self, user_id: int) -> int:
        """How many live messages a user has sent (``stats.updates``)."""
        return self._fresh().sender_counts.get(user_id, 0)

    @synchronized
    def group_posts(self, group_id: int) -> tuple[int, Message | None]:
        """How many live messages a group holds, and its latest (``group.stats``)."""
        count, latest = self._fresh().group_posts.get(group_id, (0, None))
        return count, latest

    @synchronized
    def summary(self) -> dict[str, Any]:
        live = [m for m in self.messages.values() if m.deleted_at is None]
        return {
            "users": len(self.users),
            "groups": len(self.groups),
            "private_groups": sum(1 for g in self.groups.values() if g.private),
            "topics": len(self.topics),
            "messages": len(live),
            "threads": sum(1 for m in live if m.is_starter),
            "replies": sum(1 for m in live if not m.is_starter),
            "deleted_messages": len(self.messages) - len(live),
            "likes": sum(len(m.liker_ids) for m in live),
            "latest_message_id": max((m.id for m in live), default=None),
            "current_user_id": self.current_user_id,
        }
