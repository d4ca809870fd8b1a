"""Campaigns, their topics, managers, tracked groups, goals and promotions."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, enum_column
from api.domain.enums import GoalMetric, PromotionKind


class Campaign(Base):
    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    slug: Mapped[str] = mapped_column(sa.Text, unique=True)
    name: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"), index=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())

    __table_args__ = (
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="dates_ordered"),
    )


class CampaignGoal(Base):
    __tablename__ = "campaign_goal"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"))
    metric: Mapped[GoalMetric] = mapped_column(enum_column(GoalMetric, "goal_metric"))
    target: Mapped[int]
    due_on: Mapped[date | None]

    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "metric"),
        sa.CheckConstraint("target > 0", name="target_positive"),
    )


class Topic(Base):
    __tablename__ = "topic"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        sa.ForeignKey("campaign.id", ondelete="CASCADE"), index=True
    )
    # Lower-case, without '#': the form post_hashtag stores.
    hashtag: Mapped[str] = mapped_column(sa.Text, unique=True)
    name: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    external_id: Mapped[int | None] = mapped_column(sa.BigInteger, unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())

    __table_args__ = (
        sa.CheckConstraint(
            "hashtag = lower(hashtag) AND hashtag !~ '[[:space:]#]' AND hashtag <> ''",
            name="hashtag_normalised",
        ),
    )


class TopicManager(Base):
    __tablename__ = "topic_manager"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    topic_id: Mapped[int] = mapped_column(sa.ForeignKey("topic.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    since: Mapped[date]
    until: Mapped[date | None]

    __table_args__ = (
        sa.UniqueConstraint("topic_id", "person_id", "since"),
        sa.CheckConstraint("until IS NULL OR until >= since", name="dates_ordered"),
        # One manager per topic at a time: assignments are the days [since, until), and no two
        # of a topic overlap, so on any day at most one is current.  Only the database can
        # keep this under concurrent assignments (btree_gist gives `=` on bigint a GiST class).
        ExcludeConstraint(
            (sa.column("topic_id"), "="),
            (sa.func.daterange(sa.column("since"), sa.column("until"), "[)"), "&&"),
            name="ex_topic_manager_one_at_a_time",
            using="gist",
        ),
    )


class CampaignGroup(Base):
    __tablename__ = "campaign_group"

    campaign_id: Mapped[int] = mapped_column(
        sa.ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("microblog_group.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    tracked_since: Mapped[datetime] = mapped_column(server_default=sa.func.now())


class Promotion(Base):
    __tablename__ = "promotion"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"))
    kind: Mapped[PromotionKind] = mapped_column(enum_column(PromotionKind, "promotion_kind"))
    title: Mapped[str] = mapped_column(sa.Text)
    held_on: Mapped[date]
    audience_size: Mapped[int | None]
    notes: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())

    __table_args__ = (
        sa.Index("ix_promotion_campaign_id_held_on", "campaign_id", "held_on", "id"),
        sa.CheckConstraint(
            "audience_size IS NULL OR audience_size >= 0", name="audience_nonnegative"
        ),
    )


class PromotionTopic(Base):
    __tablename__ = "promotion_topic"

    promotion_id: Mapped[int] = mapped_column(
        sa.ForeignKey("promotion.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        sa.ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True, index=True
    )
