"""Simulator fixtures: the demo network, a config with limits lifted, and an ASGI client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from api.simulator import (
    DEFAULT_ADMIN_TOKEN,
    DEFAULT_TOKEN,
    Network,
    SimulatorConfig,
    create_simulator,
    simulator_state,
)
from api.simulator.demo import demo_network
from api.simulator.state import SimulatorState

# Week 1 starts Monday 2026-10-05 (as tests/conftest.py anchors the database seed); by NOW the
# whole demo (three weeks) has happened.
ANCHOR = date(2026, 10, 5)
NOW = datetime(2026, 11, 1, tzinfo=UTC)
AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
ADMIN = {"Authorization": f"Bearer {DEFAULT_ADMIN_TOKEN}"}


class FakeClock:
    """Monotonic seconds that only move when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def network() -> Network:
    return demo_network(ANCHOR, NOW)


@pytest.fixture
def config() -> SimulatorConfig:
    # Most tests are about shapes; the rate-limit tests turn limits back on.
    config = SimulatorConfig()
    config.lift_rate_limits()
    return config


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(network: Network, config: SimulatorConfig, clock: FakeClock) -> Starlette:
    return create_simulator(network, config, clock=clock)


@pytest.fixture
def state(app: Starlette) -> SimulatorState:
    return simulator_state(app)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim", headers=AUTH) as c:
        yield c


@pytest.fixture
def get_json(client: httpx.AsyncClient) -> Callable[..., Any]:
    async def get(path: str, status: int = 200, **params: Any) -> Any:
        response = await client.get(path, params=params)
        assert response.status_code == status, response.text
        return response.json()

    return get


def by_type(references: list[dict[str, Any]], kind: str) -> dict[int, dict[str, Any]]:
    return {r["id"]: r for r in references if r["type"] == kind}
