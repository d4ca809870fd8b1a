"""What the sync worker keeps across restarts and replicas: its rate budget and the moments
periodic work was last done (the directory, topic searches)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base


class SyncRateBudget(Base):
    """The requests granted in one rate-limit bucket of one token, in its sliding window.

    The microblog counts per token, whichever process sends: so replicas, ``sync --once`` and
    a restarted worker share this row (read and updated under a row lock) instead of each
    starting with a full budget.
    """

    __tablename__ = "sync_rate_budget"

    # A SHA-256 of the token (never the token itself), so replicas sharing one token meet here.
    token_key: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    bucket: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    # When each request in the window was granted (re-stamped when its response came back).
    granted: Mapped[list[datetime]] = mapped_column(
        sa.ARRAY(sa.DateTime(timezone=True)), server_default=sa.text("'{}'::timestamptz[]")
    )
    # A 429's Retry-After: nobody sharing the token asks again before then.
    paused_until: Mapped[datetime | None]


class SyncMark(Base):
    """When a periodic piece of work last succeeded (``directory``, ``topic-search:<tag>``)."""

    __tablename__ = "sync_mark"

    name: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    done_at: Mapped[datetime]
