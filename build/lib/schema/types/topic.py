"""Topics (campaign hashtags) and topic managers."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from api.db.repositories.scopes import Scope
from schema.context import Info
from schema.inputs import PostOrder
from schema.pagination import Connection
from schema.permissions import PEOPLE, STAFF, shown_resources
from schema.resolvers import performance, posts_connection
from schema.types.analytics import Performance
from schema.types.node import Node, encode_id

if TYPE_CHECKING:
    from schema.types.campaign import Campaign
    from schema.types.person import Person
    from schema.types.post import Post
    from schema.types.resource import Resource


@strawberry.type
class Topic(Node):
    hashtag: str
    name: str
    description: str | None
    _row: strawberry.Private[Any]

    @classmethod
    def from_row(cls, row: Any) -> Topic:
        return cls(
            id=encode_id("Topic", row.id),
            hashtag=row.hashtag,
            name=row.name,
            description=row.description,
            _row=row,
        )

    @strawberry.field(permission_classes=[STAFF])
    async def campaign(
        self, info: Info
    ) -> Annotated[Campaign, strawberry.lazy("schema.types.campaign")]:
        from schema.types.campaign import Campaign

        return Campaign.from_row(await info.context.loaders.campaign.load(self._row.campaign_id))

    @strawberry.field(permission_classes=[PEOPLE], description="Current managers of the topic.")
    async def managers(self, info: Info) -> list[TopicManager]:
        rows = await info.context.loaders.managers_by_topic.load(self._row.id)
        return [TopicManager.from_row(r) for r in rows]

    @strawberry.field(
        permission_classes=[STAFF],
        description="Thread starters carrying the hashtag, newest first.",
    )
    async def posts(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        order_by: PostOrder | None = None,
    ) -> Connection[Annotated[Post, strawberry.lazy("schema.types.post")]]:
        return await posts_connection(info, Scope.TOPIC, self._row.hashtag, first, after, order_by)

    @strawberry.field(
        permission_classes=[STAFF],
        description="New followers count those of the topic's managers together.",
    )
    async def performance(self, info: Info, since: datetime, until: datetime) -> Performance:
        async def managers() -> list[int]:
            rows = await info.context.loaders.managers_by_topic.load(self._row.id)
            return [r.person_id for r in rows]

        return await performance(info, Scope.TOPIC, self._row.hashtag, since, until, managers)

    @strawberry.field(description="Learning resources for this topic.")
    async def resources(
        self, info: Info
    ) -> list[Annotated[Resource, strawberry.lazy("schema.types.resource")]]:
        from schema.types.resource import Resource

        rows = await info.context.loaders.topic_resources.load(self._row.id)
        return [Resource.from_row(r) for r in shown_resources(info, rows)]


@strawberry.type
class TopicManager(Node):
    since: date
    until: date | None
    _row: strawberry.Private[Any]

    @classmethod
    def from_row(cls, row: Any) -> TopicManager:
        return cls(id=encode_id("TopicManager", row.id), since=row.since, until=row.until, _row=row)

    @strawberry.field(permission_classes=[PEOPLE])
    async def person(self, info: Info) -> Annotated[Person, strawberry.lazy("schema.types.person")]:
        from schema.types.person import Person

        return Person.from_row(await info.context.loaders.person.load(self._row.person_id))

    @strawberry.field
    async def topic(self, info: Info) -> Topic:
        return Topic.from_row(await info.context.loaders.topic.load(self._row.topic_id))

    @strawberry.field(description="The topic's performance; new followers are the manager's.")
    async def performance(self, info: Info, since: datetime, until: datetime) -> Performance:
        topic = await info.context.loaders.topic.load(self._row.topic_id)

        async def manager() -> list[int]:
            return [self._row.person_id]

        return await performance(info, Scope.TOPIC, topic.hashtag, since, until, manager)
