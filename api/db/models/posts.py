"""Mirrored microblog messages, their hashtags, metric history and linked resources."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, enum_column
from api.domain.enums import PostKind, ResourceMatch


class Post(Base):
    __tablename__ = "post"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    external_id: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    # NULL for a thread starter; replies point at their starter and at what they answer.
    thread_starter_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("post.id", ondelete="CASCADE")
    )
    replied_to_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("post.id", ondelete="SET NULL"), index=True
    )
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("microblog_group.id"), index=True)
    body: Mapped[str] = mapped_column(sa.Text)
    web_url: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    message_type: Mapped[str] = mapped_column(sa.Text, server_default="update")
    deleted_at: Mapped[datetime | None]
    like_count: Mapped[int] = mapped_column(server_default="0")
    reply_count: Mapped[int] = mapped_column(server_default="0")
    share_count: Mapped[int] = mapped_column(server_default="0")
    kind: Mapped[PostKind] = mapped_column(
        enum_column(PostKind, "post_kind"), server_default=PostKind.OTHER.name
    )
    kind_set_by_hand: Mapped[bool] = mapped_column(server_default=sa.false())
    synced_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
    search: Mapped[str] = mapped_column(
        TSVECTOR,
        sa.Computed("to_tsvector('english', body)", persisted=True),
        deferred=True,
    )

    __table_args__ = (
        sa.CheckConstraint(
            "like_count >= 0 AND reply_count >= 0 AND share_count >= 0",
            name="counts_nonnegative",
        ),
        sa.Index("ix_post_search", "search", postgresql_using="gin"),
        # Feeds of live thread starters, newest first, and their keyset cursors.
        sa.Index(
            "ix_post_starters_created_at",
            "created_at",
            "id",
            postgresql_where=sa.text("thread_starter_id IS NULL AND deleted_at IS NULL"),
        ),
        sa.Index(
            "ix_post_starters_like_count",
            "like_count",
            "id",
            postgresql_where=sa.text("thread_starter_id IS NULL AND deleted_at IS NULL"),
        ),
        sa.Index(
            "ix_post_starters_reply_count",
            "reply_count",
            "id",
            postgresql_where=sa.text("thread_starter_id IS NULL AND deleted_at IS NULL"),
        ),
        # Whether a linked post is a live thread starter, from the index alone: a resource's
        # or a topic's count probes its few thousand links here (a nested loop of index-only
        # scans) instead of hashing all 210,000 starters (ResourcePerformance at 300,000 posts).
        sa.Index(
            "ix_post_live_starters_id",
            "id",
            postgresql_where=sa.text("thread_starter_id IS NULL AND deleted_at IS NULL"),
        ),
        sa.Index("ix_post_thread_starter_id_created_at", "thread_starter_id", "created_at", "id"),
        # A thread's live replies counted from the index alone (``replies { totalCount }``).
        sa.Index(
            "ix_post_live_replies_thread",
            "thread_starter_id",
            postgresql_where=sa.text("thread_starter_id IS NOT NULL AND deleted_at IS NULL"),
        ),
        # Live replies by time: the analytics scan a range's partial edge days for replies
        # written then (api.analytics.rollups), the rest comes from the rollups.
        sa.Index(
            "ix_post_replies_created_at",
            "created_at",
            postgresql_where=sa.text("thread_starter_id IS NOT NULL AND deleted_at IS NULL"),
        ),
    )


class PostHashtag(Base):
    __tablename__ = "post_hashtag"

    post_id: Mapped[int] = mapped_column(
        sa.ForeignKey("post.id", ondelete="CASCADE"), primary_key=True
    )
    hashtag: Mapped[str] = mapped_column(sa.Text, primary_key=True)

    __table_args__ = (sa.Index("ix_post_hashtag_hashtag_post_id", "hashtag", "post_id"),)


class PostMetricsSnapshot(Base):
    """A post's counts, appended only when one of them changes."""

    __tablename__ = "post_metrics_snapshot"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("post.id", ondelete="CASCADE"))
    observed_at: Mapped[datetime]
    likes: Mapped[int]
    replies: Mapped[int]
    shares: Mapped[int] = mapped_column(server_default="0")

    __table_args__ = (sa.UniqueConstraint("post_id", "observed_at"),)


class PostResource(Base):
    __tablename__ = "post_resource"

    post_id: Mapped[int] = mapped_column(
        sa.ForeignKey("post.id", ondelete="CASCADE"), primary_key=True
    )
    resource_id: Mapped[int] = mapped_column(
        sa.ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True
    )
    matched_by: Mapped[ResourceMatch] = mapped_column(
        enum_column(ResourceMatch, "resource_match"), server_default=ResourceMatch.URL.name
    )

    __table_args__ = (sa.Index("ix_post_resource_resource_id_post_id", "resource_id", "post_id"),)
