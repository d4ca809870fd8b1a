"""ORM models, one module per aggregate; import as ``from api.db import models``."""

from api.db.base import Base
from api.db.models.activity import ActivityChange
from api.db.models.budgets import QueryBudget
from api.db.models.campaigns import (
    Campaign,
    CampaignGoal,
    CampaignGroup,
    Promotion,
    PromotionTopic,
    Topic,
    TopicManager,
)
from api.db.models.counts import (
    GroupPostCount,
    HashtagPostCount,
    PersonCount,
    ResourcePostCount,
)
from api.db.models.http_api import DataVersion, PersistedQuery
from api.db.models.operations import ApiKey, SyncFeed, SyncRun, SyncWorker
from api.db.models.people import FollowerSnapshot, MicroblogGroup, Person
from api.db.models.posts import Post, PostHashtag, PostMetricsSnapshot, PostResource
from api.db.models.resources import Resource, ResourceClick, ResourceTopic
from api.db.models.rollups import RollupAuthorBits, RollupAuthorDay, RollupDay
from api.db.models.sync_bookkeeping import SyncMark, SyncRateBudget
from api.db.models.threads import SyncThread

__all__ = [
    "ActivityChange",
    "ApiKey",
    "Base",
    "Campaign",
    "CampaignGoal",
    "CampaignGroup",
    "DataVersion",
    "FollowerSnapshot",
    "GroupPostCount",
    "HashtagPostCount",
    "MicroblogGroup",
    "PersistedQuery",
    "Person",
    "PersonCount",
    "Post",
    "PostHashtag",
    "PostMetricsSnapshot",
    "PostResource",
    "Promotion",
    "PromotionTopic",
    "QueryBudget",
    "Resource",
    "ResourceClick",
    "ResourcePostCount",
    "ResourceTopic",
    "RollupAuthorBits",
    "RollupAuthorDay",
    "RollupDay",
    "SyncFeed",
    "SyncMark",
    "SyncRateBudget",
    "SyncRun",
    "SyncThread",
    "SyncWorker",
    "Topic",
    "TopicManager",
]
