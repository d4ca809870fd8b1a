"""This checkout against another (a base commit's), on the contract's operations, side by side.

    git worktree add /tmp/base <commit> && python3 -m venv /tmp/base/.venv \\
        && /tmp/base/.venv/bin/pip install -q -c /tmp/base/requirements/constraints.txt -e /tmp/base
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.versus \\
        --baseline /tmp/base --posts 20000 --only TopicFeed PostDetail ResourceLinks

Creates a scratch database (dropped afterwards) with the demo and a generated network, serves
it with `campaign serve --workers 1` from each checkout (each its own .venv, same settings and
pool), checks both answer each operation alike, then loads them in turn, A B A B, with the
same client (``--concurrency`` keep-alive connections for ``--duration`` seconds, a Python
load loop: slower than autocannon, but the same for both). Per run: req/s, p50/p95 latency,
and the SQL statements per request, from each server's /metrics
(``campaign_graphql_sql_statements``, counted in process). Prints a Markdown table of medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.contract_cases import cases
from bench.contract_setup import BUDGETS, configure, headers_for, lookups
from bench.kept_network import KEEP_HELP, network_database
from bench.servers import ROOT, Server, free_port
from bench.timing import interleaved, median, percentile, round_trips

_SUM = re.compile(r"^campaign_graphql_sql_statements_sum(?:\{[^}]*\})? (\S+)$", re.M)
_COUNT = re.compile(r"^campaign_graphql_sql_statements_count(?:\{[^}]*\})? (\S+)$", re.M)


def _campaign(checkout: Path) -> str:
    return str(checkout / ".venv" / "bin" / "campaign")


def statements(server: Server) -> tuple[float, float]:
    """The server's statement histogram so far: (statements, requests)."""
    text = httpx.get(server.url.replace("/graphql", "/metrics"), timeout=30).text
    total = sum(float(m) for m in _SUM.findall(text))
    count = sum(float(m) for m in _COUNT.findall(text))
    return total, count


async def _load(
    url: str, body: dict[str, Any], headers: dict[str, str], connections: int, duration: float
) -> dict[str, Any]:
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        deadline = time.perf_counter() + duration

        async def worker() -> None:
            nonlocal failures
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                try:
                    response = await client.post(url, json=body, headers=headers)
                except httpx.HTTPError:
                    failures += 1
                    continue
                if response.status_code != 200 or b'"errors"' in response.content:
                    failures += 1
                latencies.append(time.perf_counter() - start)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float | None:
        found = percentile(latencies, p)
        return None if found is None else found * 1000

    return {
        "rps": len(latencies) / elapsed,
        "p50": pct(0.50),
        "p95": pct(0.95),
        "failures": failures,
    }


Report = dict[tuple[str, int, str], dict[str, Any]]


def run(args: argparse.Namespace) -> tuple[Report, dict[str, Any]]:
    logs = Path(tempfile.mkdtemp(prefix="bench-versus-"))
    checkouts = {"base": args.baseline.resolve(), "this": ROOT}
    with network_database(args.people, args.posts, keep=args.keep) as (url, _):
        settings, lms_key, env = configure(url)
        # Without the response cache (a checkout that has one would answer repeats from it):
        # this compares what executing a request costs.
        env = {
            **env,
            **BUDGETS,
            "CAMPAIGN_DB_POOL_SIZE": str(args.pool),
            "CAMPAIGN_RESPONSE_CACHE_BYTES": "0",
        }
        running = [
            Server(
                name,
                [_campaign(path), "serve", "--port", str(port), "--workers", "1"],
                port,
                logs,
                env=env,
                cwd=path,
            )
            for name, path in checkouts.items()
            for port in [free_port()]
        ]
        try:
            for server in running:
                server.start()
            for server in running:
                server.wait_ready()
            found = asyncio.run(lookups(url, running[1].url, settings, [], args.deep))
            chosen = [c for c in cases(found) if not args.only or c.label in args.only]
            spec = {
                "database_url": url,
                "jwt_secret": settings.jwt_secret.get_secret_value(),
                "public_url": settings.public_url,
                "cases": [
                    {
                        "label": c.label,
                        "body": c.body(),
                        "headers": headers_for(c.role, settings, lms_key),
                    }
                    for c in chosen
                ],
            }
            wire = {name: round_trips(path, spec) for name, path in checkouts.items()}
            print(f"wire: {json.dumps(wire)}", file=sys.stderr)
            by_label = {c.label: c for c in chosen}
            checked: set[str] = set()

            def check(key: tuple[str, int]) -> None:
                label = key[0]
                if label in checked:
                    return
                checked.add(label)
                case = by_label[label]
                headers = headers_for(case.role, settings, lms_key)
                answers = [
                    httpx.post(s.url, json=case.body(), headers=headers, timeout=300).json()
                    for s in running
                ]
                for server, answer in zip(running, answers, strict=True):
                    if answer.get("errors"):
                        raise RuntimeError(
                            f"{server.name} {case.label}: {json.dumps(answer)[:500]}"
                        )
                same = answers[0]["data"] == answers[1]["data"]
                print(f"{case.label}: same data from both: {same}", file=sys.stderr)

            def measure(key: tuple[str, int], server: Server) -> dict[str, Any]:
                label, connections = key
                case = by_label[label]
                headers = headers_for(case.role, settings, lms_key)
                before = statements(server)
                result = asyncio.run(
                    _load(server.url, case.body(), headers, connections, args.duration)
                )
                after = statements(server)
                requests = after[1] - before[1]
                result["statements"] = (after[0] - before[0]) / requests if requests else None
                print(
                    f"{case.label} c={connections} {server.name}: {result['rps']:.1f} req/s",
                    file=sys.stderr,
                )
                return result

            # interleaved: A B, A B
            keys = [(c.label, n) for c in chosen for n in args.concurrency]
            runs = interleaved(keys, running, args.rounds, measure, before=check)
            results = {(k[0], k[1], s.name): found for k, s, found in runs}
        finally:
            for server in running:
                server.stop()
    return {
        (label, connections, name): {
            k: median(found, k) for k in ("rps", "p50", "p95", "statements")
        }
        | {"failures": sum(r["failures"] for r in found)}
        for (label, connections, name), found in results.items()
    }, wire


def markdown(report: Report, wire: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [
        f"{args.posts} posts, {args.people} people; pool {args.pool}; c: client connections; "
        f"{args.duration:g} s per run, median of {args.rounds} interleaved rounds.",
        "",
        "| operation | c | base req/s | this req/s | this ÷ base | base p50 ms | this p50 ms "
        "| base statements | this statements | failed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, c in dict.fromkeys((label, c) for label, c, _ in report):
        base, this = report[(label, c, "base")], report[(label, c, "this")]
        lines.append(
            f"| {label} | {c} | {base['rps']:.1f} | {this['rps']:.1f} "
            f"| {this['rps'] / base['rps']:.2f} "
            f"| {base['p50']:.1f} | {this['p50']:.1f} | {base['statements']:.1f} "
            f"| {this['statements']:.1f} | {base['failures'] + this['failures']} |"
        )
    lines += [
        "",
        "Per request on the wire (a warm request, counted at asyncpg): statements, BEGIN/COMMIT/"
        "ROLLBACK, pooled connection checkouts.",
        "",
        "| operation | base statements | base txn control | base checkouts | this statements "
        "| this txn control | this checkouts |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label in wire["this"]:
        b, t = wire["base"][label], wire["this"][label]
        lines.append(
            f"| {label} | {b.get('statements', 0)} | {b.get('transaction_control', 0)} "
            f"| {b.get('checkouts', 0)} | {t.get('statements', 0)} "
            f"| {t.get('transaction_control', 0)} | {t.get('checkouts', 0)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout with a .venv")
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--people", type=int, default=2_000)
    parser.add_argument(
        "--concurrency", type=lambda t: [int(x) for x in t.split(",")], default=[1, 16]
    )
    parser.add_argument("--duration", type=float, default=5, help="seconds per load run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    parser.add_argument("--pool", type=int, default=10, help="database pool per process")
    parser.add_argument("--deep", type=int, default=1000, help="the deep page starts here")
    parser.add_argument("--only", nargs="*", help="operation labels to run")
    parser.add_argument("--keep", action="store_true", help=KEEP_HELP)
    args = parser.parse_args()
    report, wire = run(args)
    print(markdown(report, wire, args))


if __name__ == "__main__":
    main()
