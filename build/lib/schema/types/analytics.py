"""Performance figures, timelines and follower growth points."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

import strawberry

from api.analytics.performance import Totals
from api.domain import enums


@strawberry.type(description="How a scope's thread starters did over a range.")
class Performance:
    posts: int
    likes: int
    replies: int
    active_authors: int
    _new_followers: strawberry.Private[Callable[[], Awaitable[int]]]

    @classmethod
    def of(cls, totals: Totals, new_followers: Callable[[], Awaitable[int]]) -> Performance:
        return cls(
            posts=totals.posts,
            likes=totals.likes,
            replies=totals.replies,
            active_authors=totals.active_authors,
            _new_followers=new_followers,
        )

    @strawberry.field(description="(likes + replies) / posts; 0 when there are no posts.")
    def engagement_rate(self) -> float:
        return (self.likes + self.replies) / self.posts if self.posts else 0.0

    @strawberry.field(description="Change in follower count over the range, from snapshots.")
    async def new_followers(self) -> int:
        return await self._new_followers()


@strawberry.type
class KindPerformance:
    kind: enums.PostKind
    posts: int
    likes: int
    replies: int

    @strawberry.field(description="likes / posts.")
    def likes_per_post(self) -> float:
        return self.likes / self.posts if self.posts else 0.0


@strawberry.type
class TimelinePoint:
    period_start: date
    posts: int
    likes: int
    replies: int
    active_authors: int


@strawberry.type
class FollowerPoint:
    period_start: date
    followers: int = strawberry.field(
        description="The follower count at the end of the period (last snapshot at or before it)."
    )
