"""A mirrored post as the one write path takes it: keyed by microblog ids, text rules applied.

A live feed page (``api.sync.mapping``), an export row (``api.sync.export_import``) and the
generator (``api.seed.generator``) each build ``PostRow``s with ``post_row``, so hashtags, links
and kind come out the same whichever way a post arrived; ``api.db.repositories.posts_write``
writes them.  Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from api.domain import text
from api.domain.enums import PostKind


@dataclass(frozen=True, slots=True)
class Classifier:
    """What classification needs besides the post, read once (a pass, an import).

    ``managers`` are the microblog ids of current topic managers; ``resource_urls`` the
    normalised URLs of known resources.
    """

    managers: frozenset[int] = frozenset()
    campaign_tags: frozenset[str] = frozenset()
    resource_urls: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class PostRow:
    external_id: int
    thread_external_id: int  # the starter's microblog id; its own for a starter
    replied_to_external_id: int | None
    sender_external_id: int
    group_external_id: int | None
    body: str
    created_at: datetime
    web_url: str | None
    message_type: str
    # None: the source did not say (an export has no figures, a page may lack the thread
    # reference); the stored figure stands, 0 for a new post.  Snapshots are recorded only
    # for rows that carry their likes.
    like_count: int | None
    reply_count: int | None
    share_count: int | None
    deleted_at: datetime | None  # set when the source says the post is gone (an export)
    hashtags: tuple[str, ...]
    links: tuple[str, ...]  # normalised URLs, each once
    kind: PostKind

    @property
    def is_starter(self) -> bool:
        return self.thread_external_id == self.external_id


def post_row(
    context: Classifier,
    *,
    external_id: int,
    sender_external_id: int,
    body: str,
    created_at: datetime,
    thread_external_id: int | None = None,
    replied_to_external_id: int | None = None,
    group_external_id: int | None = None,
    web_url: str | None = None,
    message_type: str = "update",
    like_count: int | None = 0,
    reply_count: int | None = 0,
    share_count: int | None = 0,
    deleted_at: datetime | None = None,
) -> PostRow:
    """The row for one post, its hashtags, links and kind derived by ``api.domain.text``."""
    tags = tuple(text.hashtags(body))
    links = tuple(dict.fromkeys(text.normalised_links(body)))
    kind = text.classify(
        body,
        links_resource=not context.resource_urls.isdisjoint(links),
        by_topic_manager=sender_external_id in context.managers,
        on_campaign_topic=not context.campaign_tags.isdisjoint(tags),
        message_type=message_type,
    )
    return PostRow(
        external_id=external_id,
        thread_external_id=external_id if thread_external_id is None else thread_external_id,
        replied_to_external_id=replied_to_external_id,
        sender_external_id=sender_external_id,
        group_external_id=group_external_id,
        body=body,
        created_at=created_at,
        web_url=web_url,
        message_type=message_type,
        like_count=like_count,
        reply_count=reply_count,
        share_count=share_count,
        deleted_at=deleted_at,
        hashtags=tags,
        links=links,
        kind=kind,
    )
