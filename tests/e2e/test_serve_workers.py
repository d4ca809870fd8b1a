"""`campaign serve --workers 2`: two API processes behind one port, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

from tests import dbs

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = Path(sys.executable).with_name("campaign")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pid(port: int) -> int | None:
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
    except httpx.TransportError:
        return None  # not listening yet
    assert response.status_code == 200, response.text
    return int(response.headers["X-Process-Id"])


def test_serve_with_two_workers_answers_from_two_processes_and_stops_on_sigterm(
    pg_server: dbs.TestServer,
) -> None:
    url = pg_server.create()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env["DATABASE_URL"] = url
    process = subprocess.Popen(
        [str(CAMPAIGN), "serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    # Drained all along: a full pipe would block the servers' logging.
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        seen: set[int] = set()
        deadline = time.monotonic() + 120
        # Each request is a new connection; the kernel hands connections to whichever worker
        # accepts first, so ask in bursts until both have answered (bounded, not timed).
        with ThreadPoolExecutor(8) as pool:
            while len(seen) < 2:
                assert process.poll() is None, "".join(lines)
                assert time.monotonic() < deadline, f"answered only from {seen}: {''.join(lines)}"
                seen |= {pid for pid in pool.map(_pid, [port] * 16) if pid is not None}
        children = {child.pid for child in psutil.Process(process.pid).children(recursive=True)}
        assert seen <= children, (seen, children)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, "".join(lines)
        reader.join(timeout=10)
        for pid in seen:
            assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        reader.join(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
        pg_server.drop(url)
