"""Fault switches: 5xx, latency, hangs, malformed pages, lying older_available, incomplete
group feeds and 429 storms; all off by default, flipped on the config or over /_sim/config."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from api.simulator import Network, SimulatorConfig, create_simulator
from api.simulator.demo import demo_network
from api.simulator.state import SimulatorState
from tests.simulator.conftest import ANCHOR, AUTH, NOW, by_type

pytestmark = pytest.mark.unit

Get = Callable[..., Any]


async def _statuses(
    client: httpx.AsyncClient, n: int, path: str = "/api/v1/messages.json"
) -> list[int]:
    return [(await client.get(path)).status_code for _ in range(n)]


async def test_everything_is_off_by_default(
    client: httpx.AsyncClient, state: SimulatorState
) -> None:
    assert await _statuses(client, 30) == [200] * 30
    assert {r.outcome for r in state.log.records} == {"ok"}


async def test_error_next_gives_5xx_then_recovers(
    client: httpx.AsyncClient, config: SimulatorConfig, state: SimulatorState
) -> None:
    config.error_next = 2
    config.error_statuses = (503,)
    responses = [await client.get("/api/v1/messages.json") for _ in range(3)]
    assert [r.status_code for r in responses] == [503, 503, 200]
    assert responses[0].headers["content-type"].startswith("text/html")  # a gateway's page
    assert config.error_next == 0
    assert [r.outcome for r in state.log.records] == ["error", "error", "ok"]
    config.error_next, config.error_statuses = 1, (500,)
    assert (await client.get("/api/v1/users.json")).json()["response"]["stat"] == "fail"


async def test_error_rate_is_deterministic_for_a_seed(network: Network) -> None:
    async def run(seed: int) -> list[int]:
        config = SimulatorConfig(seed=seed, error_rate=0.5, rate_limits_enabled=False)
        app = create_simulator(network, config)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://s", headers=AUTH
        ) as c:
            return await _statuses(c, 30)

    first, again, other = await run(7), await run(7), await run(8)
    assert first == again != other
    assert 5 < sum(s >= 500 for s in first) < 25
    assert {s for s in first if s >= 500} <= {500, 502, 503}


async def test_latency_is_added(client: httpx.AsyncClient, config: SimulatorConfig) -> None:
    config.latency_seconds = 0.2
    started = time.monotonic()
    assert (await client.get("/api/v1/users/current.json")).status_code == 200
    assert time.monotonic() - started >= 0.2


async def test_hang_holds_a_request(
    client: httpx.AsyncClient, config: SimulatorConfig, state: SimulatorState
) -> None:
    # Over ASGI there is no client timeout; tests/simulator/test_http.py shows one expiring.
    config.update({"hang_next": 1, "hang_seconds": 0.3})
    started = time.monotonic()
    assert (await client.get("/api/v1/messages.json")).status_code == 200
    assert time.monotonic() - started >= 0.3
    assert [r.outcome for r in state.log.records] == ["hang"]


async def test_malformed_pages(
    client: httpx.AsyncClient, config: SimulatorConfig, state: SimulatorState
) -> None:
    config.update({"malformed_next": 1, "malformed_mode": "invalid_json"})
    broken = await client.get("/api/v1/messages.json")
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.content)

    config.update({"malformed_next": 1, "malformed_mode": "missing_id"})
    page = (await client.get("/api/v1/messages.json")).json()
    assert "id" not in page["messages"][0]
    assert "id" in page["messages"][1]
    config.malformed_next = 1
    users = (await client.get("/api/v1/users.json")).json()
    assert "id" not in users[0]

    config.update({"malformed_next": 1, "malformed_mode": "wrong_types"})
    page = (await client.get("/api/v1/messages.json")).json()
    first = page["messages"][0]
    assert isinstance(first["id"], str)
    assert isinstance(first["created_at"], int)
    assert (await client.get("/api/v1/messages.json")).json()["messages"][0]["id"] > 0

    config.update({"malformed_next": 1, "malformed_mode": "html"})  # a proxy's error page
    html = await client.get("/api/v1/messages.json")
    assert html.status_code == 200
    assert html.content.startswith(b"<!DOCTYPE html>")
    assert [r.outcome for r in state.log.records].count("malformed") == 5


async def test_malformed_rate_and_bad_modes(
    client: httpx.AsyncClient, config: SimulatorConfig
) -> None:
    config.malformed_rate = 1.0
    assert all(not r.content.endswith(b"}") for r in [await client.get("/api/v1/groups.json")])
    with pytest.raises(ValueError, match="malformed_mode"):
        config.update({"malformed_mode": "sideways"})


async def test_older_available_can_lie(
    network: Network, config: SimulatorConfig, get_json: Get
) -> None:
    assert (await get_json("/api/v1/messages.json"))["meta"]["older_available"] is True
    config.older_available_lies = True
    page = await get_json("/api/v1/messages.json")
    # A full page and more behind it, yet older_available says no: clients must page on fullness.
    assert page["meta"]["older_available"] is False
    assert len(page["messages"]) == 20
    older = await get_json(
        "/api/v1/messages.json", older_than=min(m["id"] for m in page["messages"])
    )
    assert older["messages"]


async def test_in_group_can_omit_replies_that_in_thread_has(
    network: Network, config: SimulatorConfig, get_json: Get
) -> None:
    group = network.group_by_name("Employee Engagement")
    path = f"/api/v1/messages/in_group/{group.id}.json"
    full = {m["id"] for m in (await get_json(path))["messages"]}
    config.in_group_omit_replies = 1.0
    page = await get_json(path)
    shown = {m["id"] for m in page["messages"]}
    assert shown < full
    assert all(m["id"] == m["thread_id"] for m in page["messages"])
    threads = by_type(page["references"], "thread")
    survey = max(threads.values(), key=lambda t: t["stats"]["updates"])
    # The thread reference still tells the truth, so a client knows to backfill.
    backfill = await get_json(f"/api/v1/messages/in_thread/{survey['id']}.json")
    assert len(backfill["messages"]) == survey["stats"]["updates"] == 4

    config.in_group_omit_replies = 0.5
    partial = [{m["id"] for m in (await get_json(path))["messages"]} for _ in range(2)]
    assert partial[0] == partial[1]
    assert shown < partial[0] < full


async def test_storms_force_429s_without_using_the_budget(
    client: httpx.AsyncClient, config: SimulatorConfig, state: SimulatorState
) -> None:
    config.rate_limits_enabled = True
    config.storm_next = 3
    responses = [await client.get("/api/v1/users.json") for _ in range(4)]
    assert [r.status_code for r in responses] == [429, 429, 429, 200]
    assert responses[0].headers["retry-after"] == "1"
    assert responses[0].json()["response"]["code"] == 33
    assert [r.outcome for r in state.log.records] == ["storm"] * 3 + ["ok"]
    assert state.log.count(admitted_only=True) == 1


async def test_fault_path_prefix_limits_where_faults_hit(
    client: httpx.AsyncClient, config: SimulatorConfig
) -> None:
    config.update({"fault_path_prefix": "/messages/in_thread", "error_next": 1})
    assert await _statuses(client, 3) == [200, 200, 200]
    thread_id = max(
        m["thread_id"] for m in (await client.get("/api/v1/messages.json")).json()["messages"]
    )
    statuses = await _statuses(client, 2, f"/api/v1/messages/in_thread/{thread_id}.json")
    assert statuses[0] >= 500
    assert statuses[1] == 200


async def test_config_endpoint(client: httpx.AsyncClient, config: SimulatorConfig) -> None:
    reply = await client.post(
        "/_sim/config", json={"error_rate": 0.25, "seed": 3, "live_activity_seconds": None}
    )
    assert reply.status_code == 200
    assert reply.json()["error_rate"] == 0.25
    assert (config.error_rate, config.seed) == (0.25, 3)  # the very object the app reads
    for bad in ({"nope": 1}, {"error_rate": "high"}, {"older_available_lies": 1}):
        assert (await client.post("/_sim/config", json=bad)).status_code == 400
    assert (await client.get("/_sim/config")).json()["seed"] == 3


def test_faults_stay_off_a_fresh_config() -> None:
    config = SimulatorConfig()
    assert not any((config.error_rate, config.error_next, config.hang_next, config.malformed_next))
    assert not (config.older_available_lies)
    assert not (config.in_group_omit_replies)
    assert config.storm_next == 0
    assert config.latency_seconds == 0
    assert config.live_activity_seconds is None
    assert demo_network(ANCHOR, NOW).summary()["messages"] > 0


async def test_malformed_next_waits_for_a_json_page(
    client: httpx.AsyncClient, config: SimulatorConfig
) -> None:
    config.malformed_next = 1
    assert (await client.get("/api/v1/messages/1.json")).status_code == 404
    assert config.malformed_next == 1  # an error answer does not use it up
    with pytest.raises(json.JSONDecodeError):
        json.loads((await client.get("/api/v1/users/current.json")).content)
