"""Enumerations shared by the data model and the GraphQL contract."""

from __future__ import annotations

import enum


class PostKind(enum.Enum):
    TIP = "TIP"
    RESOURCE = "RESOURCE"
    QUOTE = "QUOTE"
    QUESTION = "QUESTION"
    ANNOUNCEMENT = "ANNOUNCEMENT"
    OTHER = "OTHER"


class ResourceKind(enum.Enum):
    PODCAST_SERIES = "PODCAST_SERIES"
    PODCAST_EPISODE = "PODCAST_EPISODE"
    ARTICLE = "ARTICLE"
    BOOK = "BOOK"
    COURSE = "COURSE"
    VIDEO = "VIDEO"
    LINK = "LINK"


class Visibility(enum.Enum):
    PUBLIC = "PUBLIC"
    INTERNAL = "INTERNAL"


class GoalMetric(enum.Enum):
    FOLLOWERS = "FOLLOWERS"
    POSTS = "POSTS"
    LIKES = "LIKES"
    REPLIES = "REPLIES"
    ACTIVE_AUTHORS = "ACTIVE_AUTHORS"


class PromotionKind(enum.Enum):
    TRAINING_SESSION = "TRAINING_SESSION"
    VIRTUAL_SESSION = "VIRTUAL_SESSION"
    COMPANY_EVENT = "COMPANY_EVENT"
    NEWSLETTER = "NEWSLETTER"
    OTHER = "OTHER"


class GroupPrivacy(enum.Enum):
    PUBLIC = "PUBLIC"
    PRIVATE = "PRIVATE"


class Role(enum.Enum):
    ADMIN = "ADMIN"
    MANAGER = "MANAGER"
    MEMBER = "MEMBER"
    LMS = "LMS"


class SyncFeedKind(enum.Enum):
    GROUP = "GROUP"
    TOPIC = "TOPIC"
    USER = "USER"
    THREAD = "THREAD"


class ResourceMatch(enum.Enum):
    URL = "URL"
    MANUAL = "MANUAL"
