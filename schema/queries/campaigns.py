"""Campaign and topic lookups."""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.db.pagination import Direction, Page
from api.db.repositories import campaigns, topics
from schema.boundary import HASHTAG_LENGTH, SLUG_LENGTH, limit
from schema.context import Info
from schema.inputs import hashtag_argument
from schema.pagination import Connection, root_connection
from schema.permissions import EVERYONE, STAFF
from schema.types.campaign import Campaign
from schema.types.topic import Topic


@strawberry.type
class CampaignQueries:
    @strawberry.field(permission_classes=[STAFF])
    async def campaign(
        self, info: Info, slug: Annotated[str, strawberry.argument(metadata=limit(SLUG_LENGTH))]
    ) -> Campaign | None:
        async with info.context.reads.reading() as session:
            row = await campaigns.get_campaign_by_slug(session, slug)
        return Campaign.from_row(row) if row is not None else None

    @strawberry.field(permission_classes=[STAFF], description="Campaigns, most recent first.")
    async def campaigns(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[Campaign]:
        from datetime import date

        page = Page.build(first, after, direction=Direction.DESC, value_type=date)
        return await root_connection(
            info.context.reads,
            lambda session: campaigns.page_campaigns(session, page),
            campaigns.count_campaigns,
            Campaign.from_row,
        )

    @strawberry.field(
        permission_classes=[EVERYONE], description="A topic by hashtag ('#' optional)."
    )
    async def topic(
        self,
        info: Info,
        hashtag: Annotated[str, strawberry.argument(metadata=limit(HASHTAG_LENGTH))],
    ) -> Topic | None:
        row = await info.context.loaders.topic_by_hashtag.load(hashtag_argument(hashtag))
        return Topic.from_row(row) if row is not None else None

    @strawberry.field(permission_classes=[EVERYONE])
    async def topics(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[Topic]:
        page = Page.build(first, after, direction=Direction.ASC, value_type=int)
        return await root_connection(
            info.context.reads,
            lambda session: topics.page_topics(session, page),
            topics.count_topics,
            Topic.from_row,
        )
