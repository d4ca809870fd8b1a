"""The contract's read operations against the project, PostGraphile 5 and 4, and raw SQL.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.contract

Creates a scratch database on that server (dropped afterwards; --keep: kept and reused),
loads the demo and a generated network (--people, --posts), installs the peers (npm ci in bench/node), then serves it with
`campaign serve --workers N` for each N in --workers, PostGraphile 5 and 4 (same pool size) and
the raw one-statement endpoint twice: "raw" counting rows per request (bench/peers/raw.py), "raw
(maintained)" reading the maintained counts and rollups where the project does
(bench/peers/raw_maintained.py); checks the peers list the same rows in the same order (the raw
ones: the same JSON).  Each operation runs as the role that sends it at each --concurrency, the
servers interleaved round by round (A B C, A B C) so noise hits all alike.  Prints a Markdown
table and writes it with the JSON (--output).  Each load run starts on an idle database: the
bench waits until the previous server's queued requests have finished (drain_s in the JSON).  The bench raises the per-principal query
budgets (CAMPAIGN_QUERY_BUDGET_*): it measures speed, not throttling.  --min-requests N: a run
goes on after --duration until N responses came, and two per connection (at most
--max-duration s), so a slow
operation's p99 is not that of a handful of requests; the table marks runs that fell short.

The project's servers run with the response cache off (CAMPAIGN_RESPONSE_CACHE_BYTES=0): every
request executes ("cold").  --warm adds, for each N, a server with the cache on
(project-wN-warm), interleaved with the rest, so repeated reads answered from the cache ("warm")
are reported beside cold ones.  --peers chooses the peers (none: `--peers` alone).

    .venv/bin/python -m bench.contract --warm --peers --workers 1 \
        --only TopicFeed PostDetail ResourceLinks

--keep keeps the network's database (cg_bench_keep_<posts>posts_<people>people_s1_g<generator
version>) instead of dropping it, and reuses it on later runs with the same network: a 300,000
post network is generated once (~9 minutes), not per run (bench/kept_network.py).

    .venv/bin/python -m bench.contract --keep --posts 300000 --workers 2 --concurrency 1,32 \
        --duration 4 --rounds 2 --pool 5 --output /tmp/bench/big
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench import contract_report
from bench.contract_cases import Case, cases
from bench.contract_setup import (
    BUDGETS,
    PUBLIC_URL,
    IdleWait,
    configure,
    count_statements,
    headers_for,
    lookups,
)
from bench.kept_network import KEEP_HELP, network_database
from bench.servers import (
    NODE_DIR,
    NODE_V4_DIR,
    ROOT,
    PeakRss,
    Server,
    free_port,
    load,
    node,
    npm_ci,
)
from bench.timing import interleaved

CAMPAIGN = Path(sys.executable).with_name("campaign")


COLD = {"CAMPAIGN_RESPONSE_CACHE_BYTES": "0"}
# The raw limits: counting per request, and reading the maintained counts and rollups as the
# project does (bench/peers/raw_maintained.py). Each has one statement per operation.
RAW, MAINTAINED = "raw", "raw-maintained"
RAWS = (RAW, MAINTAINED)
PEERS = ("pg5", "pg4", RAW, MAINTAINED)
WARM_SUFFIX = "-warm"


def servers(
    url: str,
    workers: list[int],
    pool: int,
    node_bin: str,
    logs: Path,
    env: dict[str, str],
    *,
    warm: bool = False,
    resolvers: bool = False,
    peers: tuple[str, ...] = PEERS,
) -> list[Server]:
    # Cold first (the report's ratios take the first server as the project's). With --warm a
    # twin with the response cache on; with --resolvers a twin with compiled plans off
    # (CAMPAIGN_COMPILED=false), so each path is measured side by side in one run.
    variants = [
        ("", COLD),
        *([(WARM_SUFFIX, {})] if warm else []),
        *([("-resolvers", {**COLD, "CAMPAIGN_COMPILED": "false"})] if resolvers else []),
    ]
    found = [
        Server(
            f"project-w{n}{suffix}",
            [str(CAMPAIGN), "serve", "--port", str(port), "--workers", str(n)],
            port,
            logs,
            env={**env, "CAMPAIGN_DB_POOL_SIZE": str(pool), **cache},
        )
        for suffix, cache in variants
        for n in workers
        for port in [free_port()]
    ]
    pg5, pg4, raw, maintained, stats5, stats4 = (free_port() for _ in range(6))
    found += [
        Server(
            "pg5",
            [node_bin, "pg5.mjs", url, str(pg5), str(pool), str(stats5)],
            pg5,
            logs,
            cwd=NODE_DIR,
            stats_port=stats5,
        ),
        Server(
            "pg4",
            [node_bin, "pg4.js", url, str(pg4), str(pool), str(stats4)],
            pg4,
            logs,
            cwd=NODE_V4_DIR,
            stats_port=stats4,
        ),
        *(
            Server(
                name,
                [
                    sys.executable,
                    "-m",
                    "bench.peers.raw_maintained" if name == MAINTAINED else "bench.peers.raw",
                    "--database-url",
                    url,
                    "--port",
                    str(port),
                    "--pool",
                    str(pool),
                    "--base-url",
                    PUBLIC_URL,
                ],
                port,
                logs,
            )
            for name, port in ((RAW, raw), (MAINTAINED, maintained))
        ),
    ]
    return [s for s in found if s.name.startswith("project") or s.name in peers]


def check_rows(case: Case, by_server: dict[str, Any]) -> dict[str, bool]:
    """Whether each peer listed the project's rows, in its order."""
    project = next(v for k, v in by_server.items() if k.startswith("project"))
    return {k: v == project for k, v in by_server.items() if not k.startswith("project")}


def run(args: argparse.Namespace) -> dict[str, Any]:
    node_bin = node()
    npm_ci(node_bin, postgraphile4="pg4" in args.peers)
    logs = Path(tempfile.mkdtemp(prefix="bench-contract-"))
    with network_database(args.people, args.posts, keep=args.keep) as (url, network):
        settings, lms_key, env = configure(url)
        env.update(BUDGETS)
        running = servers(
            url,
            args.workers,
            args.pool,
            node_bin,
            logs,
            env,
            warm=args.warm,
            resolvers=args.resolvers,
            peers=args.peers,
        )
        try:
            for server in running:
                server.start()
            for server in running:
                server.wait_ready()
            project = running[0]
            found = asyncio.run(lookups(url, project.url, settings, running, args.deep))
            chosen = [c for c in cases(found) if not args.only or c.label in args.only]
            headers = {c.label: headers_for(c.role, settings, lms_key) for c in chosen}
            statements = asyncio.run(count_statements(url, settings, lms_key, chosen))
            warm_statements = (
                asyncio.run(count_statements(url, settings, lms_key, chosen, warm=True))
                if args.warm
                else {}
            )
            peer_statements: dict[str, dict[str, int]] = defaultdict(dict)
            agreement = verify(chosen, running, headers, peer_statements)
            results = measure(args, url, node_bin, chosen, running, headers)
        finally:
            for server in running:
                server.stop()
    return {
        "machine": contract_report.machine(node_bin),
        "network": network,
        "posts": args.posts,
        "people": args.people,
        "pool": args.pool,
        "duration_s": args.duration,
        "min_requests": args.min_requests,
        "max_duration_s": args.max_duration,
        "rounds": args.rounds,
        "servers": [s.name for s in running],
        "statements": statements,
        "warm_statements": warm_statements,
        "peer_statements": peer_statements,
        "same_rows": agreement,
        "results": results,
        "logs": str(logs),
    }


def _post(server: Server, case: Case, headers: dict[str, str]) -> dict[str, Any]:
    import httpx

    body = (
        case.body()
        if server.name.startswith("project")
        else case.peers[server.name].body(case.operation)
    )
    response = httpx.post(server.url, json=body, headers=headers, timeout=300)
    answer = response.json()
    if response.status_code != 200 or answer.get("errors"):
        raise RuntimeError(f"{server.name} {case.label}: {json.dumps(answer)[:500]}")
    return answer["data"]  # type: ignore[no-any-return]


def _difference(ours: Any, theirs: Any, path: str = "data") -> str:
    """Where two answers first differ, for the log."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in ours.keys() | theirs.keys():
            if ours.get(key) != theirs.get(key):
                return _difference(ours.get(key), theirs.get(key), f"{path}.{key}")
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            if a != b:
                return _difference(a, b, f"{path}[{i}]")
    return f"{path}: {json.dumps(ours)[:200]} != {json.dumps(theirs)[:200]}"


def verify(
    chosen: list[Case],
    running: list[Server],
    headers: dict[str, dict[str, str]],
    peer_statements: dict[str, dict[str, int]],
) -> dict[str, dict[str, bool]]:
    """Every server answers every case it has without errors; peers list the project's rows.
    Fills ``peer_statements`` (server, operation) where the peer counts them."""
    agreement: dict[str, dict[str, bool]] = {}
    for case in chosen:
        rows, project = {}, None
        same_json: dict[str, bool] = {}
        for server in running:
            if server.name.startswith("project"):
                project = _post(server, case, headers[case.label])
                if case.rows is not None:
                    rows[server.name] = case.rows(project)
            elif server.name in case.peers:
                _post(server, case, {})  # warm, then count the second request's statements
                before = server.statements()
                data = _post(server, case, {})
                if before is not None:
                    peer_statements[server.name][case.label] = server.statements() - before
                elif server.name in RAWS:
                    peer_statements[server.name][case.label] = 1  # one fetchval, by construction
                rows[server.name] = case.peers[server.name].rows(data)
                if server.name in RAWS:  # the same JSON too, not only the same rows
                    same_json[f"{server.name} JSON"] = data == project
                    if data != project:
                        print(
                            f"{server.name} JSON differs, {case.label}: "
                            f"{_difference(project, data)}",
                            file=sys.stderr,
                        )
        if rows:
            agreement[case.label] = {**check_rows(case, rows), **same_json}
            print(f"same rows, {case.label}: {agreement[case.label]}", file=sys.stderr)
    return agreement


def measure(
    args: argparse.Namespace,
    url: str,
    node_bin: str,
    chosen: list[Case],
    running: list[Server],
    headers: dict[str, dict[str, str]],
) -> list[dict[str, Any]]:
    runs: dict[tuple[str, int, str], list[dict[str, Any]]] = defaultdict(list)
    with IdleWait(url) as idle:
        _load_all(args, node_bin, chosen, running, headers, idle, runs)
    return _medians(runs)


def least_responses(min_requests: int, connections: int) -> int:
    """The responses a run waits for with --min-requests: at least two per connection too.
    Requests still in flight when a run stops are never timed; the first responses of c
    connections are the fastest, so a p99 needs several rounds of each connection's."""
    return max(min_requests, 2 * connections) if min_requests else 0


def _load_all(
    args: argparse.Namespace,
    node_bin: str,
    chosen: list[Case],
    running: list[Server],
    headers: dict[str, dict[str, str]],
    idle: IdleWait,
    runs: dict[tuple[str, int, str], list[dict[str, Any]]],
) -> None:
    by_label = {c.label: c for c in chosen}

    def measure(key: tuple[str, int], server: Server) -> dict[str, Any]:
        label, connections = key
        case = by_label[label]
        project = server.name.startswith("project")
        body = case.body() if project else case.peers[server.name].body(case.operation)
        with PeakRss(server) as peak:
            result = load(
                node_bin,
                server.url,
                body,
                headers[case.label] if project else {},
                connections,
                args.duration,
                min_requests=least_responses(args.min_requests, connections),
                max_duration=args.max_duration,
            )
        result["peak_rss"] = peak.peak
        result["peak_pss"] = peak.peak_pss
        result["drain_s"] = idle.wait()
        print(
            f"{case.label} c={connections} {server.name}: {result['rps']:.1f} req/s"
            f" ({result.get('responses')} responses in {result.get('elapsed') or 0:.1f} s;"
            f" then {result['drain_s']:.1f} s until the database was idle)",
            file=sys.stderr,
        )
        return result

    for case in chosen:
        # The servers that have the case, interleaved: A B C, A B C.
        having = [s for s in running if s.name.startswith("project") or s.name in case.peers]
        keys = [(case.label, connections) for connections in args.concurrency]
        for (label, connections), server, found in interleaved(keys, having, args.rounds, measure):
            runs[(label, connections, server.name)].extend(found)


def _medians(runs: dict[tuple[str, int, str], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [
        {
            "operation": label,
            "concurrency": connections,
            "server": name,
            **{
                k: statistics.median(r[k] for r in results if r[k] is not None)
                if any(r[k] is not None for r in results)
                else None
                for k in ("rps", "p50", "p95", "p99")
            },
            "failures": sum(r["errors"] + r["non2xx"] for r in results),
            "peak_rss": max(r["peak_rss"] for r in results),
            "peak_pss": max(r.get("peak_pss", 0) for r in results),
            # Seconds the server went on executing queued requests after the load ended.
            "drain_s": max(r["drain_s"] for r in results),
            # The fewest responses one round's run had (its latencies come from that many),
            # and the longest run (longer than --duration with --min-requests).
            "requests": min(r.get("responses", r["requests"]) for r in results),
            "elapsed_s": max(r.get("elapsed") or 0 for r in results),
        }
        for (label, connections, name), results in runs.items()
    ]


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=300_000)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--workers", type=_ints, default=[1, 2], help="e.g. 1,2")
    parser.add_argument("--concurrency", type=_ints, default=[1, 32], help="e.g. 1,32")
    parser.add_argument("--duration", type=float, default=10, help="seconds per load run")
    parser.add_argument(
        "--min-requests",
        type=int,
        default=0,
        help="a run goes on after --duration until this many responses came (per server and"
        " round, and at least two per connection; at most --max-duration seconds): slow"
        " operations' p99 from enough requests",
    )
    parser.add_argument(
        "--max-duration", type=float, default=60, help="seconds per run with --min-requests"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    parser.add_argument("--pool", type=int, default=10, help="database pool per process")
    parser.add_argument("--deep", type=int, default=1000, help="the deep page starts here")
    parser.add_argument("--only", nargs="*", help="operation labels to run")
    parser.add_argument(
        "--keep",
        action="store_true",
        help=KEEP_HELP,
    )
    parser.add_argument(
        "--warm", action="store_true", help="add servers with the response cache on"
    )
    parser.add_argument(
        "--resolvers",
        action="store_true",
        help="also run each project server with compiled plans off (CAMPAIGN_COMPILED=false)",
    )
    parser.add_argument(
        "--peers",
        nargs="*",
        default=list(PEERS),
        choices=list(PEERS),
        help="peers to run (none: --peers alone)",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "contract")
    args = parser.parse_args()
    report = run(args)
    table = contract_report.markdown(report)
    print(table)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(json.dumps(report, indent=1, default=str))
    args.output.with_suffix(".md").write_text(table)


if __name__ == "__main__":
    main()
