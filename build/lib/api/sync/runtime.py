"""Building the client and the worker from settings, for the CLI and ``campaign up``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import httpx

from api.db.session import Database
from api.domain.freshness import FreshnessPolicy, policy_from_settings
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
    transport: httpx.AsyncBaseTransport | None = None,
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
    return MicroblogClient(base, secret, budget=budget, transport=transport)


def build_worker(
    settings: Settings,
    db: Database,
    client: MicroblogClient,
    *,
    source: str,
    clock: Callable[[], datetime] | None = None,
) -> Worker:
    """The worker; ``clock`` stamps what it reads (default: real time; the demo's campaign
    clock under `campaign up`, so readings carry the simulated moment they describe)."""
    config = WorkerConfig(
        poll_interval=settings.sync_poll_seconds,
        horizon=timedelta(days=settings.sync_horizon_days),
        freshness=freshness_policy(settings),
        source=source,
    )
    if clock is None:
        return Worker(db, client, config)
    return Worker(db, client, config, clock=clock)


def freshness_policy(settings: Settings) -> FreshnessPolicy:
    return policy_from_settings(
        active_within=timedelta(hours=settings.sync_fresh_active_hours),
        recent_within=timedelta(days=settings.sync_fresh_recent_days),
        recent_every=timedelta(minutes=settings.sync_fresh_recent_every_minutes),
        older_every=timedelta(hours=settings.sync_fresh_older_every_hours),
        share=settings.sync_fresh_share,
        budget_requests=settings.sync_budget_requests,
        budget_window=settings.sync_budget_window_seconds,
    )
