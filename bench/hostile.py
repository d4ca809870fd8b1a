"""Legitimate contract traffic alone and beside a stream of hostile documents (issue 9).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/hostile.py [--seconds 15 | --requests 2000] [--hostile-tasks 4]

Creates a scratch database on that server (dropped afterwards), migrates it and seeds the
demo, then starts the service as users run it: `campaign serve` (uvicorn) on a free loopback
port, in the production environment. Legitimate traffic is the contract operations, each as
the role that sends it, at concurrency 8. It runs four times, interleaved A B A B: A alone, B
while ``--hostile-tasks`` tasks send hostile documents, as fast as they can or
``--hostile-rate`` a second each. They run in their own process, so their client work does not
stall the legitimate client's event loop; both share the machine's cores with the server.

The per-principal query budgets (CAMPAIGN_QUERY_BUDGET_*) are raised far above their defaults
so the benchmark measures serving, not throttling; the cost limit per operation is the default.
Every hostile request must be refused (4xx or a refusal code), none may be a 5xx.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.auth import create_api_key, issue_token  # noqa: E402
from api.db.session import Database  # noqa: E402
from api.domain.enums import Role  # noqa: E402
from api.seed.demo import seed_demo  # noqa: E402
from api.settings import Settings  # noqa: E402
from bench.scratch import scratch_database  # noqa: E402
from tests.conftest import DEMO_ANCHOR  # noqa: E402

OPS = ROOT / "tests" / "contract" / "operations"
SECRET = "bench-hostile-secret-long-enough-for-hs256-0123456789"
RANGE = {"since": f"{DEMO_ANCHOR}T00:00:00Z", "until": "2026-10-26T00:00:00Z"}
BUDGETS = {f"CAMPAIGN_QUERY_BUDGET_{r}": "100000000" for r in ("ADMIN", "MANAGER", "MEMBER", "LMS")}
BUDGETS |= {f"{k}_RESTORE": "10000000" for k in list(BUDGETS)}

# Hostile documents (tests/e2e/test_defence.py, test_query_cost.py); name -> (body, anonymous)
_CHAIN = ["topics(first: 1)", "nodes", "campaign"]
DEEP = "{ " + " { ".join(_CHAIN[i % 3] for i in range(12)) + " { id" + " }" * 12 + " }"
WIDE = (
    "{ resources(first: 1) { nodes { ...R0 } } } "
    + " ".join(
        f"fragment R{i} on Resource {{ id series {{ ...R{i + 1} }} episodes {{ ...R{i + 1} }} }}"
        for i in range(8)
    )
    + " fragment R8 on Resource { id title }"
)
OVER_COST = """{ topics(first: 20) { nodes { posts(first: 100) { nodes { replies(first: 20) {
  nodes { author { posts(first: 20) { nodes { id body } } } } } } } } } }"""
ALIASES = "{ " + " ".join(f"t{i}: topics {{ totalCount }}" for i in range(40)) + " }"
PAD = "x" * 2_000_000  # over the 1 MB body limit
HOSTILE: dict[str, tuple[dict[str, Any], bool]] = {
    "13 levels deep": ({"query": DEEP}, False),
    "wide fragment fan-out": ({"query": WIDE}, False),
    "1,249 repeated fields": ({"query": "{ topics { nodes { " + "id " * 1249 + "} } }"}, False),
    "40 aliases": ({"query": ALIASES}, False),
    "~2 MB body": ({"query": "{ topics { totalCount } }", "variables": {"pad": PAD}}, False),
    "anonymous": ({"query": "{ topics(first: 5) { nodes { id hashtag } } }"}, True),
    "cost far over max": ({"query": OVER_COST}, False),
}


def _code(response: httpx.Response) -> str:
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return "(not JSON)"
    return errors[0].get("extensions", {}).get("code", "-") if errors else "-"


def bearer(base: str, role: Role, subject: str) -> dict[str, str]:
    settings = Settings(
        environment="production", database_url="postgresql://unused/x", jwt_secret=SECRET,
        public_url=base,
    )  # fmt: skip
    return {"Authorization": f"Bearer {issue_token(settings, role, subject)}"}


def hostile_process(base: str, tasks: int, rate: float, ready: Any, stop: Any, out: Any) -> None:
    """Send the hostile documents from ``tasks`` tasks until ``stop``; put what was seen."""
    member = bearer(base, Role.MEMBER, "mallory@example.com")
    seen: Counter[tuple[str, int, str]] = Counter()

    async def one(client: httpx.AsyncClient, task: int, began: float) -> None:
        kinds = list(HOSTILE.items())
        for sent in range(10**9):
            if stop.is_set():
                return
            if rate:  # paced: each task sends `rate` documents a second
                await asyncio.sleep(max(0.0, began + sent / rate - time.perf_counter()))
            name, (body, anonymous) = kinds[(task + sent) % len(kinds)]
            try:
                r = await client.post("/graphql", json=body, headers={} if anonymous else member)
                seen[(name, r.status_code, _code(r))] += 1
            except httpx.HTTPError as exc:  # counted as not refused
                seen[(name, 0, type(exc).__name__)] += 1

    async def run() -> float:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            began = time.perf_counter()
            ready.set()  # imported and connected: the legitimate phase may start
            await asyncio.gather(*(one(client, t, began) for t in range(tasks)))
            return time.perf_counter() - began

    seconds = asyncio.run(run())
    out.put((dict(seen), seconds))


async def prepare(url: str, base: str) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    """The legitimate cases: (name, body, headers), each as the role that sends it."""
    db = Database.connect(url)
    try:
        lms = {"X-API-Key": await create_api_key(db, "bench", Role.LMS)}
    finally:
        await db.dispose()
    member = bearer(base, Role.MEMBER, "priya.raman@example.com")
    admin = bearer(base, Role.ADMIN, "admin@example.com")
    query = '{ topic(hashtag: "leadership") { posts(first: 1, orderBy: {field: REPLIES}) { nodes { id } } } }'
    async with httpx.AsyncClient(base_url=base) as client:
        found = (await client.post("/graphql", json={"query": query}, headers=admin)).json()
    post_id = found["data"]["topic"]["posts"]["nodes"][0]["id"]
    raw = [  # variables as in tests/e2e/test_contract_*.py
        ("mobile/TopicFeed", member, {"hashtag": "leadership", "first": 20}),
        ("mobile/PostDetail", member, {"id": post_id}),
        ("web/CampaignDashboard", member, {"slug": "learning-community", **RANGE}),
        ("lms/ResourceLinks", lms, {"hashtag": "leadership"}),
        ("admin/People", admin, {"first": 20, **RANGE}),
    ]
    return [
        (n, {"query": (OPS / f"{n}.graphql").read_text(), "variables": v}, h) for n, h, v in raw
    ]


async def legit(
    base: str, cases: list[Any], seconds: float, requests: int | None
) -> dict[str, Any]:
    """Eight workers send the cases round robin for ``seconds`` (or ``requests`` in all)."""
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    issued = 0
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def worker() -> None:
            nonlocal issued
            while (issued < requests) if requests else (time.perf_counter() < deadline):
                name, body, headers = cases[issued % len(cases)]
                issued += 1
                start = time.perf_counter()
                r = await client.post("/graphql", json=body, headers=headers)
                latencies.append(time.perf_counter() - start)
                if r.status_code != 200 or "errors" in r.json():
                    failures[f"{name}: {r.status_code} {_code(r)}"] += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(8)))
        elapsed = time.perf_counter() - began
    return {"latencies": latencies, "elapsed": elapsed, "failures": failures}


def summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    lat = sorted(x * 1000 for run in runs for x in run["latencies"])
    q = statistics.quantiles(lat, n=100, method="inclusive")
    failed = sum(sum(r["failures"].values()) for r in runs)
    rate = len(lat) / sum(r["elapsed"] for r in runs)
    return {"requests": len(lat), "failed": failed, "req/s": rate,
            "p50": q[49], "p95": q[94], "p99": q[98]}  # fmt: skip


def wait_ready(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"campaign serve exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)  # a bounded poll for the server's start
    sys.exit(f"campaign serve not ready after 60 s:\n{log.read_text()[-3000:]}")


def run_phases(base: str, cases: list[Any], args: argparse.Namespace) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    runs: dict[str, list[dict[str, Any]]] = {"A": [], "B": []}
    hostile: Counter[tuple[str, int, str]] = Counter()
    hostile_seconds = 0.0
    for phase in "ABAB":
        ready, stop, out, proc = ctx.Event(), ctx.Event(), ctx.Queue(), None
        if phase == "B":
            hostile_args = (base, args.hostile_tasks, args.hostile_rate, ready, stop, out)
            proc = ctx.Process(target=hostile_process, args=hostile_args)
            proc.start()
            if not ready.wait(timeout=120):
                sys.exit("the hostile process did not start")
        runs[phase].append(asyncio.run(legit(base, cases, args.seconds, args.requests)))
        if proc is not None:
            stop.set()
            seen, seconds = out.get(timeout=120)
            hostile.update(seen)
            hostile_seconds += seconds
            proc.join()
        print(f"phase {phase}: {len(runs[phase][-1]['latencies'])} requests", file=sys.stderr)
    failures = sum((r["failures"] for rs in runs.values() for r in rs), Counter())
    return {"A": summary(runs["A"]), "B": summary(runs["B"]), "hostile": hostile,
            "hostile_seconds": hostile_seconds, "failures": failures}  # fmt: skip


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    length = f"{args.requests} requests" if args.requests else f"{args.seconds:g} s"
    pace = f"{args.hostile_rate:g}/s each" if args.hostile_rate else "unpaced"
    print(f"\nLegitimate traffic, concurrency 8, {length} per phase, A B A B (query budgets")
    print(f"raised; {args.hostile_tasks} hostile tasks in B, {pace})\n")
    print("| legitimate traffic | requests | failed | req/s | p50 ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, s in (("A: alone", results["A"]), ("B: beside hostile stream", results["B"])):
        print(f"| {label} | {s['requests']} | {s['failed']} | {s['req/s']:.1f} "
              f"| {s['p50']:.0f} | {s['p95']:.0f} | {s['p99']:.0f} |")  # fmt: skip
    hostile: Counter[tuple[str, int, str]] = results["hostile"]
    # A refusal is a 4xx or an answer whose first error carries a refusal code.
    bad = sum(n for (_, status, code), n in hostile.items()
              if not 200 <= status < 500 or code in ("-", "INTERNAL_SERVER_ERROR"))  # fmt: skip
    sent = sum(hostile.values())
    rate = sent / results["hostile_seconds"]
    print(f"\nHostile requests sent: {sent} ({rate:.0f}/s); not refused or 5xx: {bad}\n")
    print("| hostile document | status | code | count |")
    print("|---|---:|---|---:|")
    for (name, status, code), n in sorted(hostile.items()):
        print(f"| {name} | {status} | {code} | {n} |")
    for failure, n in results["failures"].items():
        print(f"legitimate failure: {failure} x{n}")
    if args.json:
        rows = [
            {"document": d, "status": st, "code": c, "count": n}
            for (d, st, c), n in hostile.items()
        ]
        body = {"alone": results["A"], "beside_hostile": results["B"], "hostile": rows}
        args.json.write_text(json.dumps(body, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="per phase")
    parser.add_argument("--requests", type=int, help="per phase, instead of --seconds")
    parser.add_argument("--hostile-tasks", type=int, default=4)
    parser.add_argument(
        "--hostile-rate", type=float, default=0.0, help="per task a second; 0: unpaced"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    with scratch_database() as url, tempfile.TemporaryDirectory() as tmp:
        asyncio.run(seed_demo(url, anchor=DEMO_ANCHOR))
        env = {**os.environ, **BUDGETS, "DATABASE_URL": url, "CAMPAIGN_ENVIRONMENT": "production",
               "CAMPAIGN_JWT_SECRET": SECRET, "CAMPAIGN_PUBLIC_URL": base}  # fmt: skip
        log = Path(tmp) / "serve.log"
        command = [str(Path(sys.executable).parent / "campaign"), "serve", "--port", str(port)]
        with log.open("wb") as out:  # cwd: no stray .env is read
            server = subprocess.Popen(command, env=env, stdout=out, stderr=out, cwd=tmp)
        try:
            wait_ready(base, server, log)
            cases = asyncio.run(prepare(url, base))
            asyncio.run(legit(base, cases, 0, 4 * len(cases)))  # warm the caches and pools
            results = run_phases(base, cases, args)
        finally:
            server.terminate()
            server.wait(timeout=30)
        errors = [line for line in log.read_text().splitlines() if '"ERROR"' in line]  # JSON logs
    report(results, args)
    print(f"\nERROR lines in the server's log: {len(errors)}", *errors[:5], sep="\n")


if __name__ == "__main__":
    main()
