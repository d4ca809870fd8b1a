"""Promotions: training sessions and events where the community was promoted."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from api.domain.enums import PromotionKind
from api.domain.periods import midnight
from schema.context import Info
from schema.resolvers import followers_change
from schema.types.node import Node, encode_id

if TYPE_CHECKING:
    from schema.types.topic import Topic


@strawberry.type
class Promotion(Node):
    kind: PromotionKind
    title: str
    held_on: date
    audience_size: int | None
    notes: str | None
    _row: strawberry.Private[Any]

    @classmethod
    def from_row(cls, row: Any) -> Promotion:
        return cls(
            id=encode_id("Promotion", row.id),
            kind=row.kind,
            title=row.title,
            held_on=row.held_on,
            audience_size=row.audience_size,
            notes=row.notes,
            _row=row,
        )

    @strawberry.field
    async def topics(
        self, info: Info
    ) -> list[Annotated[Topic, strawberry.lazy("schema.types.topic")]]:
        from schema.types.topic import Topic

        rows = await info.context.loaders.promotion_topics.load(self._row.id)
        return [Topic.from_row(r) for r in rows]

    @strawberry.field(
        description="The owner's follower change from the promotion's day to 7 days later."
    )
    async def followers_gained_within7_days(self, info: Info) -> int | None:
        campaign = await info.context.loaders.campaign.load(self._row.campaign_id)
        if campaign is None or campaign.owner_id is None:
            return None
        start = midnight(self.held_on)
        # Half-open like every range: [the day's start, 7 days later).
        return await followers_change(info, [campaign.owner_id], start, start + timedelta(days=7))
