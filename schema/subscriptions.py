"""``campaignActivity(slug:)``: a campaign's events as they happen, over graphql-transport-ws.

The events come from the process's fan-out (``api/live``), which the endpoint hands over in
the context as an ``ActivityFeed``: the schema knows only that it yields batches of one
campaign's events (``api.domain.activity``), one batch per committed change. Each batch is
shown with fresh loaders, so a post's metrics or a person's follower count are read as they are
now, not as the connection first saw them.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Annotated, Any, Protocol

import strawberry

from api.db.repositories import campaigns
from api.domain.activity import ActivityEvent, CampaignChange, EventKind
from api.errors import ApiError, NotFound
from schema.boundary import SLUG_LENGTH, limit
from schema.context import Info
from schema.loaders import Loaders
from schema.permissions import STAFF
from schema.types.campaign import Campaign
from schema.types.person import Person
from schema.types.post import Post

strawberry.enum(CampaignChange, description="What a mutation changed in a campaign's set-up.")


class ActivityFeed(Protocol):
    def subscribe(
        self, campaign_id: int, connection: Any
    ) -> AbstractAsyncContextManager[AsyncIterator[list[ActivityEvent]]]:
        """Batches of the campaign's events until the context exits; ``connection`` is the
        subscriber's WebSocket, closed by the feed should the subscriber fall too far behind."""
        ...


@strawberry.interface(description="Something that happened in a campaign, as it happened.")
class CampaignEvent:
    occurred_at: datetime = strawberry.field(
        description="PostPublished: when the post was written; otherwise when the change "
        "was recorded."
    )


@strawberry.type(description="A new thread starter in the campaign.")
class PostPublished(CampaignEvent):
    post: Post


@strawberry.type(description="A campaign post's likes, replies or shares changed.")
class PostMetricsChanged(CampaignEvent):
    post: Post


@strawberry.type(description="The follower count of the campaign's owner or a topic manager.")
class FollowersChanged(CampaignEvent):
    person: Person
    delta: int


@strawberry.type(description="A mutation changed the campaign's set-up.")
class CampaignChanged(CampaignEvent):
    campaign: Campaign
    change: CampaignChange


EVENT_TYPES = [PostPublished, PostMetricsChanged, FollowersChanged, CampaignChanged]


async def _shown(info: Info, batch: list[ActivityEvent]) -> list[CampaignEvent]:
    """The batch's events with their objects, read now; gone objects drop their events."""
    loaders = info.context.loaders
    post_ids = [e.post_id for e in batch if e.post_id is not None]
    person_ids = [e.person_id for e in batch if e.person_id is not None]
    posts: dict[int | None, Any] = dict(
        zip(post_ids, await loaders.post.load_many(post_ids), strict=True)
    )
    people: dict[int | None, Any] = dict(
        zip(person_ids, await loaders.person.load_many(person_ids), strict=True)
    )
    shown: list[CampaignEvent] = []
    for event in batch:
        if event.kind in (EventKind.POST_PUBLISHED, EventKind.POST_METRICS_CHANGED):
            row = posts.get(event.post_id)
            if row is None:  # deleted since
                continue
            kind = PostPublished if event.kind is EventKind.POST_PUBLISHED else PostMetricsChanged
            shown.append(kind(occurred_at=event.occurred_at, post=Post.from_row(row)))
        elif event.kind is EventKind.FOLLOWERS_CHANGED:
            person = people.get(event.person_id)
            if person is not None:
                shown.append(
                    FollowersChanged(
                        occurred_at=event.occurred_at,
                        person=Person.from_row(person),
                        delta=event.delta or 0,
                    )
                )
        elif event.change is not None:
            campaign = await loaders.campaign.load(event.campaign_id)
            if campaign is not None:
                shown.append(
                    CampaignChanged(
                        occurred_at=event.occurred_at,
                        campaign=Campaign.from_row(campaign),
                        change=event.change,
                    )
                )
    return shown


@strawberry.type
class Subscription:
    @strawberry.subscription(
        permission_classes=[STAFF],
        description="The campaign's new posts, changed post metrics, follower changes of its "
        "owner and topic managers, and changes to its set-up, as they are committed. Over "
        "graphql-transport-ws only; a subscriber that falls too far behind is closed with 1013.",
    )
    async def campaign_activity(
        self, info: Info, slug: Annotated[str, strawberry.argument(metadata=limit(SLUG_LENGTH))]
    ) -> AsyncGenerator[CampaignEvent, None]:
        feed: ActivityFeed | None = info.context.activity
        if feed is None:
            raise ApiError("Live activity is not served here: subscribe over WebSocket.")
        async with info.context.db.reading() as session:
            row = await campaigns.get_campaign_by_slug(session, slug)
        if row is None:
            raise NotFound(f"No campaign has the slug {slug!r}.")
        async with feed.subscribe(row.id, info.context.request) as batches:
            async for batch in batches:
                # One batch, one cache: what the events show is read after their commit.
                info.context.loaders = Loaders(info.context.db)
                for event in await _shown(info, batch):
                    yield event
