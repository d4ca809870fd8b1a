"""`campaign up` as a newcomer runs it: embedded PostgreSQL, migrations, the bundled microblog
simulator mirrored by the worker, the API."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = Path(sys.executable).with_name("campaign")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Up:
    def __init__(self, data_dir: Path) -> None:
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
        env["CAMPAIGN_DATA_DIR"] = str(data_dir)
        # A short poll and a roomy budget (the simulator gets the same limits) keep this quick.
        env["CAMPAIGN_SYNC_POLL_SECONDS"] = "2"
        env["CAMPAIGN_SYNC_BUDGET_REQUESTS"] = "200"
        self.process = subprocess.Popen(
            [str(CAMPAIGN), "up", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output = ""

    def wait_ready(self, timeout: float = 90) -> str:
        """The admin token printed, once /readyz answers 200."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            self.output += line
            if "Application startup complete" in line:
                break
            assert self.process.poll() is None, self.output
        # The API's socket listens from the start, so this waits in the backlog if need be.
        response = httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=30)
        assert response.status_code == 200, response.text
        match = re.search(r"Admin token: (\S+)", self.output)
        assert match, self.output
        assert f"http://127.0.0.1:{self.port}/graphql" in self.output
        return match.group(1)

    def stop(self, sig: signal.Signals = signal.SIGINT) -> None:
        self.process.send_signal(sig)
        out, _ = self.process.communicate(timeout=60)
        self.output += out
        assert self.process.returncode == 0, self.output


QUERY = """{ campaign(slug: "learning-community") { name topics { totalCount }
  performance(since: "2000-01-01T00:00:00Z", until: "2100-01-01T00:00:00Z") { posts replies } }
  syncStatus { state source requestsInLastWindow } }"""


def _query(up: Up, token: str) -> dict:
    response = httpx.post(
        f"http://127.0.0.1:{up.port}/graphql",
        json={"query": QUERY},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    return response.json()["data"]  # type: ignore[no-any-return]


def _wait_for_posts(up: Up, token: str, timeout: float = 60) -> dict:
    from api.domain import demo_content

    deadline = time.monotonic() + timeout
    while True:
        data = _query(up, token)
        posts = data["campaign"]["performance"]["posts"]
        if posts >= len(demo_content.POSTS) or time.monotonic() > deadline:
            return data
        time.sleep(1)


def _new_activity_appears(up: Up, token: str) -> None:
    """A post made on the microblog shows in GraphQL after the next poll (2 s here)."""
    match = re.search(r"Simulated microblog: (\S+)", up.output)
    assert match, up.output
    httpx.post(
        f"{match.group(1)}/_sim/activity",
        json={"action": "post", "body": "Fresh from the microblog #leadership"},
        timeout=5,
    ).raise_for_status()
    query = '{ posts(first: 1, filter: {text: "fresh microblog"}) { nodes { body } } }'
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        response = httpx.post(
            f"http://127.0.0.1:{up.port}/graphql",
            json={"query": query},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        if response.json()["data"]["posts"]["nodes"]:
            return
        time.sleep(0.5)
    raise AssertionError("the new post did not arrive")


def test_campaign_up_mirrors_the_simulator_and_reuses_its_data(tmp_path: Path) -> None:
    from api.domain import demo_content

    data_dir = tmp_path / "data"
    first = Up(data_dir)
    try:
        token = first.wait_ready()
        data = _wait_for_posts(first, token)
        _new_activity_appears(first, token)
        page = httpx.get(f"http://127.0.0.1:{first.port}/graphql", headers={"Accept": "text/html"})
        assert "graphiql" in page.text.lower()
    finally:
        first.stop()
    assert data["campaign"]["name"] == "Learning Community Launch"
    assert data["campaign"]["topics"]["totalCount"] == 4
    # Every demo post came through the worker from the simulator (plus any live activity).
    assert data["campaign"]["performance"]["posts"] >= len(demo_content.POSTS)
    assert data["syncStatus"]["source"].startswith("simulator http://127.0.0.1:")
    assert data["syncStatus"]["state"] in ("SYNCING", "IDLE")
    assert data["syncStatus"]["requestsInLastWindow"] > 0  # live from the worker's budget
    # Stopped cleanly: the embedded server is gone with the command.
    assert not list(data_dir.rglob("postmaster.pid"))

    second = Up(data_dir)
    try:
        token = second.wait_ready()
        again = _wait_for_posts(second, token)
    finally:
        second.stop(signal.SIGTERM)  # as docker stop or systemd would
    assert not list(data_dir.rglob("postmaster.pid"))
    # Same network, same dates: nothing seeded twice, nothing mirrored twice.
    assert again["campaign"]["topics"]["totalCount"] == 4
    assert again["campaign"]["performance"]["posts"] >= data["campaign"]["performance"]["posts"]
    assert again["campaign"]["performance"]["posts"] <= data["campaign"]["performance"]["posts"] + 5


def test_campaign_up_refuses_a_port_in_use_before_starting_anything(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
        env["CAMPAIGN_DATA_DIR"] = str(tmp_path / "data")
        result = subprocess.run(
            [str(CAMPAIGN), "up", "--port", str(port)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert not (tmp_path / "data").exists()  # no database was started for nothing
