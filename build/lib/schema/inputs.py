"""Filter and order inputs shared by list fields."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.db.pagination import Direction
from api.db.repositories.posts import PostFilter, PostSort
from api.db.repositories.resources import ResourceFilter
from api.domain import enums
from api.domain.text import InvalidHashtag, normalise_hashtag
from api.errors import BadUserInput
from schema.boundary import HASHTAG_LENGTH, SEARCH_LENGTH, limit
from schema.types.node import decode_id


def hashtag_argument(raw: str, field: str = "hashtag") -> str:
    try:
        return normalise_hashtag(raw)
    except InvalidHashtag as exc:
        raise BadUserInput(str(exc), field=field) from exc


@strawberry.input
class PostOrder:
    field: PostSort
    direction: Direction = Direction.DESC


@strawberry.input
class PostFilterInput:
    text: str | None = strawberry.field(
        default=None, description="Full-text search over bodies.", metadata=limit(SEARCH_LENGTH)
    )
    hashtags: list[str] | None = strawberry.field(default=None, metadata=limit(HASHTAG_LENGTH))
    kinds: list[enums.PostKind] | None = None
    author_id: strawberry.ID | None = None
    group_id: strawberry.ID | None = None
    since: datetime | None = None
    until: datetime | None = None

    def to_filter(self) -> PostFilter:
        return PostFilter(
            text=(self.text or "").strip() or None,
            hashtags=tuple(hashtag_argument(t, "hashtags") for t in self.hashtags or ()),
            kinds=tuple(self.kinds or ()),
            author_id=decode_id(self.author_id, field="authorId", expect="Person")[1]
            if self.author_id
            else None,
            group_id=decode_id(self.group_id, field="groupId", expect="Group")[1]
            if self.group_id
            else None,
            since=self.since,
            until=self.until,
        )


@strawberry.input
class ResourceFilterInput:
    hashtag: str | None = strawberry.field(default=None, metadata=limit(HASHTAG_LENGTH))
    kinds: list[enums.ResourceKind] | None = None

    def to_filter(self) -> ResourceFilter:
        return ResourceFilter(
            hashtag=hashtag_argument(self.hashtag) if self.hashtag else None,
            kinds=tuple(self.kinds or ()),
        )
