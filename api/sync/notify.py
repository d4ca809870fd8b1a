"""Change notifications to API processes: a change-log row whose id is ``NOTIFY``-ed on
``campaign_activity`` (``api/db/repositories/activity.py``).

Sent inside a page's unit of work, so they are delivered when, and only if, it commits. The
payload is the row's id, never the changes themselves: NOTIFY refuses payloads over 8000 bytes,
and a page can change more than that many ids.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from api.db.repositories import activity

CHANNEL = activity.CHANNEL


async def notify(
    session: AsyncSession,
    published: set[int],
    metrics: set[int],
    followers: list[tuple[int, int, int]],
) -> None:
    """Tell API processes what changed; delivered when (and only if) the page commits.

    ``followers`` are (person id, follower count, delta)."""
    await activity.record(session, published=published, metrics=metrics, followers=followers)
