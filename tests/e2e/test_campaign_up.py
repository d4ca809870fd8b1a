"""`campaign up` as a newcomer runs it: embedded PostgreSQL, migrations, demo data, the API."""

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
        response = httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=5)
        assert response.status_code == 200, response.text
        match = re.search(r"Admin token: (\S+)", self.output)
        assert match, self.output
        assert f"http://127.0.0.1:{self.port}/graphql" in self.output
        return match.group(1)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        out, _ = self.process.communicate(timeout=60)
        self.output += out
        assert self.process.returncode == 0, self.output


def test_campaign_up_serves_the_demo_and_reuses_its_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = Up(data_dir)
    try:
        token = first.wait_ready()
        response = httpx.post(
            f"http://127.0.0.1:{first.port}/graphql",
            json={
                "query": '{ campaign(slug: "learning-community") { name topics { totalCount } } }'
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.json() == {
            "data": {"campaign": {"name": "Learning Community Launch", "topics": {"totalCount": 4}}}
        }
        page = httpx.get(f"http://127.0.0.1:{first.port}/graphql", headers={"Accept": "text/html"})
        assert "graphiql" in page.text.lower()
    finally:
        first.stop()
    assert "Loaded the demo campaign" in first.output
    # Stopped cleanly: the embedded server is gone with the command.
    assert not list(data_dir.rglob("postmaster.pid"))

    second = Up(data_dir)
    try:
        second.wait_ready()
    finally:
        second.stop()
    assert "Loaded the demo campaign" not in second.output
