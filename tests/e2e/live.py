"""Processes for the live-activity tests: API servers (uvicorn, each its own process on a
free port, on the test's database) and the npm graphql-ws client (tests/js/subscribe.mjs).

Both are read line by line in background threads, so a test waits for what it expects with a
bounded poll and never sleeps for a fixed time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

JS = Path(__file__).resolve().parents[1] / "js"
ACTIVITY = Path(__file__).resolve().parents[1] / "contract/operations/web/CampaignActivity.graphql"
WAIT = 30.0  # generous: a bound for a busy machine, not a speed claim


def node_ready() -> str:
    """The node binary, with tests/js's packages installed from its lock file."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("node and npm are needed for the graphql-ws client tests")
    if not (JS / "node_modules" / "graphql-ws").exists():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=JS, check=True, capture_output=True
        )
    return node


class Lines:
    """A process whose output lines are collected as they come."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: list[tuple[float, str]] = []  # (monotonic time seen, line)
        self.errors: list[str] = []
        self._lock = threading.Lock()
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self._streams = (self.process.stdout, self.process.stderr)
        self._readers = [
            threading.Thread(target=self._read, args=(stream, into), daemon=True)
            for stream, into in ((self.process.stdout, self.lines), (self.process.stderr, None))
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any, into: list[tuple[float, str]] | None) -> None:
        for line in stream:
            with self._lock:
                if into is not None:
                    into.append((time.monotonic(), line.rstrip("\n")))
                else:
                    self.errors.append(line.rstrip("\n"))

    def wait_for(self, found: Callable[[], Any], what: str, seconds: float = WAIT) -> Any:
        deadline = time.monotonic() + seconds
        while True:
            result = found()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}:\n{self.output()}")
            time.sleep(0.01)

    def output(self) -> str:
        with self._lock:
            return "\n".join([line for _, line in self.lines] + self.errors[-40:])

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        for reader in self._readers:
            reader.join(10)
        for stream in self._streams:
            stream.close()


class Client(Lines):
    """The npm graphql-ws client subscribed to one operation; its messages as JSON."""

    def __init__(
        self,
        node: str,
        url: str,
        params: dict[str, Any],
        variables: dict[str, Any],
        document: Path = ACTIVITY,
        socket_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            [node, str(JS / "subscribe.mjs"), url, str(document), json.dumps(variables),
             json.dumps(params), json.dumps(socket_options or {})]
        )  # fmt: skip

    def messages(self) -> list[tuple[float, dict[str, Any]]]:
        with self._lock:
            lines = list(self.lines)
        return [(at, json.loads(line)) for at, line in lines if line.startswith("{")]

    def events(self) -> list[tuple[float, dict[str, Any]]]:
        return [
            (at, m["payload"]["data"]["campaignActivity"])
            for at, m in self.messages()
            if m["type"] == "next" and m["payload"].get("data")
        ]

    def refused(self) -> list[dict[str, Any]] | None:
        """The errors of the first ``error`` message (an operation refused before it ran)."""
        return next((m["errors"] for _, m in self.messages() if m["type"] == "error"), None)

    def closed(self) -> dict[str, Any] | None:
        return next((m for _, m in self.messages() if m["type"] == "closed"), None)

    def connected(self) -> bool:
        return any(m["type"] == "connected" for _, m in self.messages())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server(Lines):
    """An API process (``tests/e2e/live.py`` run as a script) on a free port."""

    def __init__(self, database_url: str, secret: str, **settings: str) -> None:
        self.port = free_port()
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": database_url,
                "CAMPAIGN_DATABASE_URL": database_url,
                "CAMPAIGN_ENVIRONMENT": "test",
                "CAMPAIGN_JWT_SECRET": secret,
                "CAMPAIGN_PUBLIC_URL": "http://campaign.test",
            }
        )
        env.update({f"CAMPAIGN_{k.upper()}": v for k, v in settings.items()})
        super().__init__([sys.executable, __file__, str(self.port)], env=env)
        deadline = time.monotonic() + WAIT
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the API process did not start:\n{self.output()}")
            time.sleep(0.05)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def logged(self, text: str) -> bool:
        with self._lock:
            return any(text in line for line in self.errors)


def _serve(port: int) -> None:
    import logging

    from api.app import create_app
    from api.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    # No keep-alive pings: a test pauses a client, which must be dropped as too slow, not
    # closed for a missed pong first.
    uvicorn.run(
        create_app(Settings()),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws_ping_interval=None,
    )


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
