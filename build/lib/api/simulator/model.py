"""The simulator's records: plain dataclasses, rendered to Yammer's JSON by ``render``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class User:
    id: int
    email: str
    full_name: str
    job_title: str
    department: str
    location: str
    activated_at: datetime
    followers: int = 0
    following: int = 0
    state: str = "active"
    admin: bool = False

    @property
    def permalink(self) -> str:
        # Yammer's ``name`` is a username-like permalink, distinct from ``full_name``.
        return self.email.split("@")[0].replace(".", "")

    @property
    def first_name(self) -> str:
        return self.full_name.split(" ")[0]

    @property
    def last_name(self) -> str:
        return self.full_name.split(" ", 1)[-1]


@dataclass
class Group:
    id: int
    full_name: str
    description: str
    private: bool
    created_at: datetime
    creator_id: int
    # The real membership is thousands; only our users' memberships decide access.
    declared_members: int
    member_ids: set[int] = field(default_factory=set)
    updated_at: datetime | None = None

    @property
    def slug(self) -> str:
        return "".join(ch for ch in self.full_name.lower() if ch.isalnum())

    @property
    def privacy(self) -> str:
        return "private" if self.private else "public"


@dataclass
class Topic:
    id: int
    tag_id: int
    name: str
    normalized_name: str
    created_at: datetime
    creator_id: int
    followers: int = 0


@dataclass
class Message:
    id: int
    thread_id: int
    replied_to_id: int | None
    sender_id: int
    group_id: int | None
    body: str
    created_at: datetime
    topic_ids: list[int] = field(default_factory=list)
    liker_ids: list[int] = field(default_factory=list)
    deleted_at: datetime | None = None
    deleted_by_id: int | None = None
    edited_at: datetime | None = None

    @property
    def is_starter(self) -> bool:
        return self.thread_id == self.id
