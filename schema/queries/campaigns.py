"""Campaign and topic lookups."""

from __future__ import annotations

import strawberry

from api.db.pagination import Direction, Page
from api.db.repositories import campaigns, topics
from schema.context import Info
from schema.inputs import hashtag_argument
from schema.pagination import Connection, connection
from schema.permissions import EVERYONE, STAFF
from schema.types.campaign import Campaign
from schema.types.topic import Topic


@strawberry.type
class CampaignQueries:
    @strawberry.field(permission_classes=[STAFF])
    async def campaign(self, info: Info, slug: str) -> Campaign | None:
        async with info.context.db.reading() as session:
            row = await campaigns.get_campaign_by_slug(session, slug)
        return Campaign.from_row(row) if row is not None else None

    @strawberry.field(permission_classes=[STAFF], description="Campaigns, most recent first.")
    async def campaigns(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[Campaign]:
        from datetime import date

        page = Page.build(first, after, direction=Direction.DESC, value_type=date)
        async with info.context.db.reading() as session:
            result = await campaigns.page_campaigns(session, page)

        async def count() -> int:
            async with info.context.db.reading() as session:
                return await campaigns.count_campaigns(session)

        return connection(result, Campaign.from_row, count)

    @strawberry.field(
        permission_classes=[EVERYONE], description="A topic by hashtag ('#' optional)."
    )
    async def topic(self, info: Info, hashtag: str) -> Topic | None:
        row = await info.context.loaders.topic_by_hashtag.load(hashtag_argument(hashtag))
        return Topic.from_row(row) if row is not None else None

    @strawberry.field(permission_classes=[EVERYONE])
    async def topics(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[Topic]:
        page = Page.build(first, after, direction=Direction.ASC, value_type=int)
        async with info.context.db.reading() as session:
            result = await topics.page_topics(session, page)

        async def count() -> int:
            async with info.context.db.reading() as session:
                return await topics.count_topics(session)

        return connection(result, Topic.from_row, count)
