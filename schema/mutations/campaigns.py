"""Setting up a campaign: campaign, topics, managers, tracked groups, goals, promotions."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.repositories import activity, campaigns, people, topics
from api.domain.activity import CampaignChange
from api.domain.enums import GoalMetric, PromotionKind
from api.domain.text import InvalidHashtag, normalise_hashtag
from schema.boundary import HASHTAG_LENGTH, LONG_TEXT_LENGTH, NAME_LENGTH, SLUG_LENGTH, limit
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
from schema.permissions import ADMINS, EDITORS
from schema.types.campaign import Campaign, Goal
from schema.types.person import Group
from schema.types.promotion import Promotion
from schema.types.topic import Topic, TopicManager

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _text(errors: UserErrors, value: str, field: str, max_length: int = 200) -> str:
    value = value.strip()
    ensure(value, errors, field, f"`{field}` cannot be empty.")
    ensure(
        len(value) <= max_length,
        errors,
        field,
        f"`{field}` is longer than {max_length} characters.",
    )
    return value


async def _campaign(session: AsyncSession, errors: UserErrors, global_id: str) -> Any:
    pk = id_of(errors, global_id, "campaignId", "Campaign")
    if pk is None:
        return None
    row = (await campaigns.get_campaigns(session, [pk])).get(pk)
    ensure(row, errors, "campaignId", "No campaign has this id.", "NOT_FOUND")
    return row


async def _topic_ids(
    session: AsyncSession,
    errors: UserErrors,
    ids: list[strawberry.ID],
    *,
    campaign: Any = None,
) -> list[int]:
    """The topics' primary keys; with ``campaign``, each must be one of that campaign's."""
    pks = [pk for i in ids if (pk := id_of(errors, i, "topicIds", "Topic")) is not None]
    found = await topics.get_topics(session, pks)
    ensure(
        len(found) == len(set(pks)), errors, "topicIds", "Some topic ids are unknown.", "NOT_FOUND"
    )
    if campaign is not None:
        ensure(
            all(row.campaign_id == campaign.id for row in found.values()),
            errors,
            "topicIds",
            "Every topic must be one of the campaign's.",
        )
    return list(dict.fromkeys(pks))


@strawberry.input
class CreateCampaignInput:
    slug: str = strawberry.field(metadata=limit(SLUG_LENGTH))
    name: str = strawberry.field(metadata=limit(NAME_LENGTH))
    starts_on: date
    description: str | None = strawberry.field(default=None, metadata=limit(LONG_TEXT_LENGTH))
    owner_id: strawberry.ID | None = None
    ends_on: date | None = None


@strawberry.type
class CreateCampaignPayload:
    campaign: Campaign | None
    user_errors: list[UserError]


@strawberry.input
class CreateTopicInput:
    campaign_id: strawberry.ID
    hashtag: str = strawberry.field(
        description="With or without '#'; stored lower-case.", metadata=limit(HASHTAG_LENGTH)
    )
    name: str = strawberry.field(metadata=limit(NAME_LENGTH))
    description: str | None = strawberry.field(default=None, metadata=limit(LONG_TEXT_LENGTH))


@strawberry.type
class CreateTopicPayload:
    topic: Topic | None
    user_errors: list[UserError]


@strawberry.input
class AssignTopicManagerInput:
    topic_id: strawberry.ID
    person_id: strawberry.ID
    since: date | None = strawberry.field(
        default=None,
        description="Defaults to today. The topic's assignment running on that day ends then "
        "(one manager per topic at a time).",
    )


@strawberry.type
class AssignTopicManagerPayload:
    topic_manager: TopicManager | None
    user_errors: list[UserError]


@strawberry.input
class TrackGroupInput:
    campaign_id: strawberry.ID
    group_id: strawberry.ID


@strawberry.type
class TrackGroupPayload:
    group: Group | None
    user_errors: list[UserError]


@strawberry.input
class SetCampaignGoalInput:
    campaign_id: strawberry.ID
    metric: GoalMetric
    target: int
    due_on: date | None = None


@strawberry.type
class SetCampaignGoalPayload:
    goal: Goal | None
    user_errors: list[UserError]


@strawberry.input
class RecordPromotionInput:
    campaign_id: strawberry.ID
    kind: PromotionKind
    title: str = strawberry.field(metadata=limit(NAME_LENGTH))
    held_on: date
    audience_size: int | None = None
    topic_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    notes: str | None = strawberry.field(default=None, metadata=limit(LONG_TEXT_LENGTH))


@strawberry.type
class RecordPromotionPayload:
    promotion: Promotion | None
    user_errors: list[UserError]


@strawberry.type
class CampaignMutations:
    @strawberry.mutation(permission_classes=[ADMINS])
    async def create_campaign(
        self, info: Info, input: CreateCampaignInput
    ) -> CreateCampaignPayload:
        async def work(session: AsyncSession, errors: UserErrors) -> Any:
            slug = input.slug.strip().lower()
            ensure(
                SLUG.match(slug), errors, "slug", "Use lower-case letters, digits and single '-'."
            )
            name = _text(errors, input.name, "name")
            ensure(
                input.ends_on is None or input.ends_on >= input.starts_on,
                errors,
                "endsOn",
                "`endsOn` is before `startsOn`.",
            )
            owner_id = id_of(errors, input.owner_id, "ownerId", "Person")
            if owner_id is not None:
                found = await people.get_people(session, [owner_id])
                ensure(found, errors, "ownerId", "No person has this id.", "NOT_FOUND")
            if errors:
                return None
            row = await campaigns.create_campaign(
                session,
                slug=slug,
                name=name,
                description=input.description,
                owner_id=owner_id,
                starts_on=input.starts_on,
                ends_on=input.ends_on,
            )
            ensure(row, errors, "slug", f"A campaign called `{slug}` exists.", "DUPLICATE")
            return row

        row, errors = await run(info, work)
        return CreateCampaignPayload(
            campaign=Campaign.from_row(row) if row else None, user_errors=errors
        )

    @strawberry.mutation(permission_classes=[ADMINS])
    async def create_topic(self, info: Info, input: CreateTopicInput) -> CreateTopicPayload:
        async def work(session: AsyncSession, errors: UserErrors) -> Any:
            campaign = await _campaign(session, errors, input.campaign_id)
            name = _text(errors, input.name, "name")
            hashtag = ""
            try:
                hashtag = normalise_hashtag(input.hashtag)
            except InvalidHashtag as exc:
                errors.add("hashtag", str(exc))
            if errors or campaign is None:
                return None
            row = await topics.create_topic(
                session,
                campaign_id=campaign.id,
                hashtag=hashtag,
                name=name,
                description=input.description,
            )
            if ensure(row, errors, "hashtag", f"#{hashtag} is already a topic.", "DUPLICATE"):
                await activity.record_campaign_change(
                    session, CampaignChange.TOPIC_CREATED, campaigns=[campaign.id]
                )
            return row

        row, errors = await run(info, work)
        return CreateTopicPayload(topic=Topic.from_row(row) if row else None, user_errors=errors)

    @strawberry.mutation(permission_classes=[ADMINS])
    async def assign_topic_manager(
        self, info: Info, input: AssignTopicManagerInput
    ) -> AssignTopicManagerPayload:
        async def work(session: AsyncSession, errors: UserErrors) -> Any:
            topic_id = id_of(errors, input.topic_id, "topicId", "Topic")
            person_id = id_of(errors, input.person_id, "personId", "Person")
            if topic_id is not None:
                found = await topics.get_topics(session, [topic_id])
                ensure(found, errors, "topicId", "No topic has this id.", "NOT_FOUND")
            if person_id is not None:
                found = await people.get_people(session, [person_id])
                ensure(found, errors, "personId", "No person has this id.", "NOT_FOUND")
            if errors or topic_id is None or person_id is None:
                return None
            row = await topics.assign_manager(
                session, topic_id=topic_id, person_id=person_id, since=input.since
            )
            await activity.record_campaign_change(
                session, CampaignChange.TOPIC_MANAGER_ASSIGNED, topics=[topic_id]
            )
            return row

        row, errors = await run(info, work)
        return AssignTopicManagerPayload(
            topic_manager=TopicManager.from_row(row) if row else None, user_errors=errors
        )

    @strawberry.mutation(permission_classes=[ADMINS])
    async def track_group(self, info: Info, input: TrackGroupInput) -> TrackGroupPayload:
        async def work(session: AsyncSession, errors: UserErrors) -> Any:
            campaign = await _campaign(session, errors, input.campaign_id)
            group_id = id_of(errors, input.group_id, "groupId", "Group")
            group = (
                (await people.get_groups(session, [group_id])).get(group_id) if group_id else None
            )
            if group_id is not None:
                ensure(group, errors, "groupId", "No group has this id.", "NOT_FOUND")
            if errors or campaign is None or group is None:
                return None
            await campaigns.track_group(session, campaign_id=campaign.id, group_id=group.id)
            await activity.record_campaign_change(
                session, CampaignChange.GROUP_TRACKED, campaigns=[campaign.id]
            )
            return group

        row, errors = await run(info, work)
        return TrackGroupPayload(group=Group.from_row(row) if row else None, user_errors=errors)

    @strawberry.mutation(permission_classes=[ADMINS])
    async def set_campaign_goal(
        self, info: Info, input: SetCampaignGoalInput
    ) -> SetCampaignGoalPayload:
        async def work(session: AsyncSession, errors: UserErrors) -> Any:
            campaign = await _campaign(session, errors, input.campaign_id)
            ensure(input.target > 0, errors, "target", "`target` must be greater than zero.")
            if errors or campaign is None:
                return None
            goal = await campaigns.set_goal(
                session,
                campaign_id=campaign.id,
                metric=input.metric,
                target=input.target,
                due_on=input.due_on,
            )
            await activity.record_campaign_change(
                session, CampaignChange.GOAL_SET, campaigns=[campaign.id]
            )
            return goal, campaign

        result, errors = await run(info, work)
        goal = None
        if result:
            row, campaign = result
            goal = Goal(
                metric=row.metric,
                target=row.target,
                due_on=row.due_on,
                _row=row,
                _campaign=campaign,
            )
        return SetCampaignGoalPayload(goal=goal, user_errors=errors)

    @strawberry.mutation(permission_classes=[EDITORS], description="Managers: their topics only.")
    async def record_promotion(
        self, info: Info, input: RecordPromotionInput
    ) -> RecordPromotionPayload:
        async def work(session: AsyncSession, errors: UserErrors) -> Any:
            campaign = await _campaign(session, errors, input.campaign_id)
            title = _text(errors, input.title, "title")
            ensure(
                input.audience_size is None or input.audience_size >= 0,
                errors,
                "audienceSize",
                "`audienceSize` cannot be negative.",
            )
            topic_ids = await _topic_ids(session, errors, input.topic_ids, campaign=campaign)
            check_managed(errors, await managed_topics(info, session), topic_ids, "topicIds")
            if errors or campaign is None:
                return None
            await activity.record_campaign_change(
                session, CampaignChange.PROMOTION_RECORDED, campaigns=[campaign.id]
            )
            return await campaigns.create_promotion(
                session,
                campaign_id=campaign.id,
                kind=input.kind,
                title=title,
                held_on=input.held_on,
                audience_size=input.audience_size,
                notes=input.notes,
                topic_ids=topic_ids,
            )

        row, errors = await run(info, work)
        return RecordPromotionPayload(
            promotion=Promotion.from_row(row) if row else None, user_errors=errors
        )
