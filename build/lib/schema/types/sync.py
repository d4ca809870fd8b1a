"""The mirror's health for admins: worker state, feeds, recent runs."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import strawberry

from api.domain.enums import SyncFeedKind


@strawberry.enum(description="What the sync worker is doing.")
class SyncState(enum.Enum):
    SYNCING = "SYNCING"
    IDLE = "IDLE"
    BACKING_OFF = "BACKING_OFF"
    OFFLINE = "OFFLINE"


@strawberry.enum
class SyncRunStatus(enum.Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"
    ABANDONED = strawberry.enum_value(
        "ABANDONED", description="Its worker died before finishing it; the next worker closed it."
    )


@strawberry.type
class SyncFeed:
    kind: SyncFeedKind
    name: str
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    items_mirrored: int
    backfill_complete: bool
    inaccessible: bool = strawberry.field(description="The token cannot read it (private group).")

    @classmethod
    def from_row(cls, row: Any) -> SyncFeed:
        return cls(
            kind=row.kind,
            name=row.name,
            last_run_at=row.last_run_at,
            last_success_at=row.last_success_at,
            last_error=row.last_error,
            items_mirrored=row.items_mirrored,
            backfill_complete=row.backfill_complete,
            inaccessible=row.inaccessible,
        )


@strawberry.type
class SyncRun:
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    status: SyncRunStatus
    trigger: str
    requests: int
    posts_upserted: int
    errors: int
    error: str | None

    @classmethod
    def from_row(cls, row: Any) -> SyncRun:
        return cls(
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            status=SyncRunStatus(row.status),
            trigger=row.trigger,
            requests=row.requests,
            posts_upserted=row.posts_upserted,
            errors=row.errors,
            error=row.error,
        )


@strawberry.type(description="How current the mirrored threads are (the freshness policy).")
class ThreadFreshness:
    stalest_thread_age_seconds: int | None = strawberry.field(
        description="Seconds since the live thread read longest ago was last read in full "
        "(null before any thread is mirrored)."
    )
    overdue_threads: int = strawberry.field(
        description="Live threads the policy wanted read more than two poll intervals ago."
    )
