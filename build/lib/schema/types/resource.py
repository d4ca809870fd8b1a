"""Learning resources: podcast series and episodes, articles, books, LMS courses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from api.db.repositories.scopes import Scope
from api.domain.enums import ResourceKind, Visibility
from schema.context import Info
from schema.pagination import Connection
from schema.permissions import shown_resources
from schema.resolvers import posts_connection
from schema.types.node import Node, encode_id

if TYPE_CHECKING:
    from schema.types.post import Post
    from schema.types.topic import Topic


@strawberry.type
class Resource(Node):
    kind: ResourceKind
    title: str
    url: str
    provider: str | None
    lms_course_id: str | None
    description: str | None
    visibility: Visibility
    position: int | None = strawberry.field(description="An episode's place in its series.")
    _row: strawberry.Private[Any]

    @classmethod
    def from_row(cls, row: Any) -> Resource:
        return cls(
            id=encode_id("Resource", row.id),
            kind=row.kind,
            title=row.title,
            url=row.url,
            provider=row.provider,
            lms_course_id=row.lms_course_id,
            description=row.description,
            visibility=row.visibility,
            position=row.position,
            _row=row,
        )

    @strawberry.field(
        description="A link on this service that records a click and redirects to `url`."
    )
    def tracked_url(self, info: Info) -> str:
        return f"{info.context.base_url}/r/{self._row.tracking_token}"

    @strawberry.field
    async def topics(
        self, info: Info
    ) -> list[Annotated[Topic, strawberry.lazy("schema.types.topic")]]:
        from schema.types.topic import Topic

        rows = await info.context.loaders.resource_topics.load(self._row.id)
        return [Topic.from_row(r) for r in rows]

    @strawberry.field(description="The series an episode belongs to.")
    async def series(self, info: Info) -> Resource | None:
        if self._row.series_id is None:
            return None
        row = await info.context.loaders.resource.load(self._row.series_id)
        return next((Resource.from_row(r) for r in shown_resources(info, [row])), None)

    @strawberry.field(description="A series' episodes in order; empty for other resources.")
    async def episodes(self, info: Info) -> list[Resource]:
        rows = await info.context.loaders.episodes.load(self._row.id)
        return [Resource.from_row(r) for r in shown_resources(info, rows)]

    @strawberry.field(description="Clicks through `trackedUrl`.")
    async def click_count(self, info: Info) -> int:
        return await info.context.loaders.click_count.load(self._row.id)

    @strawberry.field(description="Thread starters linking the resource, newest first.")
    async def promoting_posts(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[Annotated[Post, strawberry.lazy("schema.types.post")]]:
        return await posts_connection(info, Scope.RESOURCE, self._row.id, first, after)
