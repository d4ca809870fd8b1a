"""Campaigns: the dashboard's root object, with goals, performance and growth."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from api.analytics.performance import Totals
from api.db.pagination import Direction, Page
from api.db.repositories.scopes import Scope
from api.domain.enums import GoalMetric
from api.domain.periods import Interval, midnight, periods
from schema.context import Info
from schema.inputs import PostFilterInput, PostOrder
from schema.pagination import Connection, connection
from schema.permissions import PEOPLE
from schema.resolvers import (
    FAR_FUTURE,
    asks_for,
    follower_growth,
    performance,
    posts_connection,
)
from schema.types.analytics import FollowerPoint, KindPerformance, Performance, TimelinePoint
from schema.types.node import Node, encode_id
from schema.types.promotion import Promotion

if TYPE_CHECKING:
    from schema.types.person import Group, Person
    from schema.types.post import Post
    from schema.types.topic import Topic, TopicManager


@strawberry.type
class Goal:
    metric: GoalMetric
    target: int
    due_on: date | None
    _row: strawberry.Private[Any]
    _campaign: strawberry.Private[Any]
    # Whether a sibling goal counts active authors: then all of them share that one statement.
    _authors: strawberry.Private[bool] = False

    @strawberry.field(
        description="The metric now: the owner's followers, or the campaign total since it started."
    )
    async def current(self, info: Info) -> int:
        loaders = info.context.loaders
        if self.metric is GoalMetric.FOLLOWERS:
            if self._campaign.owner_id is None:
                return 0
            owner = await loaders.person.load(self._campaign.owner_id)
            return int(owner.follower_count) if owner is not None else 0
        since = midnight(self._campaign.starts_on)
        authors = self._authors or self.metric is GoalMetric.ACTIVE_AUTHORS
        by_period = await loaders.totals.load(
            (self._campaign.id, (Scope.CAMPAIGN, since, FAR_FUTURE, None, authors))
        )
        totals = by_period.get(None, Totals())
        return {
            GoalMetric.POSTS: totals.posts,
            GoalMetric.LIKES: totals.likes,
            GoalMetric.REPLIES: totals.replies,
            GoalMetric.ACTIVE_AUTHORS: totals.active_authors,
        }[self.metric]

    @strawberry.field(description="current / target.")
    async def progress(self, info: Info) -> float:
        return await self.current(info) / self.target


@strawberry.type
class Campaign(Node):
    slug: str
    name: str
    description: str | None
    starts_on: date
    ends_on: date | None
    _row: strawberry.Private[Any]

    @classmethod
    def from_row(cls, row: Any) -> Campaign:
        return cls(
            id=encode_id("Campaign", row.id),
            slug=row.slug,
            name=row.name,
            description=row.description,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            _row=row,
        )

    async def _owner_ids(self) -> list[int]:
        return [self._row.owner_id] if self._row.owner_id is not None else []

    @strawberry.field(permission_classes=[PEOPLE])
    async def owner(
        self, info: Info
    ) -> Annotated[Person, strawberry.lazy("schema.types.person")] | None:
        from schema.types.person import Person

        if self._row.owner_id is None:
            return None
        return Person.from_row(await info.context.loaders.person.load(self._row.owner_id))

    @strawberry.field(description="New followers are the owner's.")
    async def performance(self, info: Info, since: datetime, until: datetime) -> Performance:
        return await performance(info, Scope.CAMPAIGN, self._row.id, since, until, self._owner_ids)

    @strawberry.field(description="One row per post kind that has posts in the range.")
    async def performance_by_kind(
        self, info: Info, since: datetime, until: datetime
    ) -> list[KindPerformance]:
        periods(since, until, Interval.MONTH)  # validates the range
        by_kind = await info.context.loaders.totals_by_kind.load(
            (self._row.id, (Scope.CAMPAIGN, since, until))
        )
        return [
            KindPerformance(kind=kind, posts=t.posts, likes=t.likes, replies=t.replies)
            for kind, t in sorted(by_kind.items(), key=lambda item: item[0].value)
        ]

    @strawberry.field(description="One point per calendar period overlapping the range.")
    async def timeline(
        self, info: Info, since: datetime, until: datetime, interval: Interval = Interval.WEEK
    ) -> list[TimelinePoint]:
        spans = periods(since, until, interval)
        if not spans:
            return []
        authors = asks_for(info, "activeAuthors")
        by_period = await info.context.loaders.totals.load(
            (self._row.id, (Scope.CAMPAIGN, spans[0][1], spans[-1][2], interval, authors))
        )
        points = []
        for start, _, _ in spans:
            t = by_period.get(start, Totals())
            points.append(
                TimelinePoint(
                    period_start=start,
                    posts=t.posts,
                    likes=t.likes,
                    replies=t.replies,
                    active_authors=t.active_authors,
                )
            )
        return points

    @strawberry.field(description="The owner's follower count at the end of each period.")
    async def follower_growth(
        self, info: Info, since: datetime, until: datetime, interval: Interval = Interval.WEEK
    ) -> list[FollowerPoint]:
        return await follower_growth(info, self._row.owner_id, since, until, interval)

    @strawberry.field
    async def goals(self, info: Info) -> list[Goal]:
        rows = await info.context.loaders.goals.load(self._row.id)
        authors = any(r.metric is GoalMetric.ACTIVE_AUTHORS for r in rows)
        return [
            Goal(
                metric=r.metric,
                target=r.target,
                due_on=r.due_on,
                _row=r,
                _campaign=self._row,
                _authors=authors,
            )
            for r in rows
        ]

    @strawberry.field
    async def topics(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[Annotated[Topic, strawberry.lazy("schema.types.topic")]]:
        from schema.types.topic import Topic

        page = Page.build(first, after, direction=Direction.ASC, value_type=int)
        loaders = info.context.loaders
        result = await loaders.campaign_topic_page.load((self._row.id, page))

        async def count() -> int:
            return int(await loaders.campaign_topic_count.load(self._row.id))

        return connection(result, Topic.from_row, count)

    @strawberry.field(description="Groups the campaign tracks, by name.")
    async def groups(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[Annotated[Group, strawberry.lazy("schema.types.person")]]:
        from schema.types.person import Group

        page = Page.build(first, after, direction=Direction.ASC, value_type=str)
        loaders = info.context.loaders
        result = await loaders.campaign_group_page.load((self._row.id, page))

        async def count() -> int:
            return int(await loaders.campaign_group_count.load(self._row.id))

        return connection(result, Group.from_row, count)

    @strawberry.field(permission_classes=[PEOPLE], description="Current topic assignments.")
    async def topic_managers(
        self, info: Info
    ) -> list[Annotated[TopicManager, strawberry.lazy("schema.types.topic")]]:
        from schema.types.topic import TopicManager

        rows = await info.context.loaders.managers_by_campaign.load(self._row.id)
        return [TopicManager.from_row(r) for r in rows]

    @strawberry.field(description="Promotions, most recent first.")
    async def promotions(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[Promotion]:
        page = Page.build(first, after, direction=Direction.DESC, value_type=date)
        loaders = info.context.loaders
        result = await loaders.promotion_page.load((self._row.id, page))

        async def count() -> int:
            return int(await loaders.promotion_count.load(self._row.id))

        return connection(result, Promotion.from_row, count)

    @strawberry.field(description="Thread starters on its topics or in its groups, newest first.")
    async def posts(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        order_by: PostOrder | None = None,
        filter: PostFilterInput | None = None,
    ) -> Connection[Annotated[Post, strawberry.lazy("schema.types.post")]]:
        return await posts_connection(
            info, Scope.CAMPAIGN, self._row.id, first, after, order_by, filter
        )
