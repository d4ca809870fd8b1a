"""``/metrics`` (Prometheus text format) and the middleware that measures GraphQL requests.

Who may scrape: with ``CAMPAIGN_METRICS_TOKEN`` set, only a client that sends it as a bearer
token; without it, only loopback clients (a scraper on the same host). A reverse proxy on the same
host makes every client look local: set the token there, or do not route ``/metrics``. The
metrics hold counts, operation names and error codes, never a token or a query's variables.

The worker's lag and budget are read from its rows (``sync_worker``, ``sync_run``) at scrape
time, so any API process reports them, wherever the worker runs.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import metrics
from api.db.repositories import sync_runs
from api.db.session import Database
from api.settings import LOOPBACK, Settings

log = logging.getLogger(__name__)


class MetricsMiddleware:
    """Time each request to ``paths`` and record it (api/metrics.py) once it is answered."""

    def __init__(self, app: ASGIApp, paths: tuple[str, ...] = ("/graphql",)) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        stats = metrics.RequestStats()
        token = metrics.CURRENT.set(stats)
        status = 500  # unless an answer starts
        started = time.perf_counter()

        async def measured_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, measured_send)
        finally:
            metrics.CURRENT.reset(token)
            metrics.observe(stats, status, time.perf_counter() - started)


def may_scrape(settings: Settings, request: Request) -> bool:
    if settings.metrics_token is not None:
        expected = f"Bearer {settings.metrics_token.get_secret_value()}"
        sent = request.headers.get("authorization", "")
        return hmac.compare_digest(sent.encode(), expected.encode())
    return request.client is not None and request.client.host in LOOPBACK


async def metrics_endpoint(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if not may_scrape(settings, request):
        return PlainTextResponse(
            "/metrics answers loopback clients, or the bearer token CAMPAIGN_METRICS_TOKEN.\n",
            status_code=403,
        )
    body = generate_latest(_process_registry()) + generate_latest(
        await _worker_registry(request.app.state.db, settings)
    )
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def process_exiting() -> None:
    """A server process's last word in multiprocess mode: its live gauges (subscribers) stop
    counting. A process that dies without it leaves them until the folder is emptied."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        mark_process_dead(os.getpid())


def _process_registry() -> CollectorRegistry:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        # Every server process's values, from the files they keep (see api/metrics.py).
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


class _Families:
    """A collector of metric families computed beforehand (the scrape reads the database
    asynchronously; prometheus-client collects synchronously)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def _gauge(name: str, help: str, value: float | None) -> list[Metric]:
    if value is None:
        return []
    family = GaugeMetricFamily(name, help)
    family.add_metric([], value)
    return [family]


async def _worker_registry(db: Database, settings: Settings) -> CollectorRegistry:
    """The worker's state as of this scrape, from the database."""
    families = [
        *_gauge(
            "campaign_sync_budget_requests",
            "Microblog requests the worker may make per budget window (configured).",
            settings.sync_budget_requests,
        ),
        *_gauge(
            "campaign_sync_budget_window_seconds",
            "The length of the worker's budget window (configured).",
            settings.sync_budget_window_seconds,
        ),
    ]
    try:
        async with db.reading() as session:
            worker = await sync_runs.active_worker(session)
            last = await sync_runs.last_success(session)
    except Exception:  # the process's own metrics are still worth serving
        log.warning("/metrics could not read the worker's state", exc_info=True)
    else:
        families += [
            *_gauge(
                "campaign_sync_requests_in_window",
                "Requests made with the active worker's token in its budget window, by every "
                "process using it (0: no active worker).",
                worker.requests_in_window if worker is not None else 0,
            ),
            *_gauge(
                "campaign_sync_heartbeat_age_seconds",
                "Seconds since the active worker's last heartbeat (absent: no active worker).",
                max(worker.age.total_seconds(), 0.0) if worker is not None else None,
            ),
            *_gauge(
                "campaign_sync_lag_seconds",
                "Seconds since the last successful sync run ended (absent: none yet).",
                max((datetime.now(UTC) - last).total_seconds(), 0.0) if last else None,
            ),
        ]
    registry = CollectorRegistry()
    registry.register(_Families(families))
    return registry
