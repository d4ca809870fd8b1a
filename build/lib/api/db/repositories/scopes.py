"""Which posts belong to a parent: a topic, a campaign, a person, a group, a resource, a thread.

One definition serves feeds, counts and analytics, so "a campaign's posts" means the same
everywhere (contract README: its topics' hashtags, or posted in its tracked groups).
Each scope turns a (correlated) parent key into a condition on ``post``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import sqlalchemy as sa

from api.db import models

Condition = Callable[[Any], sa.ColumnElement[bool]]
P = models.Post


def _topic(key: Any) -> sa.ColumnElement[bool]:
    # Keyed by hashtag: the post_hashtag index answers it without touching topic.
    return P.id.in_(
        sa.select(models.PostHashtag.post_id)
        .where(models.PostHashtag.hashtag == key)
        .correlate_except(models.PostHashtag)
    )


def _campaign(key: Any) -> sa.ColumnElement[bool]:
    # EXISTS per post row, not `id IN (...) OR group_id IN (...)`: with the OR and the
    # correlation to the parent key, Postgres would re-run the IN subqueries for every post;
    # these are two index probes (post_hashtag's key, campaign_group's key) instead.
    tagged = (
        sa.select(sa.literal(1))
        .select_from(models.PostHashtag)
        .join(models.Topic, models.Topic.hashtag == models.PostHashtag.hashtag)
        .where(models.PostHashtag.post_id == P.id, models.Topic.campaign_id == key)
        .correlate_except(models.PostHashtag, models.Topic)
    )
    tracked = (
        sa.select(sa.literal(1))
        .select_from(models.CampaignGroup)
        .where(models.CampaignGroup.group_id == P.group_id, models.CampaignGroup.campaign_id == key)
        .correlate_except(models.CampaignGroup)
    )
    return sa.or_(tagged.exists(), tracked.exists())


def _resource(key: Any) -> sa.ColumnElement[bool]:
    return P.id.in_(
        sa.select(models.PostResource.post_id)
        .where(models.PostResource.resource_id == key)
        .correlate_except(models.PostResource)
    )


class Scope(Enum):
    ALL = "ALL"
    TOPIC = "TOPIC"
    CAMPAIGN = "CAMPAIGN"
    PERSON = "PERSON"
    GROUP = "GROUP"
    RESOURCE = "RESOURCE"
    THREAD = "THREAD"


@dataclass(frozen=True)
class ScopeSpec:
    condition: Condition
    key_type: sa.types.TypeEngine[Any]
    # Post feeds (a resource's promoters too) list thread starters, which analytics count;
    # a thread lists its replies (contract README: replies never count in `posts`).
    starters_only: bool


SCOPES: dict[Scope, ScopeSpec] = {
    Scope.ALL: ScopeSpec(lambda key: sa.true(), sa.BigInteger(), True),
    Scope.TOPIC: ScopeSpec(_topic, sa.Text(), True),
    Scope.CAMPAIGN: ScopeSpec(_campaign, sa.BigInteger(), True),
    Scope.PERSON: ScopeSpec(lambda key: P.author_id == key, sa.BigInteger(), True),
    Scope.GROUP: ScopeSpec(lambda key: P.group_id == key, sa.BigInteger(), True),
    Scope.RESOURCE: ScopeSpec(_resource, sa.BigInteger(), True),
    Scope.THREAD: ScopeSpec(lambda key: P.thread_starter_id == key, sa.BigInteger(), False),
}


def membership(scope: Scope, key: Any) -> sa.ColumnElement[bool]:
    """Live posts of the scope's kind (starters or replies) that belong to ``key``."""
    spec = SCOPES[scope]
    conditions = [spec.condition(key), P.deleted_at.is_(None)]
    if spec.starters_only:
        conditions.append(P.thread_starter_id.is_(None))
    else:
        conditions.append(P.thread_starter_id.is_not(None))
    return sa.and_(*conditions)
