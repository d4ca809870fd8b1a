"""The change log behind live activity: one row per committed unit of work that changed
campaign data (a worker's page, a mutation).

``NOTIFY`` carries only the row's id, so a change of any size fits the 8000-byte payload limit;
every API process reads the row it is told about, and after a lost ``LISTEN`` connection the
rows it missed (``id`` above the last it read). Rows are pruned after a day.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base


class ActivityChange(Base):
    __tablename__ = "activity_change"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now(), index=True)
    # Post ids first stored by this commit, and posts whose likes, replies or shares changed.
    published: Mapped[list[int]] = mapped_column(
        ARRAY(sa.BigInteger), server_default=sa.text("'{}'")
    )
    metrics: Mapped[list[int]] = mapped_column(ARRAY(sa.BigInteger), server_default=sa.text("'{}'"))
    # [[person id, follower count, delta], ...]
    followers: Mapped[list[Any]] = mapped_column(JSONB, server_default=sa.text("'[]'"))
    # A mutation's change to the set-up of these campaigns (api.domain.activity.CampaignChange).
    campaigns: Mapped[list[int]] = mapped_column(
        ARRAY(sa.BigInteger), server_default=sa.text("'{}'")
    )
    change: Mapped[str | None] = mapped_column(sa.Text)
