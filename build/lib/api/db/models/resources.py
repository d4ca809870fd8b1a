"""Learning resources, the topics they serve, and clicks through tracked links."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, enum_column
from api.domain.enums import ResourceKind, Visibility


class Resource(Base):
    __tablename__ = "resource"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    kind: Mapped[ResourceKind] = mapped_column(enum_column(ResourceKind, "resource_kind"))
    title: Mapped[str] = mapped_column(sa.Text)
    url: Mapped[str] = mapped_column(sa.Text)
    # The URL as link matching compares it (see api.analytics.links.normalise_url).
    normalized_url: Mapped[str] = mapped_column(sa.Text, unique=True)
    provider: Mapped[str | None] = mapped_column(sa.Text)
    lms_course_id: Mapped[str | None] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    series_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("resource.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int | None]
    visibility: Mapped[Visibility] = mapped_column(
        enum_column(Visibility, "visibility"), server_default=Visibility.PUBLIC.name
    )
    # The opaque part of the tracked link /r/<token>.
    tracking_token: Mapped[str] = mapped_column(sa.Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())

    __table_args__ = (
        sa.Index("ix_resource_title_id", "title", "id"),
        sa.CheckConstraint("position IS NULL OR position > 0", name="position_positive"),
        # One episode per place in a series (NULLs, unplaced episodes, do not collide).
        sa.UniqueConstraint("series_id", "position"),
    )


class ResourceTopic(Base):
    __tablename__ = "resource_topic"

    resource_id: Mapped[int] = mapped_column(
        sa.ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        sa.ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ResourceClick(Base):
    __tablename__ = "resource_click"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        sa.ForeignKey("resource.id", ondelete="CASCADE"), index=True
    )
    clicked_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
    client: Mapped[str] = mapped_column(sa.Text, server_default="unknown")
