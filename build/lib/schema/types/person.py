"""People (microblog users) and groups."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from api.db.repositories.scopes import Scope
from api.domain.enums import GroupPrivacy
from api.domain.periods import Interval
from schema.context import Info
from schema.inputs import PostOrder
from schema.pagination import Connection
from schema.permissions import EMAILS
from schema.resolvers import follower_growth, posts_connection
from schema.types.analytics import FollowerPoint
from schema.types.node import Node, encode_id

if TYPE_CHECKING:
    from schema.types.post import Post
    from schema.types.topic import TopicManager


@strawberry.type
class Person(Node):
    full_name: str
    job_title: str | None
    department: str | None
    avatar_url: str | None
    url: str | None
    follower_count: int
    following_count: int
    _row: strawberry.Private[Any]

    @classmethod
    def from_row(cls, row: Any) -> Person:
        return cls(
            id=encode_id("Person", row.id),
            full_name=row.full_name,
            job_title=row.job_title,
            department=row.department,
            avatar_url=row.avatar_url,
            url=row.web_url,
            follower_count=row.follower_count,
            following_count=row.following_count,
            _row=row,
        )

    @strawberry.field(permission_classes=[EMAILS], description="Admins and managers only.")
    def email(self) -> str | None:
        return self._row.email

    @strawberry.field(description="Follower count at the end of each period.")
    async def follower_growth(
        self, info: Info, since: datetime, until: datetime, interval: Interval = Interval.WEEK
    ) -> list[FollowerPoint]:
        return await follower_growth(info, self._row.id, since, until, interval)

    @strawberry.field(description="Current topic assignments.")
    async def managed_topics(
        self, info: Info
    ) -> list[Annotated[TopicManager, strawberry.lazy("schema.types.topic")]]:
        from schema.types.topic import TopicManager

        rows = await info.context.loaders.managers_by_person.load(self._row.id)
        return [TopicManager.from_row(r) for r in rows]

    @strawberry.field(description="Thread starters this person wrote, newest first.")
    async def posts(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        order_by: PostOrder | None = None,
    ) -> Connection[Annotated[Post, strawberry.lazy("schema.types.post")]]:
        return await posts_connection(info, Scope.PERSON, self._row.id, first, after, order_by)


@strawberry.type
class Group(Node):
    name: str
    description: str | None
    privacy: GroupPrivacy
    member_count: int
    joined: bool
    url: str | None
    _row: strawberry.Private[Any]

    @classmethod
    def from_row(cls, row: Any) -> Group:
        return cls(
            id=encode_id("Group", row.id),
            name=row.name,
            description=row.description,
            privacy=row.privacy,
            member_count=row.member_count,
            joined=row.joined,
            url=row.web_url,
            _row=row,
        )

    @strawberry.field(description="Thread starters posted in the group, newest first.")
    async def posts(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        order_by: PostOrder | None = None,
    ) -> Connection[Annotated[Post, strawberry.lazy("schema.types.post")]]:
        return await posts_connection(info, Scope.GROUP, self._row.id, first, after, order_by)
