"""Operations: /metrics (what it counts, who may read it), the request id in JSON logs with no
secret in them, and CORS for the configured origins."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from api import logs, metrics
from api.app import create_app
from api.db.repositories import sync_runs
from api.db.session import Database
from api.domain.enums import Role
from tests.e2e.conftest import Api, settings_for

PROBE = """query MetricsProbe {
  campaign(slug: "learning-community") { name topics { totalCount nodes { name } } }
}"""


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def scrape(client: httpx.AsyncClient, **headers: str) -> dict[tuple[str, tuple], float]:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def delta(after: dict, before: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_metrics_count_requests_latency_errors_and_statements(reader: Api) -> None:
    before = await scrape(reader.client)
    reader.statements.clear()
    data = await reader.data(PROBE, operation_name="MetricsProbe")
    assert data["campaign"]["topics"]["totalCount"] == 4
    probe_statements = len(reader.statements)
    assert probe_statements > 0
    denied = await reader.post(
        "query MetricsDenied { syncStatus { state } }", role=None, operation_name="MetricsDenied"
    )
    assert denied["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    refused = await reader.client.post(
        "/graphql", content=b"[", headers={"content-type": "application/json"}
    )
    assert refused.status_code == 400
    after = await scrape(reader.client)

    requests = "campaign_graphql_requests_total"
    assert delta(after, before, requests, operation="MetricsProbe", outcome="ok") == 1
    assert delta(after, before, requests, operation="MetricsDenied", outcome="error") == 1
    assert delta(after, before, requests, operation="anonymous", outcome="refused") == 1
    assert delta(after, before, "campaign_graphql_errors_total", code="UNAUTHENTICATED") == 1
    latency = "campaign_graphql_request_duration_seconds_count"
    assert delta(after, before, latency, operation="MetricsProbe") == 1
    # The statements histogram saw the three requests; only the probe sent SQL.
    assert delta(after, before, "campaign_graphql_sql_statements_count") == 3
    assert delta(after, before, "campaign_graphql_sql_statements_sum") == probe_statements
    # Scrapes are not GraphQL requests, and the scrape's own reads are not counted.
    assert ("campaign_sync_budget_requests", ()) in after


async def test_the_subscribers_gauge_is_for_other_code_to_set(reader: Api) -> None:
    metrics.SUBSCRIBERS.inc(2)
    try:
        found = await scrape(reader.client)
        assert found[("campaign_graphql_subscribers", ())] >= 2
    finally:
        metrics.SUBSCRIBERS.dec(2)


async def test_the_workers_lag_and_budget_are_read_at_scrape_time(fresh_url: str) -> None:
    db = Database.connect(fresh_url, pool_size=2)
    settings = settings_for(fresh_url)
    try:
        async with _client(create_app(settings, db=db), "127.0.0.1") as client:
            found = await scrape(client)
            assert found[("campaign_sync_budget_requests", ())] == settings.sync_budget_requests
            assert found[("campaign_sync_requests_in_window", ())] == 0
            assert ("campaign_sync_lag_seconds", ()) not in found  # no run yet
            assert ("campaign_sync_heartbeat_age_seconds", ()) not in found  # no worker

            ended = datetime.now(UTC) - timedelta(minutes=5)
            async with db.unit_of_work() as session:
                run = await sync_runs.start_run(session, "SCHEDULE", ended - timedelta(seconds=3))
                await sync_runs.finish_run(session, run, "SUCCEEDED", None, ended)
                await sync_runs.heartbeat(
                    session, worker_id="w1", role="ACTIVE", source="test", requests_in_window=7
                )
            found = await scrape(client)
    finally:
        await db.dispose()
    assert found[("campaign_sync_requests_in_window", ())] == 7
    assert 300 <= found[("campaign_sync_lag_seconds", ())] < 3600
    assert 0 <= found[("campaign_sync_heartbeat_age_seconds", ())] < 3600


@pytest.fixture
async def remote_app(shared_demo_url: str) -> AsyncIterator[tuple[Database, str]]:
    db = Database.connect(shared_demo_url, pool_size=2)
    yield db, shared_demo_url
    await db.dispose()


def _client(app: object, host: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 40000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://campaign.test")


async def test_metrics_answer_loopback_or_the_token_only(
    remote_app: tuple[Database, str],
) -> None:
    db, url = remote_app
    open_app = create_app(settings_for(url), db=db)
    async with _client(open_app, "203.0.113.9") as remote:
        assert (await remote.get("/metrics")).status_code == 403
    async with _client(open_app, "127.0.0.1") as local:
        assert (await local.get("/metrics")).status_code == 200

    token = "scrape-token-0123456789"
    settings = settings_for(url).model_copy(update={"metrics_token": SecretStr(token)})
    guarded = create_app(settings, db=db)
    async with _client(guarded, "203.0.113.9") as remote:
        assert (await remote.get("/metrics")).status_code == 403
        wrong = await remote.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        right = await remote.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert right.status_code == 200
        assert "campaign_graphql_requests" in right.text
        assert token not in right.text
    async with _client(guarded, "127.0.0.1") as local:  # a proxy on the host looks local
        assert (await local.get("/metrics")).status_code == 403


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Everything logged, at DEBUG, through the JSON handler the commands use."""
    stream = io.StringIO()
    handler = logs.handler(json_format=True, stream=stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_logs_carry_the_request_id_and_never_a_token(
    reader: Api, json_log: io.StringIO
) -> None:
    token = reader.token(Role.MEMBER, "member@example.com")
    api_key = "cgk_" + "k" * 43  # the shape of ours; unknown, so refused (and logged)
    answers = []
    for headers in (
        {"Authorization": f"Bearer {token}", "X-Request-ID": "ops-req-1"},
        {"Authorization": f"Bearer {token}x", "X-Request-ID": "ops-req-2"},
        {"X-API-Key": api_key, "X-Request-ID": "ops-req-3"},
    ):
        response = await reader.client.post(
            "/graphql", json={"query": "{ syncStatus { state } }"}, headers=headers
        )
        answers.append(response)
        # One id per answer, the client's own.
        assert response.headers.get_list("x-request-id") == [headers["X-Request-ID"]]
    # A refused permission and two refused credentials were logged, each with its request.
    records = [json.loads(line) for line in json_log.getvalue().splitlines()]
    assert records, "nothing was logged"
    ids = {record["request_id"] for record in records}
    assert {"ops-req-1", "ops-req-2", "ops-req-3"} <= ids, records
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    text = json_log.getvalue()
    assert token not in text
    assert token.split(".")[2] not in text  # not even the signature
    assert api_key not in text


async def test_a_malformed_request_id_is_replaced(reader: Api) -> None:
    response = await reader.client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"X-Request-ID": "no spaces or 'quotes' allowed " + "x" * 80},
    )
    (sent,) = response.headers.get_list("x-request-id")
    assert len(sent) == 32
    assert sent.isalnum()


def test_the_log_filter_redacts_what_slips_through() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl"
    line = (
        f'GET /x?access_token=s3cret&page=2 "Authorization: Bearer {jwt}" '
        f"key cgk_abcdefghijklmnop bare {jwt}"
    )
    cleaned = logs.redact(line)
    assert "s3cret" not in cleaned
    assert jwt not in cleaned
    assert "cgk_abcdefghijklmnop" not in cleaned
    assert "page=2" in cleaned
    assert "access_token=[redacted]" in cleaned


async def test_cors_answers_configured_origins_only(remote_app: tuple[Database, str]) -> None:
    db, url = remote_app
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    closed = create_app(settings_for(url), db=db)  # none by default
    async with _client(closed, "127.0.0.1") as client:
        answer = await client.options(
            "/graphql", headers={"Origin": "https://dash.example.com", **preflight}
        )
        assert "access-control-allow-origin" not in answer.headers

    settings = settings_for(url).model_copy(
        update={"cors_origins": ["https://dash.example.com/", "https://Admin.Example.com:443"]}
    )
    app = create_app(settings, db=db)
    async with _client(app, "127.0.0.1") as client:
        for origin in ("https://dash.example.com", "https://admin.example.com"):
            answer = await client.options("/graphql", headers={"Origin": origin, **preflight})
            assert answer.status_code == 200, answer.text
            assert answer.headers["access-control-allow-origin"] == origin
            assert "authorization" in answer.headers["access-control-allow-headers"].lower()
        foreign = await client.options(
            "/graphql", headers={"Origin": "https://evil.example.net", **preflight}
        )
        assert foreign.status_code == 400
        assert "access-control-allow-origin" not in foreign.headers
        simple = await client.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Origin": "https://dash.example.com"},
        )
        assert simple.headers["access-control-allow-origin"] == "https://dash.example.com"
        assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()
