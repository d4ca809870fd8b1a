"""The analytics operations on a baseline commit (scanning posts) and on this tree (rollups).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.rollups --posts 100000 --baseline ccb2b44

Builds the bench network (bench.contract_setup: the demo plus --people/--posts generated) in a
scratch database migrated by this tree, serves it with `campaign serve --workers 1` twice: this
tree, and the --baseline commit's code (``git archive`` into a temporary folder, first on
PYTHONPATH; it ignores the rollup tables).  Checks both answer every case alike, then sends
each case one request at a time (c=1) for --duration seconds, the servers interleaved round by
round, and prints req/s and p50/p95 latency with the ratio.  Also times, in process, the
campaign's performance figures alone: the one scanning statement and the rollup statement.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from api.analytics import performance, rollups
from api.db.repositories.scopes import Scope
from api.db.session import Database
from api.domain.enums import Role
from bench.contract_cases import OPS, SLUG
from bench.contract_setup import BUDGETS, headers_for, lookups, prepare
from bench.scratch import scratch_database
from bench.servers import ROOT, Server, free_port

CAMPAIGN = Path(sys.executable).with_name("campaign")
OPERATIONS = {
    "CampaignDashboard": ("web/CampaignDashboard.graphql", "ADMIN"),
    "ContentMix": ("web/ContentMix.graphql", "MEMBER"),
    "ManagerLeaderboard": ("web/ManagerLeaderboard.graphql", "MANAGER"),
}


def baseline_tree(ref: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="bench-rollups-base-"))
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def timed(url: str, body: dict[str, Any], headers: dict[str, str], duration: float) -> list[float]:
    """Latencies (ms) of one-at-a-time requests for ``duration`` seconds."""
    out: list[float] = []
    with httpx.Client(timeout=300) as client:
        stop = time.monotonic() + duration
        while time.monotonic() < stop or len(out) < 3:
            start = time.perf_counter()
            response = client.post(url, json=body, headers=headers)
            out.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200 or response.json().get("errors"):
                raise RuntimeError(response.text[:500])
    return out


async def statement_times(url: str, since: Any, until: Any, repeat: int) -> dict[str, float]:
    """Median ms of the campaign's performance figures (active authors too), each way."""
    db = Database.connect(url, pool_size=1)
    out: dict[str, list[float]] = {"scan": [], "rollups": []}
    try:
        async with db.reading() as session:
            campaign = await session.scalar(
                sa.text("SELECT id FROM campaign WHERE slug = :s"), {"s": SLUG}
            )
            for _ in range(repeat):
                for name, fn in (("scan", performance.scan_totals), ("rollups", rollups.totals)):
                    start = time.perf_counter()
                    await fn(session, Scope.CAMPAIGN, [campaign], since, until, None, True)
                    out[name].append((time.perf_counter() - start) * 1000)
    finally:
        await db.dispose()
    return {k: statistics.median(v) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=8_000)
    parser.add_argument("--baseline", default="HEAD~1", help="the commit to compare with")
    parser.add_argument("--duration", type=float, default=5, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    args = parser.parse_args()

    base = baseline_tree(args.baseline)
    logs = Path(tempfile.mkdtemp(prefix="bench-rollups-"))
    with scratch_database() as url:
        print(f"generating {args.people} people, {args.posts} posts", file=sys.stderr)
        _, settings, lms_key, env = prepare(url, args.people, args.posts)
        env.update(BUDGETS)
        running = []
        for name, cwd, extra in (
            ("rollups", ROOT, {}),
            (f"baseline {args.baseline}", base, {"PYTHONPATH": str(base)}),
        ):
            port = free_port()
            command = [str(CAMPAIGN), "serve", "--port", str(port), "--workers", "1"]
            running.append(Server(name, command, port, logs, env={**env, **extra}, cwd=cwd))
        try:
            for server in running:
                server.start()
            for server in running:
                server.wait_ready()
            found = asyncio.run(lookups(url, running[0].url, settings, [], 1))
            # As the dashboard asks (whole days), and with bounds inside days (edge scans).
            spans = {
                "aligned": (found.since, found.until),
                "unaligned": (
                    found.since + timedelta(hours=5, minutes=13),
                    found.until - timedelta(hours=7),
                ),
            }
            rows = []
            for label, (path, role) in OPERATIONS.items():
                for span, (since, until) in spans.items():
                    body = {
                        "query": (OPS / path).read_text(),
                        "variables": {
                            "slug": SLUG,
                            "since": since.isoformat(),
                            "until": until.isoformat(),
                        },
                        "operationName": label,
                    }
                    headers = headers_for(Role[role], settings, lms_key)
                    answers = [
                        httpx.post(s.url, json=body, headers=headers, timeout=300).json()
                        for s in running
                    ]
                    same = all(a == answers[0] for a in answers) and not answers[0].get("errors")
                    latencies: dict[str, list[float]] = {s.name: [] for s in running}
                    for _ in range(args.rounds):
                        for server in running:
                            latencies[server.name] += timed(
                                server.url, body, headers, args.duration
                            )
                    rows.append((label, span, same, latencies))
                    print(f"{label} {span}: same answers {same}", file=sys.stderr)
            figures = asyncio.run(statement_times(url, found.since, found.until, 7))
        finally:
            for server in running:
                server.stop()

    print(f"\n{args.posts} posts, {args.people} people; c=1, {args.rounds}x{args.duration}s\n")
    names = [s.name for s in running]
    print(
        "| operation | range | same answers | "
        + " | ".join(f"{n} p50 ms | {n} req/s" for n in names)
        + " | p50 ratio |"
    )
    print("|---" * (4 + 2 * len(names)) + "|")
    for label, span, same, latencies in rows:
        cells = []
        p50 = {}
        for n in names:
            values = latencies[n]
            p50[n] = statistics.median(values)
            cells += [f"{p50[n]:.1f}", f"{1000 / statistics.mean(values):.1f}"]
        ratio = p50[names[1]] / p50[names[0]]
        print(f"| {label} | {span} | {same} | " + " | ".join(cells) + f" | {ratio:.1f}x |")
    print(
        f"\nCampaign performance figures alone (in process, median of 7): "
        f"scan {figures['scan']:.1f} ms, rollups {figures['rollups']:.1f} ms"
    )


if __name__ == "__main__":
    main()
