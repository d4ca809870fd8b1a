"""The worker against the simulator over HTTP on loopback, mirroring into a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from api.db.session import Database
from api.domain.freshness import EVERY_PASS, FreshnessPolicy, Tier
from api.seed.demo import seed_demo_campaign
from api.simulator.app import create_simulator, simulator_state
from api.simulator.config import DEFAULT_TOKEN, SimulatorConfig
from api.simulator.demo import demo_network
from api.simulator.network import Network
from api.simulator.server import BackgroundServer
from api.simulator.state import SimulatorState
from api.sync.budget import RateBudget
from api.sync.client import MicroblogClient
from api.sync.scheduler import Worker, WorkerConfig

ANCHOR = date(2026, 10, 5)
NOW = datetime(2026, 11, 1, tzinfo=UTC)
# The budget is lifted in these tests, and so is the walks' share of it.
UNLIMITED = FreshnessPolicy(budget_requests=None)
# Every live thread read again on every pass, whatever its age.
EVERY_THREAD_EVERY_PASS = FreshnessPolicy(tiers=(Tier(None, EVERY_PASS),), budget_requests=None)


@dataclass
class Sim:
    url: str
    state: SimulatorState

    @property
    def network(self) -> Network:
        return self.state.network

    @property
    def config(self) -> SimulatorConfig:
        return self.state.config


@pytest.fixture
def sim() -> Iterator[Sim]:
    """The demo network, rate limits lifted (tests that need them set them back)."""
    config = SimulatorConfig(tokens={DEFAULT_TOKEN}, live_activity_seconds=None)
    config.lift_rate_limits()
    app = create_simulator(demo_network(ANCHOR, NOW), config)
    with BackgroundServer(app) as server:
        yield Sim(server.url, simulator_state(app))


def make_client(sim: Sim, budget: RateBudget | None = None, **kwargs: Any) -> MicroblogClient:
    defaults: dict[str, Any] = {"timeout": 2.0, "backoff_base": 0.05, "rate_limit_base": 0.2}
    return MicroblogClient(
        sim.url, DEFAULT_TOKEN, budget=budget or RateBudget.lifted(), **(defaults | kwargs)
    )


def make_worker(db: Database, client: MicroblogClient, **kwargs: Any) -> Worker:
    kwargs.setdefault("freshness", UNLIMITED)
    config = WorkerConfig(poll_interval=0.5, standby_interval=0.2, source="simulator", **kwargs)
    return Worker(db, client, config, clock=lambda: datetime.now(UTC))


async def set_up_campaign(db: Database, worker: Worker) -> None:
    """What `campaign up` does on an empty database: the directory, then the demo set-up."""
    await worker.run_exclusive(trigger="SETUP")
    await seed_demo_campaign(db, ANCHOR)


@pytest.fixture
async def mirrored(fresh_db: Database, sim: Sim) -> AsyncIterator[tuple[Database, Worker]]:
    async with make_client(sim) as client:
        worker = make_worker(fresh_db, client)
        await set_up_campaign(fresh_db, worker)
        yield fresh_db, worker


async def rows(db: Database, sql: str, **params: Any) -> list[Any]:
    async with db.reading() as session:
        return list((await session.execute(sa.text(sql), params)).all())
