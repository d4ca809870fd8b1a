"""People and groups mirrored from the microblog, and follower history."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, enum_column
from api.domain.enums import GroupPrivacy


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    external_id: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    full_name: Mapped[str] = mapped_column(sa.Text)
    email: Mapped[str | None] = mapped_column(sa.Text, unique=True)
    job_title: Mapped[str | None] = mapped_column(sa.Text)
    department: Mapped[str | None] = mapped_column(sa.Text)
    avatar_url: Mapped[str | None] = mapped_column(sa.Text)
    web_url: Mapped[str | None] = mapped_column(sa.Text)
    follower_count: Mapped[int] = mapped_column(server_default="0")
    following_count: Mapped[int] = mapped_column(server_default="0")
    synced_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
    # 'simple' config: names are not English words, and prefix matching must not stem them.
    search: Mapped[str] = mapped_column(
        TSVECTOR,
        sa.Computed(
            "to_tsvector('simple', coalesce(full_name, '') || ' ' || coalesce(job_title, '')"
            " || ' ' || coalesce(department, ''))",
            persisted=True,
        ),
        deferred=True,
    )

    __table_args__ = (
        sa.CheckConstraint("follower_count >= 0", name="follower_count_nonnegative"),
        sa.Index("ix_person_search", "search", postgresql_using="gin"),
        sa.Index("ix_person_full_name_id", "full_name", "id"),
    )


class FollowerSnapshot(Base):
    """A person's follower count, appended only when it changes."""

    __tablename__ = "follower_snapshot"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    observed_at: Mapped[datetime]
    followers: Mapped[int]

    __table_args__ = (
        sa.UniqueConstraint("person_id", "observed_at"),
        sa.CheckConstraint("followers >= 0", name="followers_nonnegative"),
    )


class MicroblogGroup(Base):
    __tablename__ = "microblog_group"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    external_id: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    name: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    privacy: Mapped[GroupPrivacy] = mapped_column(
        enum_column(GroupPrivacy, "group_privacy"), server_default=GroupPrivacy.PUBLIC.name
    )
    member_count: Mapped[int] = mapped_column(server_default="0")
    web_url: Mapped[str | None] = mapped_column(sa.Text)
    # Whether the campaign's microblog account is a member of the group.
    joined: Mapped[bool] = mapped_column(server_default=sa.false())
    # False when the token cannot read the group (private and not a member).
    accessible: Mapped[bool] = mapped_column(server_default=sa.true())
    synced_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())

    __table_args__ = (sa.Index("ix_microblog_group_name_id", "name", "id"),)
