"""What a campaign's live activity is made of: the events ``campaignActivity`` delivers.

Pure values: the change log's reader (``api/db/repositories/activity.py``) makes them, the
fan-out (``api/live``) routes them by campaign, the schema (``schema/subscriptions.py``) shows
them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class EventKind(Enum):
    POST_PUBLISHED = "POST_PUBLISHED"
    POST_METRICS_CHANGED = "POST_METRICS_CHANGED"
    FOLLOWERS_CHANGED = "FOLLOWERS_CHANGED"
    CAMPAIGN_CHANGED = "CAMPAIGN_CHANGED"


class CampaignChange(Enum):
    """What a mutation changed in a campaign's set-up."""

    TOPIC_CREATED = "TOPIC_CREATED"
    TOPIC_MANAGER_ASSIGNED = "TOPIC_MANAGER_ASSIGNED"
    GROUP_TRACKED = "GROUP_TRACKED"
    GOAL_SET = "GOAL_SET"
    PROMOTION_RECORDED = "PROMOTION_RECORDED"
    RESOURCE_ADDED = "RESOURCE_ADDED"
    POST_CLASSIFIED = "POST_CLASSIFIED"


@dataclass(frozen=True, slots=True)
class ActivityEvent:
    kind: EventKind
    campaign_id: int
    occurred_at: datetime
    post_id: int | None = None
    person_id: int | None = None
    delta: int | None = None
    change: CampaignChange | None = None
