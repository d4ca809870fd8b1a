"""Content mutations: learning resources and post kinds."""

from __future__ import annotations

import secrets
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.repositories import activity, ingest, resources
from api.db.repositories import posts as post_repo
from api.domain.activity import CampaignChange
from api.domain.enums import PostKind, ResourceKind, Visibility
from api.domain.text import normalise_url
from schema.boundary import LONG_TEXT_LENGTH, NAME_LENGTH, URL_LENGTH, limit
from schema.context import Info
from schema.mutations.base import (
    UserError,
    UserErrors,
    check_managed,
    ensure,
    id_of,
    managed_topics,
    run,
)
from schema.mutations.campaigns import _text, _topic_ids
from schema.permissions import EDITORS
from schema.types.post import Post
from schema.types.resource import Resource


@strawberry.input
class AddResourceInput:
    kind: ResourceKind
    title: str = strawberry.field(metadata=limit(NAME_LENGTH))
    url: str = strawberry.field(metadata=limit(URL_LENGTH))
    topic_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    provider: str | None = strawberry.field(default=None, metadata=limit(NAME_LENGTH))
    lms_course_id: str | None = strawberry.field(default=None, metadata=limit(NAME_LENGTH))
    description: str | None = strawberry.field(default=None, metadata=limit(LONG_TEXT_LENGTH))
    series_id: strawberry.ID | None = strawberry.field(
        default=None, description="For an episode: its series."
    )
    position: int | None = None
    visibility: Visibility = Visibility.PUBLIC


@strawberry.type
class AddResourcePayload:
    resource: Resource | None
    user_errors: list[UserError]


@strawberry.input
class ClassifyPostInput:
    post_id: strawberry.ID
    kind: PostKind


@strawberry.type
class ClassifyPostPayload:
    post: Post | None
    user_errors: list[UserError]


@strawberry.type
class ContentMutations:
    @strawberry.mutation(permission_classes=[EDITORS], description="Managers: their topics only.")
    async def add_resource(self, info: Info, input: AddResourceInput) -> AddResourcePayload:
        async def work(session: AsyncSession, errors: UserErrors) -> Any:
            title = _text(errors, input.title, "title")
            normalized = ""
            try:
                normalized = normalise_url(input.url)
            except ValueError:
                errors.add("url", "`url` must be an absolute http(s) URL.")
            ensure(
                input.position is None or input.position > 0,
                errors,
                "position",
                "`position` starts at 1.",
            )
            allowed = await managed_topics(info, session)
            series_id = id_of(errors, input.series_id, "seriesId", "Resource")
            if series_id is not None:
                series = (await resources.get_resources(session, [series_id])).get(series_id)
                if ensure(
                    series is not None and series.kind is ResourceKind.PODCAST_SERIES,
                    errors,
                    "seriesId",
                    "No podcast series has this id.",
                    "NOT_FOUND",
                ):
                    # An episode changes its series: a manager adds to series of their topics.
                    on = await resources.topics_by_resource(session, [series_id])
                    ensure(
                        allowed is None or {t.id for t in on.get(series_id, [])} & allowed,
                        errors,
                        "seriesId",
                        "You can only add episodes to a series on a topic you manage.",
                        "FORBIDDEN",
                    )
            topic_ids = await _topic_ids(session, errors, input.topic_ids)
            check_managed(errors, allowed, topic_ids, "topicIds")
            if errors:
                return None
            row = await resources.create_resource(
                session,
                topic_ids=topic_ids,
                kind=input.kind,
                title=title,
                url=input.url.strip(),
                normalized_url=normalized,
                provider=input.provider,
                lms_course_id=input.lms_course_id,
                description=input.description,
                series_id=series_id,
                position=input.position,
                visibility=input.visibility,
                tracking_token=secrets.token_urlsafe(9),
            )
            if ensure(row, errors, "url", "A resource with this URL exists.", "DUPLICATE"):
                await activity.record_campaign_change(
                    session, CampaignChange.RESOURCE_ADDED, topics=topic_ids
                )
            return row

        row, errors = await run(info, work)
        return AddResourcePayload(
            resource=Resource.from_row(row) if row else None, user_errors=errors
        )

    @strawberry.mutation(
        permission_classes=[EDITORS],
        description="Set a post's kind by hand; it then survives re-classification.",
    )
    async def classify_post(self, info: Info, input: ClassifyPostInput) -> ClassifyPostPayload:
        async def work(session: AsyncSession, errors: UserErrors) -> Any:
            post_id = id_of(errors, input.post_id, "postId", "Post")
            if post_id is None:
                return None
            if not (await post_repo.get_many(session, [post_id])):
                errors.add("postId", "No post has this id.", "NOT_FOUND")
                return None
            allowed = await managed_topics(info, session)
            if (
                allowed is not None
                and not (await ingest.post_topic_ids(session, post_id)) & allowed
            ):
                errors.add(
                    "postId", "You can only classify posts on topics you manage.", "FORBIDDEN"
                )
                return None
            # The mirror may delete the post between the check and this write: the write says.
            if await ingest.set_kind(session, post_id, input.kind) is None:
                errors.add("postId", "No post has this id.", "NOT_FOUND")
                return None
            await activity.record_campaign_change(
                session, CampaignChange.POST_CLASSIFIED, posts=[post_id]
            )
            return (await post_repo.get_many(session, [post_id]))[post_id]

        row, errors = await run(info, work)
        return ClassifyPostPayload(post=Post.from_row(row) if row else None, user_errors=errors)
