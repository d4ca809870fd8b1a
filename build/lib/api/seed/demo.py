"""Load the demo campaign (``campaign seed --demo``; ``campaign up`` on an empty database).

Posts go through the same ingest path as mirrored ones, so their kinds, hashtags and resource
links are worked out exactly as the sync worker would.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models
from api.db.repositories import ingest, seeding
from api.db.repositories.people import record_followers
from api.db.session import Database
from api.domain import demo_content as content
from api.domain.enums import ResourceKind
from api.domain.text import normalise_url

PERSON_BASE = 1_500_000_000
GROUP_BASE = 9_000_000
POST_BASE = 2_269_815_632_000_000  # Yammer message ids are large and grow with time


def default_anchor(today: date | None = None) -> date:
    """The Monday three weeks before today: the demo's three weeks have just happened."""
    today = today or datetime.now(UTC).date()
    start = today - timedelta(days=21)
    return start - timedelta(days=start.weekday())


class _Clock:
    def __init__(self, anchor: date) -> None:
        monday = anchor - timedelta(days=anchor.weekday())
        self.start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
        # Nothing observed in the future when the demo is anchored close to today.
        self.now = datetime.now(UTC) - timedelta(minutes=1)

    def at(self, offset: tuple[int, int], minutes: int = 0) -> datetime:
        day, hour = offset
        return self.start + timedelta(days=day, hours=hour, minutes=minutes)

    def observed(self, moment: datetime) -> datetime:
        return min(moment, self.now)


async def campaign_start(url: str) -> date | None:
    """The demo campaign's first day, when the database holds it."""
    db = Database.connect(url, pool_size=1)
    try:
        async with db.reading() as session:
            return await seeding.campaign_starts_on(session, content.CAMPAIGN["slug"])
    finally:
        await db.dispose()


async def seed_demo_if_empty(url: str) -> bool:
    db = Database.connect(url, pool_size=2)
    try:
        async with db.reading() as session:
            has_campaign = await seeding.has_campaign(session)
        if has_campaign:
            return False
        await _seed(db, default_anchor())
        return True
    finally:
        await db.dispose()


async def seed_demo(url: str, *, anchor: date | None = None) -> None:
    db = Database.connect(url, pool_size=2)
    try:
        await _seed(db, anchor or default_anchor())
    finally:
        await db.dispose()


async def _seed(db: Database, anchor: date) -> None:
    clock = _Clock(anchor)
    async with db.unit_of_work() as session:
        person_ids = await _people(session, clock)
        group_ids = await _groups(session)
        campaign_id, topic_ids = await _campaign(session, clock, person_ids, group_ids)
        resource_ids = await _resources(session, topic_ids)
        await _posts(session, clock, person_ids, group_ids)
        await _followers(session, clock, person_ids)
        await _promotions_goals_clicks(session, clock, campaign_id, topic_ids, resource_ids)


async def seed_demo_campaign(db: Database, anchor: date) -> None:
    """The campaign's set-up only, over people and groups the worker has mirrored.

    With the bundled simulator, posts, likes and followers arrive through the sync worker;
    the campaign (topics, managers, tracked groups, resources, goals, promotions) is what an
    admin would have set up, so it is seeded, matched to the mirror by email and group name.
    """
    clock = _Clock(anchor)
    async with db.unit_of_work() as session:
        person_ids = await seeding.person_ids_by_email(session, [p[0] for p in content.PEOPLE])
        group_ids = await seeding.group_ids_by_name(session, [g[0] for g in content.GROUPS])
        missing = {p[0] for p in content.PEOPLE} - set(person_ids)
        missing |= {name for name, *_, tracked in content.GROUPS if tracked} - set(group_ids)
        if missing:
            raise RuntimeError(f"the mirror lacks demo people or groups: {sorted(missing)}")
        campaign_id, topic_ids = await _campaign(session, clock, person_ids, group_ids)
        resource_ids = await _resources(session, topic_ids)
        await _promotions_goals_clicks(session, clock, campaign_id, topic_ids, resource_ids)


async def _people(session: AsyncSession, clock: _Clock) -> dict[str, int]:
    rows = [
        {
            "external_id": PERSON_BASE + i,
            "full_name": name,
            "email": email,
            "job_title": title,
            "department": department,
            "avatar_url": f"https://avatars.example.com/{email.split('@')[0]}.png",
            "web_url": f"https://www.yammer.com/example.com/users/{PERSON_BASE + i}",
            "follower_count": followers,
            "following_count": 10 + i * 3,
        }
        for i, (email, name, title, department, followers) in enumerate(content.PEOPLE, start=1)
    ]
    ids = await seeding.insert_returning_ids(session, models.Person, rows)
    # Everyone's count is known from the campaign's first day.
    await seeding.insert_rows(
        session,
        models.FollowerSnapshot,
        [
            {"person_id": pid, "observed_at": clock.start, "followers": row["follower_count"]}
            for pid, row in zip(ids, rows, strict=True)
        ],
    )
    return {str(row["email"]): pid for pid, row in zip(ids, rows, strict=True)}


async def _groups(session: AsyncSession) -> dict[str, int]:
    rows = [
        {
            "external_id": GROUP_BASE + i,
            "name": name,
            "description": description,
            "privacy": privacy,
            "member_count": members,
            "joined": joined,
            "accessible": joined or privacy.name == "PUBLIC",
            "web_url": f"https://www.yammer.com/example.com/groups/{GROUP_BASE + i}",
        }
        for i, (name, description, privacy, members, joined, _tracked) in enumerate(
            content.GROUPS, 1
        )
    ]
    ids = await seeding.insert_returning_ids(session, models.MicroblogGroup, rows)
    return {str(row["name"]): gid for gid, row in zip(ids, rows, strict=True)}


async def _campaign(
    session: AsyncSession, clock: _Clock, person_ids: dict[str, int], group_ids: dict[str, int]
) -> tuple[int, dict[str, int]]:
    start = clock.start.date()
    [campaign_id] = await seeding.insert_returning_ids(
        session,
        models.Campaign,
        [
            {
                **content.CAMPAIGN,
                "owner_id": person_ids[content.LEAD],
                "starts_on": start,
                "ends_on": start + timedelta(weeks=8),
            }
        ],
    )
    topic_rows = [
        {"campaign_id": campaign_id, "hashtag": tag, "name": name, "description": description}
        for tag, name, description, _manager in content.TOPICS
    ]
    ids = await seeding.insert_returning_ids(session, models.Topic, topic_rows)
    topic_ids = {str(row["hashtag"]): tid for tid, row in zip(ids, topic_rows, strict=True)}
    await seeding.insert_rows(
        session,
        models.TopicManager,
        [
            {"topic_id": topic_ids[tag], "person_id": person_ids[manager], "since": start}
            for tag, _name, _description, manager in content.TOPICS
        ],
    )
    await seeding.insert_rows(
        session,
        models.CampaignGroup,
        [
            {"campaign_id": campaign_id, "group_id": group_ids[name], "tracked_since": clock.start}
            for name, *_, tracked in content.GROUPS
            if tracked
        ],
    )
    return campaign_id, topic_ids


def _resource_row(kind: ResourceKind, title: str, url: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "title": title,
        "url": url,
        "normalized_url": normalise_url(url),
        "tracking_token": secrets.token_urlsafe(9),
        "provider": None,
        "lms_course_id": None,
        "description": None,
        "series_id": None,
        "position": None,
        **extra,
    }


async def _resources(session: AsyncSession, topic_ids: dict[str, int]) -> dict[str, int]:
    rows = [
        _resource_row(kind, title, url, provider=provider, lms_course_id=course, description=text)
        for kind, title, url, provider, course, text, _tags in content.RESOURCES
    ]
    ids = await seeding.insert_returning_ids(session, models.Resource, rows)
    by_url = {row["url"]: rid for rid, row in zip(ids, rows, strict=True)}
    episodes = [
        _resource_row(
            ResourceKind.PODCAST_EPISODE,
            title,
            f"{content.PODCAST}/{n}",
            provider="L&D Podcasts",
            series_id=by_url[content.PODCAST],
            position=n,
        )
        for n, title in enumerate(content.EPISODES, start=1)
    ]
    episode_ids = await seeding.insert_returning_ids(session, models.Resource, episodes)
    by_url.update({row["url"]: rid for rid, row in zip(episode_ids, episodes, strict=True)})
    links = [
        {"resource_id": by_url[url], "topic_id": topic_ids[tag]}
        for _kind, _title, url, _provider, _course, _text, tags in content.RESOURCES
        for tag in tags
    ]
    await seeding.insert_rows(session, models.ResourceTopic, links)
    return by_url


async def _posts(
    session: AsyncSession, clock: _Clock, person_ids: dict[str, int], group_ids: dict[str, int]
) -> None:
    starters: list[ingest.IncomingPost] = []
    replies: list[ingest.IncomingPost] = []
    history: list[tuple[datetime, int, int, int]] = []  # (when, external id, likes, replies)
    external = POST_BASE
    for _key, author, when, group, body, likes, thread in content.POSTS:
        external += 1_000
        starter_id, created = external, clock.at(when)
        group_id = group_ids[group] if group else None
        for reply_author, reply_when, reply_body, reply_likes in thread:
            external += 1_000
            replies.append(
                ingest.IncomingPost(
                    external_id=external,
                    author_id=person_ids[reply_author],
                    body=reply_body,
                    created_at=clock.at(reply_when),
                    group_id=group_id,
                    thread_external_id=starter_id,
                    replied_to_external_id=starter_id,
                    web_url=f"https://www.yammer.com/example.com/threads/{starter_id}",
                    like_count=reply_likes,
                )
            )
        starters.append(
            ingest.IncomingPost(
                external_id=starter_id,
                author_id=person_ids[author],
                body=body,
                created_at=created,
                group_id=group_id,
                thread_external_id=starter_id,
                web_url=f"https://www.yammer.com/example.com/threads/{starter_id}",
                like_count=likes,
                reply_count=len(thread),
            )
        )
        # Likes arrive over two days; replies as they are written.
        day_one = created + timedelta(days=1)
        replies_by_day_one = sum(1 for _a, w, _b, _l in thread if clock.at(w) <= day_one)
        history += [
            (created, starter_id, 0, 0),
            (day_one, starter_id, likes // 2, replies_by_day_one),
        ]
    ids = (
        await ingest.upsert_posts(
            session, starters + replies, observed_at=clock.observed(clock.start)
        )
    ).ids
    # Replace the upsert's "now" snapshot with the history, then the final figures.
    await seeding.clear_metric_snapshots(session)
    for moment, external_id, likes, reply_count in sorted(history):
        await ingest.record_metrics(
            session, [(ids[external_id], likes, reply_count, 0)], clock.observed(moment)
        )
    final = [(ids[p.external_id], p.like_count, p.reply_count or 0, 0) for p in starters + replies]
    await ingest.record_metrics(session, final, clock.observed(clock.at((20, 0))))

    author, when, body, likes = content.DELETED_POST
    deleted = ingest.IncomingPost(
        external_id=external + 1_000,
        author_id=person_ids[author],
        body=body,
        created_at=clock.at(when),
    )
    deleted_ids = (
        await ingest.upsert_posts(session, [deleted], observed_at=clock.observed(clock.at(when)))
    ).ids
    await seeding.delete_post(
        session, deleted_ids[deleted.external_id], clock.observed(clock.at(when, minutes=30))
    )


async def _followers(session: AsyncSession, clock: _Clock, person_ids: dict[str, int]) -> None:
    lead = person_ids[content.LEAD]
    for offset, followers in content.LEAD_FOLLOWERS[1:]:
        await record_followers(session, lead, followers, clock.observed(clock.at(offset)))
    # Managers gain a few followers a week from their topics.
    for n, (_tag, _name, _description, manager) in enumerate(content.TOPICS):
        start = next(p[4] for p in content.PEOPLE if p[0] == manager)
        for week in range(1, 4):
            await record_followers(
                session,
                person_ids[manager],
                start + week * (2 + n),
                clock.observed(clock.at((week * 7 - 3, 12))),
            )


async def _promotions_goals_clicks(
    session: AsyncSession,
    clock: _Clock,
    campaign_id: int,
    topic_ids: dict[str, int],
    resource_ids: dict[str, int],
) -> None:
    start = clock.start.date()
    for kind, title, day, audience, tags in content.PROMOTIONS:
        [promotion_id] = await seeding.insert_returning_ids(
            session,
            models.Promotion,
            [
                {
                    "campaign_id": campaign_id,
                    "kind": kind,
                    "title": title,
                    "held_on": start + timedelta(days=day),
                    "audience_size": audience,
                }
            ],
        )
        await seeding.insert_rows(
            session,
            models.PromotionTopic,
            [{"promotion_id": promotion_id, "topic_id": topic_ids[tag]} for tag in tags],
        )
    await seeding.insert_rows(
        session,
        models.CampaignGoal,
        [
            {
                "campaign_id": campaign_id,
                "metric": metric,
                "target": target,
                "due_on": start + timedelta(weeks=weeks),
            }
            for metric, target, weeks in content.GOALS
        ],
    )
    clicks = [
        {
            "resource_id": resource_ids[url],
            "client": client,
            "clicked_at": clock.observed(clock.at((n, 12))),
        }
        for url, client, count in content.CLICKS
        for n in range(count)
    ]
    await seeding.insert_rows(session, models.ResourceClick, clicks)
