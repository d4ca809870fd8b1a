"""Mirrored posts: thread starters and replies, with metrics and what they link to."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from api.db.pagination import Direction, Page
from api.db.repositories.scopes import Scope
from api.domain import text
from api.domain.enums import PostKind
from schema.context import Info
from schema.pagination import Connection, connection
from schema.permissions import PEOPLE, STAFF, shown_resources
from schema.resolvers import posts_connection
from schema.types.node import Node, encode_id

if TYPE_CHECKING:
    from schema.types.person import Group, Person
    from schema.types.resource import Resource
    from schema.types.topic import Topic


@strawberry.type
class PostMetrics:
    likes: int
    replies: int
    shares: int


@strawberry.type
class MetricsSnapshot:
    observed_at: datetime
    likes: int
    replies: int
    shares: int


@strawberry.type
class Post(Node):
    body: str
    created_at: datetime
    url: str | None
    kind: PostKind
    kind_set_by_hand: bool
    message_type: str
    metrics: PostMetrics
    _row: strawberry.Private[Any]

    @classmethod
    def from_row(cls, row: Any) -> Post:
        return cls(
            id=encode_id("Post", row.id),
            body=row.body,
            created_at=row.created_at,
            url=row.web_url,
            kind=row.kind,
            kind_set_by_hand=row.kind_set_by_hand,
            message_type=row.message_type,
            metrics=PostMetrics(
                likes=row.like_count, replies=row.reply_count, shares=row.share_count
            ),
            _row=row,
        )

    @strawberry.field(description="The first 140 characters of the body, cut at a word boundary.")
    def excerpt(self) -> str:
        return text.excerpt(self.body)

    @strawberry.field
    def is_reply(self) -> bool:
        return self._row.thread_starter_id is not None

    @strawberry.field(permission_classes=[PEOPLE])
    async def author(self, info: Info) -> Annotated[Person, strawberry.lazy("schema.types.person")]:
        from schema.types.person import Person

        return Person.from_row(await info.context.loaders.person.load(self._row.author_id))

    @strawberry.field(permission_classes=[STAFF])
    async def group(
        self, info: Info
    ) -> Annotated[Group, strawberry.lazy("schema.types.person")] | None:
        from schema.types.person import Group

        if self._row.group_id is None:
            return None
        row = await info.context.loaders.group.load(self._row.group_id)
        return Group.from_row(row) if row is not None else None

    @strawberry.field(description="Campaign topics whose hashtag the post carries.")
    async def topics(
        self, info: Info
    ) -> list[Annotated[Topic, strawberry.lazy("schema.types.topic")]]:
        from schema.types.topic import Topic

        return [
            Topic.from_row(r) for r in await info.context.loaders.post_topics.load(self._row.id)
        ]

    @strawberry.field(description="Every hashtag in the body, lower-cased.")
    async def hashtags(self, info: Info) -> list[str]:
        return await info.context.loaders.post_hashtags.load(self._row.id)

    @strawberry.field(description="Learning resources the post links to.")
    async def resources(
        self, info: Info
    ) -> list[Annotated[Resource, strawberry.lazy("schema.types.resource")]]:
        from schema.types.resource import Resource

        rows = await info.context.loaders.post_resources.load(self._row.id)
        return [Resource.from_row(r) for r in shown_resources(info, rows)]

    @strawberry.field(permission_classes=[STAFF], description="The thread starter, for a reply.")
    async def thread(self, info: Info) -> Post | None:
        if self._row.thread_starter_id is None:
            return None
        row = await info.context.loaders.post.load(self._row.thread_starter_id)
        return Post.from_row(row) if row is not None else None

    @strawberry.field(permission_classes=[STAFF], description="The post this one answers.")
    async def replied_to(self, info: Info) -> Post | None:
        if self._row.replied_to_id is None:
            return None
        row = await info.context.loaders.post.load(self._row.replied_to_id)
        return Post.from_row(row) if row is not None else None

    @strawberry.field(permission_classes=[STAFF], description="The thread's replies, oldest first.")
    async def replies(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[Post]:
        return await posts_connection(info, Scope.THREAD, self._row.id, first, after)

    @strawberry.field(description="Metric snapshots, oldest first; one per change.")
    async def metrics_history(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[MetricsSnapshot]:
        page = Page.build(first, after, direction=Direction.ASC, value_type=datetime)
        loaders = info.context.loaders
        result = await loaders.metrics_page.load((self._row.id, page))

        async def count() -> int:
            return int(await loaders.metrics_count.load(self._row.id))

        return connection(
            result,
            lambda r: MetricsSnapshot(
                observed_at=r.observed_at, likes=r.likes, replies=r.replies, shares=r.shares
            ),
            count,
        )
