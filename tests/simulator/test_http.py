"""The simulator over real HTTP on loopback: uvicorn in a thread, and ``run`` in a subprocess."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time

import httpx
import pytest

from api.simulator import DEFAULT_TOKEN, SimulatorConfig, create_simulator, simulator_state
from api.simulator.demo import demo_network
from api.simulator.server import BackgroundServer
from tests.simulator.conftest import ANCHOR, AUTH, NOW

pytestmark = pytest.mark.e2e


async def test_feeds_limits_and_hangs_over_loopback() -> None:
    network = demo_network(ANCHOR, NOW)
    config = SimulatorConfig()
    app = create_simulator(network, config)
    log = simulator_state(app).log
    with BackgroundServer(app) as server:
        async with httpx.AsyncClient(base_url=server.url, headers=AUTH, timeout=5) as client:
            page = (await client.get("/api/v1/messages.json")).json()
            assert len(page["messages"]) == 20

            # A request that hangs past the client's timeout; the server lets it go.
            config.update({"hang_next": 1, "hang_seconds": 5})
            started = time.monotonic()
            with pytest.raises(httpx.ReadTimeout):
                await client.get("/api/v1/users/current.json", timeout=0.3)
            assert time.monotonic() - started < 2
            assert (await client.get("/api/v1/users/current.json")).status_code == 200
            for _ in range(100):
                if any(r.outcome == "disconnected" for r in log.records):
                    break
                await asyncio.sleep(0.02)
            assert [r.status for r in log.records if r.outcome == "disconnected"] == [None]

            # The documented budget: 10 message calls per 30 s (one used above).
            statuses = [(await client.get("/api/v1/messages.json")).status_code for _ in range(10)]
            assert statuses == [200] * 9 + [429]
            refused = await client.get("/api/v1/messages/in_thread/1.json")
            assert refused.status_code == 429
            assert 0 < int(refused.headers["retry-after"]) <= 30
    assert log.max_in_window(30, bucket="messages", admitted_only=True) == 10


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_serves_the_demo_network() -> None:
    port = _free_port()
    code = f"from api.simulator.server import run; run('127.0.0.1', {port}, log_level='warning')"
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/api/v1/users/current.json",
                    headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the simulator did not start"
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.json()["email"] == "dana.whitfield@example.com"
    finally:
        process.terminate()
        process.wait(10)


async def test_network_changes_from_two_threads_while_serving() -> None:
    # Live activity mutates in the server's thread; this test mutates and reads in its own.
    network = demo_network(ANCHOR, NOW)
    config = SimulatorConfig(rate_limits_enabled=False, live_activity_seconds=0.001)
    before = len(network.messages)
    with BackgroundServer(create_simulator(network, config)) as server:
        async with httpx.AsyncClient(base_url=server.url, headers=AUTH, timeout=5) as client:
            for n in range(40):
                network.add_message(network.current_user_id, f"From the test thread {n} #change")
                assert network.summary()["messages"] > 0
                page = await client.get("/api/v1/messages.json", params={"threaded": "extended"})
                assert page.status_code == 200
        config.live_activity_seconds = None
    assert len(network.messages) >= before + 40
