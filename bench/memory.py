"""What `campaign serve --workers N` holds in memory, process by process: RSS, PSS and USS.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.memory \
        --database cg_bench_keep_300000posts_20000people_s1_g53036d55 --baseline /tmp/base

Serves an existing network database (one `bench.contract --keep` made: this bench creates an
LMS key on it and nothing else, so it may run beside other benchmarks) with this checkout and,
with --baseline, another checkout of the project (its source folder, run by this checkout's
virtualenv), both at once.  Reads /proc/PID/smaps_rollup of each server's processes (the
supervisor, its workers, multiprocessing's resource tracker) three times: once the server
answers ("started"), after one request of each contract operation ("warm"), and the peak while
autocannon loads each operation in turn at --concurrency, the checkouts interleaved operation by
operation (A B, A B).  RSS counts the pages a process maps, shared ones (the interpreter, the
libraries) in every process that maps them: summed over processes it overstates what they hold
together.  PSS divides each shared page among its sharers, so the PSS sum is what the server
costs the machine; USS is what a process holds alone (what ending it would free).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from api.auth import create_api_key
from api.db.session import Database
from api.domain.enums import Role
from api.settings import Settings
from bench.contract_cases import Case, cases
from bench.contract_setup import BUDGETS, PUBLIC_URL, headers_for, lookups
from bench.servers import ROOT, Server, free_port, load, node, npm_ci

CAMPAIGN = Path(sys.executable).with_name("campaign")
FIELDS = ("Rss", "Pss", "Private_Clean", "Private_Dirty")


def smaps(pid: int) -> dict[str, int] | None:
    """RSS, PSS and USS of one process in bytes (None once it has gone)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    kb = {}
    for line in text.splitlines()[1:]:
        name, _, rest = line.partition(":")
        if name in FIELDS:
            kb[name] = int(rest.split()[0])
    return {
        "rss": kb["Rss"] * 1024,
        "pss": kb["Pss"] * 1024,
        "uss": (kb["Private_Clean"] + kb["Private_Dirty"]) * 1024,
    }


def role(process: psutil.Process, root: int) -> str:
    if process.pid == root:
        return "supervisor"
    command = " ".join(process.cmdline())
    if "resource_tracker" in command:
        return "resource tracker"
    return "worker"


def snapshot(server: Server) -> dict[str, dict[str, int]]:
    """Each process of the server: {"supervisor": {...}, "worker 1": {...}, ...}."""
    assert server.process is not None
    root = psutil.Process(server.process.pid)
    found: dict[str, dict[str, int]] = {}
    workers = 0
    for process in [root, *sorted(root.children(recursive=True), key=lambda p: p.pid)]:
        name = role(process, root.pid)
        if name == "worker":
            workers += 1
            name = f"worker {workers}"
        figures = smaps(process.pid)
        if figures is not None:
            found[name] = figures
    found["sum"] = {k: sum(v[k] for v in found.values()) for k in ("rss", "pss", "uss")}
    return found


class Peaks:
    """The largest figure of each process (and of the sums) while a block runs."""

    def __init__(self, server: Server, peaks: dict[str, dict[str, int]]) -> None:
        self.server, self.peaks = server, peaks
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _take(self) -> None:
        for name, figures in snapshot(self.server).items():
            kept = self.peaks.setdefault(name, dict.fromkeys(figures, 0))
            for k, v in figures.items():
                kept[k] = max(kept[k], v)

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self._take()

    def __enter__(self) -> Peaks:
        self._take()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._take()


@dataclass
class Checkout:
    name: str
    source: Path
    server: Server | None = None
    stages: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)


def _lms_key(url: str) -> str:
    async def create() -> str:
        db = Database.connect(url, pool_size=1)
        try:
            return await create_api_key(db, "bench-memory", Role.LMS)
        finally:
            await db.dispose()

    return asyncio.run(create())


def _request(server: Server, case: Case, headers: dict[str, str]) -> None:
    import httpx

    response = httpx.post(server.url, json=case.body(), headers=headers, timeout=300)
    answer = response.json()
    if response.status_code != 200 or answer.get("errors"):
        raise RuntimeError(f"{server.name} {case.label}: {json.dumps(answer)[:500]}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    base = os.environ.get("DATABASE_URL") or sys.exit("Set DATABASE_URL to a PostgreSQL server.")
    url = base.rsplit("/", 1)[0] + "/" + args.database
    node_bin = node()
    npm_ci(node_bin, postgraphile4=False)
    secret = "bench-memory-" + os.urandom(16).hex()
    settings = Settings(
        environment="development", database_url=url, jwt_secret=secret, public_url=PUBLIC_URL
    )
    lms_key = _lms_key(url)
    env = {
        "DATABASE_URL": url,
        "CAMPAIGN_JWT_SECRET": secret,
        "CAMPAIGN_ENVIRONMENT": "development",
        "CAMPAIGN_PUBLIC_URL": PUBLIC_URL,
        "CAMPAIGN_DB_POOL_SIZE": str(args.pool),
        "CAMPAIGN_RESPONSE_CACHE_BYTES": "0",
        **BUDGETS,
        **({"MALLOC_ARENA_MAX": args.arenas} if args.arenas else {}),
    }
    logs = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    checkouts = [Checkout("this", ROOT)]
    if args.baseline:
        checkouts.append(Checkout("baseline", args.baseline.resolve()))
    for checkout in checkouts:
        port = free_port()
        checkout.server = Server(
            checkout.name,
            [str(CAMPAIGN), "serve", "--port", str(port), "--workers", str(args.workers)],
            port,
            logs,
            # The checkout's source first: the virtualenv's `campaign` runs either one.
            env={**env, "PYTHONPATH": str(checkout.source)},
            cwd=checkout.source,
        )
    servers = [c.server for c in checkouts if c.server is not None]
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_ready()
        for checkout in checkouts:
            assert checkout.server is not None
            checkout.stages["started"] = snapshot(checkout.server)
        found = asyncio.run(lookups(url, servers[0].url, settings, [], args.deep))
        chosen = [c for c in cases(found) if not args.only or c.label in args.only]
        headers = {c.label: headers_for(c.role, settings, lms_key) for c in chosen}
        for checkout in checkouts:
            assert checkout.server is not None
            for case in chosen:
                _request(checkout.server, case, headers[case.label])
            checkout.stages["warm"] = snapshot(checkout.server)
        for checkout in checkouts:
            checkout.stages["load peak"] = {}
        for case in chosen:
            for connections in args.concurrency:
                for checkout in checkouts:  # interleaved: A B, A B
                    assert checkout.server is not None
                    with Peaks(checkout.server, checkout.stages["load peak"]):
                        result = load(
                            node_bin,
                            checkout.server.url,
                            case.body(),
                            headers[case.label],
                            connections,
                            args.duration,
                        )
                    print(
                        f"{case.label} c={connections} {checkout.name}: {result['rps']:.1f} req/s",
                        file=sys.stderr,
                    )
        for checkout in checkouts:
            assert checkout.server is not None
            checkout.stages["after load"] = snapshot(checkout.server)
    finally:
        for server in servers:
            server.stop()
    return {
        "database": args.database,
        "workers": args.workers,
        "arenas": args.arenas,
        "operations": [c.label for c in chosen],
        "checkouts": {c.name: {"source": str(c.source), "stages": c.stages} for c in checkouts},
        "logs": str(logs),
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"`campaign serve --workers {report['workers']}` on {report['database']}"
        + (f", MALLOC_ARENA_MAX={report['arenas']}" if report["arenas"] else "")
        + "; MB (2^20 bytes)",
        "",
        "| stage | process | checkout | RSS | PSS | USS |",
        "|---|---|---|---:|---:|---:|",
    ]
    checkouts = report["checkouts"]
    first = next(iter(checkouts.values()))
    for stage, processes in first["stages"].items():
        for process in processes:
            for name, checkout in checkouts.items():
                figures = checkout["stages"].get(stage, {}).get(process)
                if figures is None:
                    continue
                mb = [f"{figures[k] / 2**20:.1f}" for k in ("rss", "pss", "uss")]
                lines.append(f"| {stage} | {process} | {name} | {' | '.join(mb)} |")
    return "\n".join(lines) + "\n"


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a network database on DATABASE_URL")
    parser.add_argument("--baseline", type=Path, help="another checkout's folder, side by side")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=_ints, default=[1, 32], help="e.g. 1,32")
    parser.add_argument("--duration", type=float, default=4, help="seconds per load run")
    parser.add_argument("--pool", type=int, default=5, help="database pool per process")
    parser.add_argument("--deep", type=int, default=1000, help="the deep page starts here")
    parser.add_argument("--only", nargs="*", help="operation labels to run")
    parser.add_argument("--arenas", help="MALLOC_ARENA_MAX for both servers (default: unset)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "memory")
    args = parser.parse_args()
    report = run(args)
    table = markdown(report)
    print(table)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(json.dumps(report, indent=1))
    args.output.with_suffix(".md").write_text(table)


if __name__ == "__main__":
    main()
