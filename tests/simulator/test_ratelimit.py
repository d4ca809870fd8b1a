"""Per-token sliding windows, 429s with and without Retry-After, and the request log."""

from __future__ import annotations

import httpx
import pytest

from api.simulator import SimulatorConfig
from api.simulator.log import RequestLog, RequestRecord
from api.simulator.state import SimulatorState
from tests.simulator.conftest import FakeClock

pytestmark = pytest.mark.unit

RATE_LIMITED = {
    "response": {"message": "Rate limited due to excessive requests.", "stat": "fail", "code": 33}
}


@pytest.fixture
def config() -> SimulatorConfig:
    return SimulatorConfig(tokens={"a", "b"})  # the documented limits, on


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _statuses(client: httpx.AsyncClient, path: str, n: int, token: str = "a") -> list[int]:
    return [(await client.get(path, headers=_auth(token))).status_code for _ in range(n)]


async def test_eleventh_message_request_in_30s_is_429_with_retry_after(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    assert await _statuses(client, "/api/v1/messages.json", 10) == [200] * 10
    clock.advance(12)
    response = await client.get("/api/v1/messages/in_thread/1.json", headers=_auth("a"))
    assert response.status_code == 429
    assert response.json() == RATE_LIMITED
    assert response.headers["retry-after"] == "18"  # the window frees its first slot then
    clock.advance(17.5)
    assert await _statuses(client, "/api/v1/messages.json", 1) == [429]
    clock.advance(0.5)
    # All ten arrived together, so all ten slots free up together.
    assert await _statuses(client, "/api/v1/messages.json", 11) == [200] * 10 + [429]


async def test_buckets_and_tokens_have_their_own_windows(client: httpx.AsyncClient) -> None:
    assert await _statuses(client, "/api/v1/messages.json", 11) == [200] * 10 + [429]
    assert await _statuses(client, "/api/v1/users/current.json", 11) == [200] * 10 + [429]
    assert await _statuses(client, "/api/v1/messages.json", 10, token="b") == [200] * 10


async def test_retry_after_can_be_left_out_or_fixed(
    client: httpx.AsyncClient, config: SimulatorConfig
) -> None:
    config.retry_after = False
    statuses = await _statuses(client, "/api/v1/groups.json", 10)
    response = await client.get("/api/v1/groups.json", headers=_auth("a"))
    assert statuses == [200] * 10
    assert response.status_code == 429
    assert "retry-after" not in response.headers
    config.update({"retry_after": True, "retry_after_seconds": 7})
    response = await client.get("/api/v1/groups.json", headers=_auth("a"))
    assert response.headers["retry-after"] == "7"


async def test_limits_are_configurable_and_can_be_lifted(client: httpx.AsyncClient) -> None:
    reply = await client.post("/_sim/config", json={"rate_limits": {"messages": [2, 5]}})
    assert reply.json()["rate_limits"]["messages"] == [2, 5.0]
    assert await _statuses(client, "/api/v1/messages.json", 3) == [200, 200, 429]
    await client.post("/_sim/config", json={"rate_limits_enabled": False})
    assert await _statuses(client, "/api/v1/messages.json", 30) == [200] * 30


async def test_request_log_counts_requests_per_window(
    client: httpx.AsyncClient, clock: FakeClock, state: SimulatorState
) -> None:
    for _ in range(3):
        await _statuses(client, "/api/v1/messages.json", 12)  # 10 admitted, 2 refused
        clock.advance(31)
    await _statuses(client, "/api/v1/users.json", 4, token="b")
    log = state.log
    assert log.count() == 40
    assert log.count(status=429) == 6
    assert log.count(bucket="messages", admitted_only=True) == 30
    assert log.max_in_window(30, bucket="messages", admitted_only=True) == 10
    assert log.max_in_window(30, bucket="messages") == 12
    assert log.max_in_window(100, token="a", admitted_only=True) == 30
    assert log.count(token="b", path_prefix="/api/v1/users") == 4
    record = log.records[0]
    assert (record.token, record.method, record.path, record.bucket) == (
        "a",
        "GET",
        "/api/v1/messages.json",
        "messages",
    )

    listed = (await client.get("/_sim/requests")).json()
    assert listed["count"] == 40
    assert listed["requests"][0]["status"] == 200
    summary = (await client.get("/_sim/state")).json()
    assert summary["requests"]["rate_limited"] == 6
    assert summary["requests"]["by_bucket"] == {"messages": 36, "other": 4}
    await client.delete("/_sim/requests")
    assert log.count() == 0


def test_max_in_window_is_a_sliding_window() -> None:
    log = RequestLog()
    for t in (0, 10, 20, 29.9, 30, 45, 59.9, 60):
        log.append(
            RequestRecord(
                t, "", "a", "GET", "/api/v1/messages.json", "", "messages", 200, "ok", True
            )
        )
    # Windows are (t - 30, t]: ending at 29.9 they hold 0..29.9 (4); ending at 60, 30..60 (4).
    assert log.max_in_window(30) == 4
    assert log.max_in_window(29.95) == 4
    assert log.max_in_window(0.5) == 2  # 29.9 and 30
    assert log.max_in_window(0.05) == 1
