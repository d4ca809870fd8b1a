"""A mirrored page's bookkeeping in one statement: the run's counts, the feed's cursor, and the
change-log row with its NOTIFY (``activity.record``).

Each was a statement (two for the change log) and so a round trip of its own for every page;
data-modifying CTEs run them together, with the same effects as ``sync_runs.count_run``,
``sync_state.advance_feed`` and ``activity.record``.  Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.repositories.activity import CHANNEL

# A feed id of NULL (a thread walk's page) matches no feed; a cursor left out keeps its value,
# and a given one moves only outwards; an unsuccessful page leaves the feed's error standing.
# The change-log row is written (and its id notified, delivered at commit) only when the page
# changed something a listener shows.
_PAGE_DONE = sa.text("""
WITH run AS (
  UPDATE sync_run SET requests = requests + CAST(:requests AS int),
      posts_upserted = posts_upserted + CAST(:posts AS int)
  WHERE id = CAST(:run_id AS bigint)
), feed AS (
  UPDATE sync_feed SET
    items_mirrored = items_mirrored + CAST(:items AS bigint),
    last_run_at = CAST(:at AS timestamptz),
    last_success_at = CASE WHEN CAST(:succeeded AS boolean)
      THEN CAST(:at AS timestamptz) ELSE last_success_at END,
    last_error = CASE WHEN CAST(:succeeded AS boolean) THEN NULL ELSE last_error END,
    consecutive_failures = CASE WHEN CAST(:succeeded AS boolean)
      THEN 0 ELSE consecutive_failures END,
    newest_seen_id = CASE WHEN CAST(:newest_seen_id AS bigint) IS NULL THEN newest_seen_id
      ELSE greatest(coalesce(newest_seen_id, 0), CAST(:newest_seen_id AS bigint)) END,
    oldest_seen_id = CASE WHEN CAST(:oldest_seen_id AS bigint) IS NULL THEN oldest_seen_id
      ELSE least(coalesce(oldest_seen_id, CAST(:oldest_seen_id AS bigint)),
                 CAST(:oldest_seen_id AS bigint)) END,
    backfill_complete = coalesce(CAST(:backfill_complete AS boolean), backfill_complete)
  WHERE id = CAST(:feed_id AS bigint)
), change AS (
  INSERT INTO activity_change (published, metrics, followers, campaigns, change)
  SELECT CAST(:published AS bigint[]), CAST(:metrics AS bigint[]), :followers,
      CAST('{}' AS bigint[]), NULL
  WHERE CAST(:log AS boolean)
  RETURNING id
)
SELECT pg_notify(:channel, CAST(id AS text)) FROM change
""").bindparams(sa.bindparam("followers", type_=JSONB))


async def page_done(
    session: AsyncSession,
    *,
    run_id: int,
    requests: int,
    posts: int,
    at: datetime,
    feed_id: int | None = None,
    items: int = 0,
    succeeded: bool = True,
    newest_seen_id: int | None = None,
    oldest_seen_id: int | None = None,
    backfill_complete: bool | None = None,
    published: Iterable[int] = (),
    metrics: Iterable[int] = (),
    followers: Iterable[tuple[int, int, int]] = (),
) -> None:
    """Count ``requests`` and ``posts`` to the run, move feed ``feed_id``'s cursors (when
    given) and log what the page changed, notifying the row's id when it changed anything.

    ``followers`` are (person id, follower count, delta)."""
    change: dict[str, Any] = {
        "published": sorted(set(published)),
        "metrics": sorted(set(metrics)),
        "followers": [list(f) for f in followers],
    }
    await session.execute(
        _PAGE_DONE,
        {
            "run_id": run_id,
            "requests": requests,
            "posts": posts,
            "feed_id": feed_id,
            "items": items,
            "at": at,
            "succeeded": succeeded,
            "newest_seen_id": newest_seen_id,
            "oldest_seen_id": oldest_seen_id,
            "backfill_complete": backfill_complete,
            "log": bool(change["published"] or change["metrics"] or change["followers"]),
            "channel": CHANNEL,
            **change,
        },
    )
