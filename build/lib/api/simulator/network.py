"""The in-memory microblog: users, groups, topics and messages, plus the mutations tests and
live activity use (the queries are in ``reads``).  It knows nothing about HTTP: ``render`` and
``feeds`` turn it into JSON.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime

from api.simulator import text
from api.simulator.formats import IdMint
from api.simulator.model import Group, Message, Topic, User
from api.simulator.reads import Derived, NetworkReads, NotFound, synchronized

NETWORK_ID = 98_327_945_216


class Network(NetworkReads):
    def __init__(self, *, clock: Callable[[], datetime] | None = None) -> None:
        self.network_id = NETWORK_ID
        self.clock = clock or (lambda: datetime.now(UTC))
        self.ids = IdMint()
        self.users: dict[int, User] = {}
        self.groups: dict[int, Group] = {}
        self.topics: dict[int, Topic] = {}
        self.messages: dict[int, Message] = {}
        # Server-side aggregates drift from what can be read (reference, gotcha "Counts
        # drift"): thread id -> how many more updates its stats report than it has.
        self.count_drift: dict[int, int] = {}
        # The user behind every token unless the config maps a token to someone else.
        self.current_user_id = 0
        self._latest = datetime(2010, 1, 1, tzinfo=UTC)
        self._spare_users = 0
        # thread id -> message ids (deleted too), so a thread is not a scan of every message.
        self._threads: dict[int, list[int]] = {}
        self._topic_names: dict[str, int] = {}
        # Bumped by every mutation; derived figures are cached per version.
        self.version = 0
        self._derived = Derived()
        # Held by every public method and by route handlers; re-entrant because methods nest.
        self.lock = threading.RLock()

    @classmethod
    def demo(cls, anchor: date, now: datetime | None = None, *, colleagues: int = 40) -> Network:
        """The demo campaign as a live network (see ``api.simulator.demo``)."""
        from api.simulator.demo import build_demo

        return build_demo(cls(), anchor, now, colleagues=colleagues)

    @property
    def latest(self) -> datetime:
        """The newest moment anything was added at."""
        return self._latest

    def _when(self, at: datetime | None) -> datetime:
        # Live additions never go back in time, so their ids stay the largest.
        moment = at if at is not None else max(self.clock(), self._latest)
        self._latest = max(self._latest, moment)
        return moment

    # --- building and mutating ---------------------------------------------------------

    @synchronized
    def add_user(
        self,
        full_name: str,
        email: str,
        *,
        job_title: str = "",
        department: str = "",
        location: str = "",
        followers: int = 0,
        following: int = 0,
        admin: bool = False,
        at: datetime | None = None,
    ) -> User:
        moment = self._when(at)
        user = User(
            id=self.ids.mint("user", moment),
            email=email,
            full_name=full_name,
            job_title=job_title,
            department=department,
            location=location,
            activated_at=moment,
            followers=followers,
            following=following,
            admin=admin,
        )
        self.users[user.id] = user
        self.version += 1
        return user

    @synchronized
    def add_group(
        self,
        full_name: str,
        *,
        description: str = "",
        private: bool = False,
        creator_id: int | None = None,
        member_ids: Iterable[int] = (),
        declared_members: int | None = None,
        at: datetime | None = None,
    ) -> Group:
        moment = self._when(at)
        members = set(member_ids)
        group = Group(
            id=self.ids.mint("group", moment),
            full_name=full_name,
            description=description,
            private=private,
            created_at=moment,
            creator_id=creator_id or self.current_user_id,
            declared_members=declared_members if declared_members is not None else len(members),
            member_ids=members,
        )
        self.groups[group.id] = group
        self.version += 1
        return group

    @synchronized
    def add_message(
        self,
        sender_id: int,
        body: str,
        *,
        group_id: int | None = None,
        replied_to_id: int | None = None,
        at: datetime | None = None,
        likes: int = 0,
    ) -> Message:
        """A new thread starter, or a reply (to a starter or to a reply) in the parent's thread."""
        self.user(sender_id)
        parent = self.message(replied_to_id) if replied_to_id is not None else None
        if parent is not None:
            group_id = parent.group_id  # a reply lives where its thread lives
        elif group_id is not None and group_id not in self.groups:
            raise NotFound(f"group {group_id}")
        moment = self._when(at)
        message_id = self.ids.mint("message", moment)
        message = Message(
            id=message_id,
            thread_id=parent.thread_id if parent else message_id,
            replied_to_id=replied_to_id,
            sender_id=sender_id,
            group_id=group_id,
            body=body,
            created_at=moment,
        )
        message.topic_ids = self._topics_of(body, moment, sender_id)
        self.messages[message.id] = message
        self._threads.setdefault(message.thread_id, []).append(message.id)
        self.version += 1
        if likes:
            self.like(message.id, likes)
        return message

    def _topics_of(self, body: str, at: datetime, creator_id: int) -> list[int]:
        return [self.topic_for(tag, at=at, creator_id=creator_id).id for tag in text.hashtags(body)]

    @synchronized
    def topic_for(self, name: str, *, at: datetime, creator_id: int) -> Topic:
        """The topic for a hashtag, created on first use (as Yammer does)."""
        found = self.topic_by_name(name)
        if found is not None:
            return found
        topic = Topic(
            id=self.ids.mint("topic", at),
            tag_id=self.ids.mint("tag", at),
            name=name,
            normalized_name=text.normalise_topic(name),
            created_at=at,
            creator_id=creator_id,
            followers=3 + 2 * len(self.topics),
        )
        self.topics[topic.id] = topic
        self._topic_names[topic.normalized_name] = topic.id
        return topic

    @synchronized
    def like(self, message_id: int, n: int = 1) -> int:
        """Add ``n`` likes from people who have not liked it yet (negative: unlike); the count."""
        message = self.message(message_id)
        for _ in range(max(n, 0)):
            message.liker_ids.append(self._next_liker(message))
        if n < 0:
            del message.liker_ids[max(len(message.liker_ids) + n, 0) :]
        self.version += 1
        return len(message.liker_ids)

    def _next_liker(self, message: Message) -> int:
        taken = {*message.liker_ids, message.sender_id}
        candidates = sorted(
            uid for uid, u in self.users.items() if uid not in taken and u.state == "active"
        )
        if not candidates:
            # More likes than people: someone new joins (a network has thousands).
            self._spare_users += 1
            n = self._spare_users
            return self.add_user(f"New Colleague {n}", f"new.colleague{n}@example.com").id
        # Rotate by message id so different posts get different likers, deterministically.
        return candidates[(message.id // 4096 + len(message.liker_ids)) % len(candidates)]

    @synchronized
    def set_followers(self, user_id: int, n: int) -> None:
        self.user(user_id).followers = n
        self.version += 1

    @synchronized
    def delete(self, message_id: int, *, by: int | None = None, at: datetime | None = None) -> None:
        """Delete a message; deleting a thread starter removes the whole thread."""
        message = self.message(message_id)
        moment = at or max(self.clock(), message.created_at)
        doomed = self.thread(message.thread_id) if message.is_starter else [message]
        for each in doomed:
            each.deleted_at = moment
            each.deleted_by_id = by or message.sender_id
        self.version += 1

    @synchronized
    def edit(self, message_id: int, new_body: str, *, at: datetime | None = None) -> None:
        # REST v1 shows no edit marker; only the body changes (and the export's modified time).
        message = self.message(message_id)
        message.edited_at = at or max(self.clock(), message.created_at)
        message.body = new_body
        message.topic_ids = self._topics_of(new_body, message.edited_at, message.sender_id)
        self.version += 1

    # --- saving (``store``) ----------------------------------------------------------------

    def __getstate__(self) -> dict[str, object]:
        # The lock, the clock and the derived cache belong to the running process.
        state = self.__dict__.copy()
        for name in ("lock", "clock", "_derived"):
            del state[name]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.lock = threading.RLock()
        self.clock = lambda: datetime.now(UTC)
        self._derived = Derived()
