"""Building the client and the worker from settings, for the CLI and ``campaign up``."""

from __future__ import annotations

from datetime import timedelta

from api.db.session import Database
from api.settings import Settings
from api.sync.budget import RateBudget
from api.sync.client import MicroblogClient
from api.sync.scheduler import Worker, WorkerConfig
from api.sync.shared_budget import PostgresBudget


def build_client(
    settings: Settings,
    *,
    url: str | None = None,
    token: str | None = None,
    db: Database | None = None,
) -> MicroblogClient:
    """The client for the microblog; with ``db``, its rate budget is shared through the
    database with every process using the same token (see ``api.sync.shared_budget``)."""
    base = url or settings.microblog_url
    secret = token or (
        settings.microblog_token.get_secret_value() if settings.microblog_token else None
    )
    if not base or not secret:
        raise ValueError(
            "set MICROBLOG_URL and MICROBLOG_TOKEN (or run `campaign up` for the simulator)"
        )
    budget = RateBudget(
        requests=settings.sync_budget_requests, window=settings.sync_budget_window_seconds
    )
    if db is not None:
        budget.share(PostgresBudget(db, secret))
    return MicroblogClient(base, secret, budget=budget)


def build_worker(
    settings: Settings, db: Database, client: MicroblogClient, *, source: str
) -> Worker:
    config = WorkerConfig(
        poll_interval=settings.sync_poll_seconds,
        horizon=timedelta(days=settings.sync_horizon_days),
        source=source,
    )
    return Worker(db, client, config)
