"""Daily analytics rollups of live thread starters, maintained by triggers (migration r8a1).

A scope is ``T`` (a topic, keyed by its hashtag) or ``C`` (a campaign, keyed by its id as
text): one pair of tables serves both, so one set of trigger functions maintains them.
Rows are never written by the application; ``api.analytics.performance`` reads them.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import BIT
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base


class RollupDay(Base):
    """Per scope, UTC day of creation and kind: live starters, their current likes and replies."""

    __tablename__ = "rollup_day"

    scope: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    key: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    posts: Mapped[int] = mapped_column(sa.BigInteger)
    likes: Mapped[int] = mapped_column(sa.BigInteger)
    replies: Mapped[int] = mapped_column(sa.BigInteger)


class RollupAuthorDay(Base):
    """Who was active for a scope: one row per (starter's day, contribution's day, author).

    A starter contributes its author on its own day (``other_day = day``); a live reply to a
    live starter contributes the reply's author on the reply's day.  Distinct authors of a
    whole-day range are then those with a row whose two days both fall inside it: exact,
    unlike summing per-day distinct counts.  ``n`` counts contributions; a row down to 0 is deleted.
    """

    __tablename__ = "rollup_author_day"

    scope: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    key: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    other_day: Mapped[date] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    n: Mapped[int] = mapped_column(sa.BigInteger)


class RollupAuthorBits(Base):
    """``rollup_author_day``'s authors as bitmaps (migration c7w2), kept from it by triggers.

    Per (scope, key, starter's day, contribution's day) and chunk of 4,096 author ids
    (``author_id >> 12``), bit ``author_id & 4095`` (leftmost is 0) is set exactly when
    ``rollup_author_day`` holds that author's row; an empty bitmap is deleted.  A range's active
    authors are ``bit_count`` of its rows' ``bit_or`` per chunk: no row per contribution.
    """

    __tablename__ = "rollup_author_bits"

    scope: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    key: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    other_day: Mapped[date] = mapped_column(primary_key=True)
    chunk: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    bits: Mapped[str] = mapped_column(BIT(4096))
