"""`campaign serve --workers 2`: two API processes behind one port, one /metrics for both,
stopped by SIGTERM with nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
from prometheus_client.parser import text_string_to_metric_families

from tests import dbs

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = Path(sys.executable).with_name("campaign")
# Asked without a token: refused (UNAUTHENTICATED) without touching the database, and counted
# like any answered operation, by name and outcome, and its error by code.
PROBE = {"query": "query Probe { __typename }", "operationName": "Probe"}


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


def _probe(port: int) -> None:
    response = httpx.post(f"http://127.0.0.1:{port}/graphql", json=PROBE, timeout=10)
    assert response.status_code == 200, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED", response.text


def _probes_counted(port: int) -> tuple[float, float]:
    """What one scrape, answered by whichever worker, says of the probes: how many were
    answered, and how many UNAUTHENTICATED errors there were."""
    scrape = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert scrape.status_code == 200, scrape.text
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(scrape.text)
        for sample in family.samples
    }
    probes = (("operation", "Probe"), ("outcome", "error"))
    return (
        samples.get(("campaign_graphql_requests_total", probes), 0.0),
        samples.get(("campaign_graphql_errors_total", (("code", "UNAUTHENTICATED"),)), 0.0),
    )


def _until(
    done: Callable[[], bool], burst: Callable[[], None], what: str, lines: list[str]
) -> None:
    # The kernel hands each new connection to whichever worker accepts first: ask in bursts
    # until the condition holds (bounded, not timed).
    deadline = time.monotonic() + 120
    while not done():
        assert time.monotonic() < deadline, f"{what}: {''.join(lines)}"
        burst()


def test_two_workers_answer_one_metrics_and_leave_nothing_after_sigterm(
    pg_server: dbs.TestServer, migrated_template: str, tmp_path: Path
) -> None:
    url = pg_server.create(template=migrated_template)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env |= {"DATABASE_URL": url, "TMPDIR": str(tmp_path)}  # where serve makes its metrics folder
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(
        [str(CAMPAIGN), "serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Its own process group: whatever happens here, the finally below can end every
        # process of it (workers outlive a killed parent, and would hold the output pipe open).
        start_new_session=True,
    )
    lines: list[str] = []
    # Drained all along: a full pipe would block the servers' logging.
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        seen: set[int] = set()
        group: set[int] = set()
        with ThreadPoolExecutor(8) as pool:

            def ask_pids() -> None:
                assert process.poll() is None, "".join(lines)
                seen.update(pid for pid in pool.map(_pid, [port] * 16) if pid is not None)

            _until(lambda: len(seen) >= 2, ask_pids, f"answered only from {seen}", lines)
            [folder] = tmp_path.glob("campaign-metrics-*")
            # Each worker writes its counters in its own file of the shared folder (named for
            # its pid) once it has counted a GraphQL request: probe until both have.
            asked = 0

            def probe() -> None:
                nonlocal asked
                list(pool.map(_probe, [port] * 16))
                asked += 16

            def both_counted() -> bool:
                return all((folder / f"counter_{pid}.db").exists() for pid in seen)

            _until(both_counted, probe, f"not every worker of {seen} counted", lines)
            assert _probes_counted(port) == (asked, asked)
            assert _probes_counted(port) == (asked, asked)  # whichever worker answers

        group = _group(process.pid)
        assert seen <= group, (seen, group)
        # The supervisor holds nothing of the app (api/supervisor.py): none of its compiled
        # libraries is mapped into it.
        maps = Path(f"/proc/{process.pid}/maps").read_text()
        for library in ("pydantic_core", "sqlalchemy", "asyncpg", "cryptography"):
            assert f"/{library}/" not in maps, library
        # Each worker logs through the command's set-up (api/logs.py), as one process does
        # (the reader thread may still be behind the pipe: polled, bounded).
        started = [f"Started server process [{pid}]" for pid in seen]
        deadline = time.monotonic() + 60
        while not all(any(s in line for line in list(lines)) for s in started):
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, "".join(lines)
        # The workers are gone as soon as serve is: it waited for them.
        assert not _alive(seen), "".join(lines)
        # multiprocessing's resource tracker leaves when it reads that serve has gone: soon.
        _, left = psutil.wait_procs(_processes(group), timeout=30)
        assert not left, left
        assert not folder.exists()
    finally:
        if process.poll() is None:
            group = _group(process.pid)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        for pid in _alive(group):  # only when the test failed: it asserts there are none
            os.kill(pid, signal.SIGKILL)
        reader.join(timeout=30)
        # Closing a pipe another thread still reads blocks until that read ends: only close
        # what the reader has finished with.
        if process.stdout is not None and not reader.is_alive():
            process.stdout.close()
        pg_server.drop(url)


def _group(pid: int) -> set[int]:
    """The server's processes: itself, its workers and multiprocessing's helper."""
    return {pid} | {child.pid for child in psutil.Process(pid).children(recursive=True)}


def _processes(pids: set[int]) -> list[psutil.Process]:
    """Those of ``pids`` still running (a zombie has exited; its parent reaps it)."""
    alive = []
    for pid in pids:
        try:
            process = psutil.Process(pid)
            if process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.NoSuchProcess:
            pass
    return alive


def _alive(pids: set[int]) -> set[int]:
    return {process.pid for process in _processes(pids)}
