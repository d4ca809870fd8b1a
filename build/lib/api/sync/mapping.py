"""Pure functions from validated payloads to the rows the repositories write. No I/O."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

from api.db.repositories.ingest import IncomingPost
from api.db.repositories.mirror import Placeholder
from api.domain.enums import GroupPrivacy
from api.domain.text import InvalidHashtag, normalise_hashtag
from api.sync.payloads import FeedPage, Group, Message, ThreadRef, TopicRef, User

_TAGS = re.compile(r"<[^>]+>")


# A former member's address may since have been given to someone else (spec §4.7 states).
_FORMER_STATES = frozenset({"suspended", "soft_delete", "deleted"})


def person_row(user: User) -> dict[str, Any]:
    """A person's row, with only the fields the payload carries.

    Feed pages hold user *references*, which lack ``department`` and the stable mugshot URL
    (spec §4.3); the directory has full objects. A field left out keeps its stored value, so a
    reference cannot wipe what the directory taught us. Counts likewise only when present.
    """
    row: dict[str, Any] = {"external_id": user.id}
    name = user.full_name or user.name
    # A stand-in name only for a new row: it must never replace a known one.
    row["full_name"] = name if name else Placeholder(f"User {user.id}")
    if user.email and (user.state or "active") not in _FORMER_STATES:
        # Claims the address; the repository moves it from an older holder (uq_person_email).
        # A former member's stored address is kept, not re-claimed: it may have been reassigned.
        row["email"] = user.email.lower()
    if user.job_title is not None:
        row["job_title"] = user.job_title
    if user.department is not None:
        row["department"] = user.department
    if user.mugshot_redirect_url:
        # The redirect URL is stable; mugshot_url is signed and expires (spec §4.5).
        row["avatar_url"] = user.mugshot_redirect_url
    elif user.mugshot_url:
        # Better than nothing for someone new, but never over a stored (stable) URL.
        row["avatar_url"] = Placeholder(user.mugshot_url)
    if user.web_url is not None:
        row["web_url"] = user.web_url
    if user.stats is not None and user.stats.followers is not None:
        row["follower_count"] = user.stats.followers
    if user.stats is not None and user.stats.following is not None:
        row["following_count"] = user.stats.following
    return row


def group_row(group: Group, *, joined: bool | None = None) -> dict[str, Any]:
    """A group's row, with only the fields the payload carries (see ``person_row``).

    ``joined=True`` is for the token's own groups (``groups.json?mine=true``): a member reads
    the group, so only that makes a group recorded inaccessible accessible again. A mere
    reference (a page, the public directory) says nothing about access and leaves it alone.
    """
    row: dict[str, Any] = {"external_id": group.id}
    name = group.full_name or group.name
    row["name"] = name if name else Placeholder(f"Group {group.id}")
    if group.description is not None:
        row["description"] = group.description
    if group.privacy is not None:
        row["privacy"] = GroupPrivacy.PRIVATE if group.is_private else GroupPrivacy.PUBLIC
    else:
        # Unknown privacy counts as private for a new group (a leak is worse than a hidden
        # group), but does not overturn what a fuller payload said.
        row["privacy"] = Placeholder(GroupPrivacy.PRIVATE)
    if group.web_url is not None:
        row["web_url"] = group.web_url
    if group.stats is not None and group.stats.members is not None:
        row["member_count"] = group.stats.members
    if joined is not None:
        row["joined"] = joined
    if joined:
        row["accessible"] = True
    return row


def plain_body(message: Message) -> str:
    """``plain`` when given; otherwise the text of ``rich`` (spec §10.22)."""
    if message.body.plain is not None:
        return message.body.plain
    return html.unescape(_TAGS.sub(" ", message.body.rich or "")).strip()


def topic_hashtags(page: FeedPage) -> dict[int, str]:
    """Topic id -> our hashtag form, for topics referenced by a page."""
    return hashtags_of(page.topics().values())


def hashtags_of(topics: Iterable[TopicRef]) -> dict[int, str]:
    """Topic id -> our hashtag form; names that are not valid hashtags here are left out."""
    out = {}
    for topic in topics:
        try:
            out[topic.id] = normalise_hashtag(topic.normalized_name or topic.name or "")
        except InvalidHashtag:
            continue
    return out


def incoming_post(
    message: Message,
    *,
    author_id: int,
    group_id: int | None,
    thread: ThreadRef | None,
) -> IncomingPost:
    starter = message.thread_id == message.id
    reply_count = thread.reply_count if starter and thread is not None else None
    shares = thread.stats.shares if starter and thread is not None else None
    return IncomingPost(
        external_id=message.id,
        author_id=author_id,
        body=plain_body(message),
        created_at=message.created_at,
        group_id=group_id,
        thread_external_id=message.thread_id,
        replied_to_external_id=message.replied_to_id,
        web_url=message.web_url,
        message_type="system" if message.system_message else message.message_type,
        like_count=message.liked_by.count,
        # A starter without its thread reference on the page: counts unknown, keep ours.
        reply_count=reply_count if starter else 0,
        share_count=shares if starter else 0,
    )


def ordered_messages(page: FeedPage) -> list[Message]:
    """Every message of a page once (threaded_extended included), starters first."""
    seen: dict[int, Message] = {}
    for message in page.all_messages():
        seen.setdefault(message.id, message)
    return sorted(seen.values(), key=lambda m: (m.thread_id != m.id, m.id))
