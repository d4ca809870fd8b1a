"""The service's Prometheus metrics, defined once per process; ``api/monitoring.py`` serves them.

Anything may update these (it imports nothing of the project): the request middleware records
requests, latency, error codes and SQL statements; the subscriptions' code sets ``SUBSCRIBERS``.

Several server processes (``uvicorn --workers N``) each count their own requests. Set
``PROMETHEUS_MULTIPROC_DIR`` to an empty folder, the same for every process, before they start:
prometheus-client then keeps the values in files there and ``/metrics`` sums them over the
processes (``livesum`` for the subscribers gauge, so a dead process's subscribers drop out).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

# Request latency: a cached small query answers in a few ms, a feed page in tens.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Statements per request: the loaders keep an operation to a handful whatever its size.
STATEMENT_BUCKETS = (0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89)

REQUESTS = Counter(
    "campaign_graphql_requests",
    "GraphQL requests by operation name and outcome (ok, error, refused, failed).",
    ["operation", "outcome"],
)
LATENCY = Histogram(
    "campaign_graphql_request_duration_seconds",
    "Time to answer a GraphQL request, by operation name.",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
ERRORS = Counter(
    "campaign_graphql_errors",
    "GraphQL errors in answers, by extensions.code.",
    ["code"],
)
STATEMENTS = Histogram(
    "campaign_graphql_sql_statements",
    "SQL statements one GraphQL request sent to PostgreSQL.",
    buckets=STATEMENT_BUCKETS,
)
SUBSCRIBERS = Gauge(
    "campaign_graphql_subscribers",
    "Open GraphQL subscriptions in this process (summed over processes).",
    multiprocess_mode="livesum",
)

RESPONSE_CACHE = Counter(
    "campaign_graphql_response_cache_lookups",
    "Queries looked up in the process's response cache (api/response_cache.py): hit or miss.",
    ["outcome"],
)
FAST_PATH = Counter(
    "campaign_graphql_fast_path",
    "GraphQL requests over HTTP the fast path answered (api/fast_path.py), or handed to the "
    "full path (full).",
    ["outcome"],
)
RESPONSE_CACHE_BYTES = Gauge(
    "campaign_graphql_response_cache_bytes",
    "Bytes of answers the response cache holds (summed over processes).",
    multiprocess_mode="livesum",
)

# Operation names are the client's to choose: only so many distinct ones get their own label,
# the rest share OTHER, so a client cannot grow the metrics without bound.
MAX_OPERATION_NAMES = 200
OTHER = "other"
ANONYMOUS = "anonymous"
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")  # a GraphQL name, not overlong
_names: set[str] = set()
_names_lock = threading.Lock()


def operation_label(name: object) -> str:
    if name is None or name == "":
        return ANONYMOUS
    if not isinstance(name, str) or not _NAME.match(name):
        return OTHER
    with _names_lock:
        if name in _names:
            return name
        if len(_names) >= MAX_OPERATION_NAMES:
            return OTHER
        _names.add(name)
        return name


@dataclass
class RequestStats:
    """What one request did, filled in as it runs (the contextvar below holds it)."""

    statements: int = 0
    operation: object = None
    codes: list[str] = field(default_factory=list)


CURRENT: ContextVar[RequestStats | None] = ContextVar("campaign_request_stats", default=None)


def statement_executed() -> None:
    """Count one SQL statement against the request being served, if any (the worker's are not).

    The loaders' batches run in tasks the request started; they copy its context, and with it
    the same ``RequestStats``."""
    stats = CURRENT.get()
    if stats is not None:
        stats.statements += 1


def error_codes(errors: Iterable[Any] | None) -> list[str]:
    """The ``extensions.code`` of each error of an answer (schema/errors.py gives every one)."""
    codes = []
    for error in errors or ():
        code = (getattr(error, "extensions", None) or {}).get("code")
        codes.append(code if isinstance(code, str) else "UNKNOWN")
    return codes


def observe(stats: RequestStats, status: int, seconds: float) -> None:
    """Record a finished GraphQL request."""
    operation = operation_label(stats.operation)
    if status >= 500:
        outcome = "failed"
    elif stats.codes:
        outcome = "error"
    elif status >= 400:
        outcome = "refused"  # before execution: body size, JSON, method, a missing query
    else:
        outcome = "ok"
    REQUESTS.labels(operation, outcome).inc()
    LATENCY.labels(operation).observe(seconds)
    STATEMENTS.observe(stats.statements)
    for code in stats.codes:
        ERRORS.labels(code).inc()
