"""Pydantic models of the microblog's REST JSON, validated at the boundary (spec §4, §9).

Lenient where the microblog is documented to vary (unknown fields ignored, key order
irrelevant, most fields optional, unknown reference types kept), strict where a wrong value
would corrupt the mirror (ids, timestamps, the fields that place a message in a thread). A
page with one malformed message fails as a whole (``PayloadError``), so the worker records it
and retries or skips the page instead of silently committing a page with a hole in it.

Counts a response may omit (``stats``) stay ``None`` rather than 0: a missing follower count
must not be recorded as a drop to zero.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import TypeAdapter, ValidationError, field_validator

from api.sync.errors import PayloadError
from api.sync.refs import (
    Body,
    Group,
    GroupStats,
    IdLink,
    IdLinks,
    LikedBy,
    LikedName,
    MessageRef,
    Payload,
    Reference,
    TagRef,
    ThreadRef,
    ThreadStats,
    TopicRef,
    UnknownRef,
    User,
    UserStats,
)
from api.sync.scalars import OptionalStrBool, StrBool, YammerId, YammerTime

__all__ = [
    "Body",
    "FeedKind",
    "FeedMeta",
    "FeedPage",
    "Group",
    "GroupStats",
    "IdLink",
    "LikedBy",
    "LikedName",
    "Message",
    "MessageRef",
    "Reference",
    "SearchResults",
    "TagRef",
    "ThreadRef",
    "ThreadStats",
    "TopicRef",
    "UnknownRef",
    "User",
    "UserList",
    "UserStats",
    "parse",
]


class Message(Payload):
    id: YammerId
    sender_id: YammerId
    thread_id: YammerId
    created_at: YammerTime
    sender_type: str = "user"
    replied_to_id: YammerId | None = None  # may point at a reply: keep the chain
    group_id: YammerId | None = None  # null for DMs and storyline posts
    network_id: YammerId | None = None
    delegate_id: YammerId | None = None
    shared_message_id: YammerId | None = None
    published_at: YammerTime | None = None
    message_type: str = "update"
    system_message: StrBool = False
    direct_message: StrBool = False
    privacy: str | None = None
    url: str | None = None
    web_url: str | None = None
    language: str | None = None
    body: Body = Body()
    liked_by: LikedBy = LikedBy()
    topics: IdLinks = []
    notified_user_ids: list[YammerId] = []
    # Kept raw: their shapes vary by type and era (spec §4.5), and the mirror only reads URLs.
    attachments: list[dict[str, Any]] = []

    @property
    def is_thread_starter(self) -> bool:
        return self.id == self.thread_id

    @property
    def is_private(self) -> bool:
        # Unknown privacy counts as private: a leak is worse than a hidden post.
        return self.direct_message or self.privacy != "public"

    @property
    def topic_ids(self) -> list[int]:
        return [link.id for link in self.topics]


class FeedMeta(Payload):
    older_available: OptionalStrBool = None  # unreliable (spec §5.2): informational only
    requested_poll_interval: int | None = None
    current_user_id: YammerId | None = None
    feed_name: str | None = None
    feed_desc: str | None = None


R = TypeVar("R", User, Group, ThreadRef, TopicRef, TagRef, MessageRef)


class FeedPage(Payload):
    """One page of any message feed: the envelope of spec §4.1."""

    messages: list[Message]
    references: list[Reference] = []
    meta: FeedMeta = FeedMeta()
    # Keyed by thread id (a string in the JSON; an int here like every other id).
    threaded_extended: dict[YammerId, list[Message]] = {}

    @field_validator("meta", "threaded_extended", mode="before")
    @classmethod
    def _empty_list_is_empty_object(cls, value: Any) -> Any:
        # PHP-style encoders (and yampy's fake) send [] for an empty object.
        return {} if value == [] else value

    def _refs(self, kind: type[R]) -> dict[int, R]:
        return {ref.id: ref for ref in self.references if isinstance(ref, kind)}

    def users(self) -> dict[int, User]:
        return self._refs(User)

    def groups(self) -> dict[int, Group]:
        return self._refs(Group)

    def threads(self) -> dict[int, ThreadRef]:
        return self._refs(ThreadRef)

    def topics(self) -> dict[int, TopicRef]:
        return self._refs(TopicRef)

    def tags(self) -> dict[int, TagRef]:
        return self._refs(TagRef)

    def all_messages(self) -> list[Message]:
        """Top-level messages, then the ``threaded_extended`` replies, each id once."""
        seen: dict[int, Message] = {}
        for message in self.messages:
            seen.setdefault(message.id, message)
        for replies in self.threaded_extended.values():
            for message in replies:
                seen.setdefault(message.id, message)
        return list(seen.values())


class UserList(Payload):
    """``users/in_group``, ``users/liked_message``, ``users/following``: ``{users, more_available}``."""

    users: list[User]
    more_available: StrBool = False


class SearchResults(Payload):
    """``search.json``: only the topics are read (to learn a hashtag's topic id); the messages,
    groups and users sections are left alone, so their shapes cannot fail the page."""

    topics: list[TopicRef] = []


T = TypeVar("T")


# Building a TypeAdapter compiles a validator; do it once per kind.
_ADAPTERS: dict[object, TypeAdapter[Any]] = {}


def parse(kind: type[T], data: Any, *, path: str | None = None, status: int | None = None) -> T:
    """Validate ``data`` as ``kind`` (a model or e.g. ``list[Group]``) or raise PayloadError."""
    adapter = _ADAPTERS.get(kind) or _ADAPTERS.setdefault(kind, TypeAdapter(kind))
    try:
        value: T = adapter.validate_python(data)
    except ValidationError as exc:
        raise PayloadError(_summary(kind, exc), path=path, status=status) from None
    return value


def _summary(kind: Any, exc: ValidationError) -> str:
    # Locations and messages only: inputs may hold message bodies and personal data.
    errors = exc.errors(include_url=False, include_input=False)
    shown = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or '<root>'}: {error['msg']}"
        for error in errors[:3]
    )
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    name = getattr(kind, "__name__", str(kind))
    return f"malformed {name}: {shown}{more}"


FeedKind = Literal["in_group", "about_topic", "from_user", "in_thread"]
