"""Maintained numbers of live thread starters per hashtag, group and resource, and of people.

They answer ``totalCount`` of a topic's, a group's and a resource's posts without counting
tens of thousands of rows per request.  Triggers on ``post``, ``post_hashtag`` and
``post_resource`` (migration t8c1) keep them in the transaction of every write.

Each table holds *delta rows*, not one row per key: a key's count is the sum of its rows.
A write inserts its change and folds in the rows nobody else holds (``FOR UPDATE SKIP
LOCKED``), so concurrent writers never wait on, or deadlock over, a hot key such as a busy
hashtag; a key has one row at rest and one more per writer that committed alongside.  No
foreign keys: the numbers are derived, and a key with no live starters has no rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base


class HashtagPostCount(Base):
    __tablename__ = "hashtag_post_count"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    hashtag: Mapped[str] = mapped_column(sa.Text, index=True)
    starters: Mapped[int] = mapped_column(sa.BigInteger)


class GroupPostCount(Base):
    __tablename__ = "group_post_count"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    group_id: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    starters: Mapped[int] = mapped_column(sa.BigInteger)


class ResourcePostCount(Base):
    __tablename__ = "resource_post_count"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    resource_id: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    starters: Mapped[int] = mapped_column(sa.BigInteger)


class PersonCount(Base):
    """How many people there are (``people { totalCount }`` without a search): delta rows
    summed, kept by triggers on ``person`` (migration p4c1)."""

    __tablename__ = "person_count"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    people: Mapped[int] = mapped_column(sa.BigInteger)
