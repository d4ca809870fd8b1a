"""Query budgets: each principal's leaky bucket of cost points, shared by every API process."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base


class QueryBudget(Base):
    __tablename__ = "query_budget"

    # ROLE:subject, e.g. MEMBER:ann@example.com or LMS:api-key:moodle.
    principal: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    # Points left at `updated_at`; what has dripped back since is added on the next request.
    available: Mapped[float] = mapped_column(sa.Double)
    updated_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
    # Set when the last request was refused: when its cost will have dripped back.
    throttled_until: Mapped[datetime | None]
