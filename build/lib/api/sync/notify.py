"""Change notifications to API processes: ``pg_notify`` on ``campaign_activity``.

Sent inside a page's unit of work, so they are delivered when, and only if, it commits.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.db.repositories import sync_state

CHANNEL = "campaign_activity"


async def notify(
    session: AsyncSession,
    published: set[int],
    metrics: set[int],
    followers: list[tuple[int, int, int]],
) -> None:
    """Tell API processes what changed; delivered when (and only if) the page commits."""
    if not (published or metrics or followers):
        return
    payload: dict[str, Any] = {
        "published": sorted(published),
        "metrics": sorted(metrics),
        "followers": [{"person": p, "followers": n, "delta": d} for p, n, d in followers],
    }
    body = json.dumps(payload, separators=(",", ":"))
    if len(body) > 7900:  # NOTIFY payloads are limited to 8000 bytes; send ids in parts
        payload = {
            "published": payload["published"][:500],
            "metrics": payload["metrics"][:500],
            "followers": payload["followers"][:100],
            "truncated": True,
        }
        body = json.dumps(payload, separators=(",", ":"))
    await sync_state.notify(session, CHANNEL, body)
