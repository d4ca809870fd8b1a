"""Directory and reference objects: users, groups, threads, topics, tags (spec §4.3-§4.7).

``Reference`` is the tolerant union of a feed page's ``references``: keyed by ``type``, with
unknown types (page, bot, guide, ...) kept as ``UnknownRef`` instead of failing the page.
Shared by ``api.sync.payloads``, which re-exports everything here.
"""

from __future__ import annotations

import html
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Tag

from api.sync.scalars import OptionalStrBool, YammerId, YammerTime


class Payload(BaseModel):
    # New fields appear at any time (spec §0); ignoring them is part of the contract.
    model_config = ConfigDict(extra="ignore", frozen=True)


def _id_links(value: Any) -> Any:
    # Topic lists come as bare ids (messages, include_topics) or as {"type","id"} (threads).
    if isinstance(value, list):
        return [{"id": item} if not isinstance(item, dict) else item for item in value]
    return value


class IdLink(Payload):
    id: YammerId
    type: str | None = None


IdLinks = Annotated[list[IdLink], BeforeValidator(_id_links)]

_TAG = re.compile(r"<[^>]+>")


class Body(Payload):
    plain: str | None = None
    parsed: str | None = None
    rich: str | None = None
    urls: list[str] = []

    @property
    def text(self) -> str:
        """``plain``, or the text of ``rich`` when old data lacks ``plain`` (spec §10.22)."""
        if self.plain is not None:
            return self.plain
        return html.unescape(_TAG.sub("", self.rich or ""))


class LikedName(Payload):
    full_name: str | None = None
    permalink: str | None = None
    user_id: YammerId | None = None  # old captures lack it


class LikedBy(Payload):
    count: int = 0  # authoritative total; ``names`` is only a sample
    names: list[LikedName] = []


class UserStats(Payload):
    followers: int | None = None
    following: int | None = None
    updates: int | None = None


class User(Payload):
    id: YammerId
    type: str = "user"
    name: str | None = None  # the permalink, not the display name
    full_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    job_title: str | None = None
    department: str | None = None
    location: str | None = None
    mugshot_url: str | None = None
    mugshot_redirect_url: str | None = None  # stable; mugshot_url is signed and expires
    url: str | None = None
    web_url: str | None = None
    state: str | None = None  # active, pending, suspended, soft_delete
    activated_at: YammerTime | None = None
    guest: OptionalStrBool = None
    aad_guest: OptionalStrBool = None
    admin: OptionalStrBool = None
    verified_admin: OptionalStrBool = None
    stats: UserStats | None = None


class GroupStats(Payload):
    members: int | None = None
    updates: int | None = None
    aad_guests: int | None = None
    last_message_id: YammerId | None = None
    last_message_at: YammerTime | None = None


class Group(Payload):
    id: YammerId
    type: str = "group"
    name: str | None = None  # slug
    full_name: str | None = None  # display name
    description: str | None = None
    privacy: str | None = None
    email: str | None = None
    url: str | None = None
    web_url: str | None = None
    mugshot_url: str | None = None
    mugshot_redirect_url: str | None = None
    created_at: YammerTime | None = None
    state: str | None = None
    show_in_directory: OptionalStrBool = None
    external: OptionalStrBool = None
    moderated: OptionalStrBool = None
    stats: GroupStats | None = None

    @property
    def is_private(self) -> bool:
        return self.privacy != "public"


class ThreadStats(Payload):
    updates: int | None = None  # messages in the thread, starter included
    shares: int | None = None
    first_reply_id: YammerId | None = None
    first_reply_at: YammerTime | None = None
    latest_reply_id: YammerId | None = None  # equals the starter id when there are no replies
    latest_reply_at: YammerTime | None = None


class ThreadRef(Payload):
    id: YammerId
    type: str = "thread"
    thread_starter_id: YammerId | None = None
    privacy: str | None = None
    direct_message: OptionalStrBool = None
    has_attachments: OptionalStrBool = None
    url: str | None = None
    web_url: str | None = None
    topics: IdLinks = []
    participants: list[IdLink] = []
    participants_count: int | None = None
    stats: ThreadStats = ThreadStats()

    @property
    def topic_ids(self) -> list[int]:
        return [link.id for link in self.topics]

    @property
    def reply_count(self) -> int | None:
        updates = self.stats.updates
        return None if updates is None else max(updates - 1, 0)


class TopicRef(Payload):
    id: YammerId
    type: str = "topic"
    name: str | None = None  # as given (any Unicode); do not fold
    normalized_name: str | None = None
    permalink: str | None = None
    description: str | None = None
    followers: int | None = None
    url: str | None = None
    web_url: str | None = None


_TOPIC_URL = re.compile(r"/topics/(\d+)")


class TagRef(Payload):
    """``[[tag:ID]]`` tokens use tag ids, which differ from topic ids (spec §4.3)."""

    id: YammerId
    type: str = "tag"
    name: str | None = None
    url: str | None = None
    web_url: str | None = None

    @property
    def topic_id(self) -> int | None:
        match = _TOPIC_URL.search(self.web_url or "")
        return int(match.group(1)) if match else None


class MessageRef(Payload):
    """The abbreviated message used for thread starters and replied-to messages."""

    id: YammerId
    type: str = "message"
    sender_id: YammerId | None = None
    thread_id: YammerId | None = None
    replied_to_id: YammerId | None = None
    created_at: YammerTime | None = None
    body: Body = Body()
    web_url: str | None = None


class UnknownRef(BaseModel):
    """A reference of a type this client does not model (page, bot, guide, ...), kept as is."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: str
    id: int | str | None = None


_KNOWN_REFS = {"user", "group", "thread", "topic", "tag", "message"}


def _reference_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in _KNOWN_REFS else "unknown"


Reference = Annotated[
    Annotated[User, Tag("user")]
    | Annotated[Group, Tag("group")]
    | Annotated[ThreadRef, Tag("thread")]
    | Annotated[TopicRef, Tag("topic")]
    | Annotated[TagRef, Tag("tag")]
    | Annotated[MessageRef, Tag("message")]
    | Annotated[UnknownRef, Tag("unknown")],
    Discriminator(_reference_kind),
]
