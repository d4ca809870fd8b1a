"""The benchmark's Markdown: req/s side by side, then each server's latency, statements, RSS."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

NAMES = {
    "pg5": "PostGraphile 5",
    "pg4": "PostGraphile 4",
    "raw": "raw SQL",
    "raw JSON": "raw SQL's JSON identical",
    "raw-maintained": "raw (maintained)",
    "raw-maintained JSON": "raw (maintained)'s JSON identical",
}
# The peers the project's req/s is divided by, and their columns' names.
DIVISORS = {"pg5": "PG5", "raw": "raw", "raw-maintained": "raw (maintained)"}


def machine(node_bin: str) -> str:
    """The machine the figures come from: they mean little without it."""
    cpuinfo = Path("/proc/cpuinfo")
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in (cpuinfo.read_text().splitlines() if cpuinfo.exists() else [])
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    node = subprocess.run([node_bin, "--version"], capture_output=True, text=True).stdout.strip()
    return (
        f"{os.cpu_count()} cores, {model}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, Node {node}; servers, PostgreSQL and load "
        "generator on one machine"
    )


WARM = "-warm"


def _name(server: str) -> str:
    if server.startswith("project-w"):
        n, _, variant = server.removeprefix("project-w").partition("-")
        what = {"warm": ", warm: response cache", "resolvers": ", resolvers only"}
        return f"project ({n} worker{'' if n == '1' else 's'}{what.get(variant, '')})"
    return NAMES.get(server, server)


def _num(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _p99(result: dict[str, Any], least: int) -> str:
    """The p99 cell; with --min-requests, a run that ended with fewer responses says so: its
    p99 is then (nearly) its slowest request."""
    cell = _num(result["p99"], 0)
    done = result.get("requests")
    if least and done is not None and done < max(least, 2 * result["concurrency"]):
        cell += f" (only {done} in {result.get('elapsed_s') or 0:.0f} s)"
    return cell


def markdown(report: dict[str, Any]) -> str:
    servers: list[str] = report["servers"]
    by = {(r["operation"], r["concurrency"], r["server"]): r for r in report["results"]}
    keys = list(dict.fromkeys((r["operation"], r["concurrency"]) for r in report["results"]))
    projects = [s for s in servers if s.startswith("project")]
    # (numerator, denominator, column): each project server over each peer run, and each warm
    # server over its cold twin.
    ratios = [
        (p, peer, f"{_name(p)} ÷ {short}")
        for p in projects
        for peer, short in DIVISORS.items()
        if peer in servers
    ] + [(p, p.removesuffix(WARM), f"{_name(p)} ÷ cold") for p in projects if p.endswith(WARM)]
    least = report.get("min_requests") or 0
    run = f"{report['duration_s']:g} s per run"
    if least:
        run += (
            f", longer until {least} responses came, and two per connection (at most"
            f" {report['max_duration_s']:g} s; fewer: the p99 cell says how many; requests in"
            " flight when a run stops are not timed)"
        )
    lines = [
        f"Machine: {report['machine']}.",
        "",
        f"{report['posts']} posts, {report['people']} people; pool {report['pool']} per process;"
        f" {run}, median of {report['rounds']} interleaved rounds."
        " An empty cell: no equivalent written for that server. 0.0 req/s without latencies:"
        " no request finished within the run. Peak RSS sums the server's processes (with"
        " workers: the supervisor and each worker), counting a page they share once per"
        " process; peak PSS sums their proportional shares of each page (what they cost the"
        " machine together; bench/memory.py gives each process's). Statements: the project's counted in"
        " process, PostGraphile's by its pg client, raw's is one by construction."
        " ÷ PG5, ÷ raw, ÷ raw (maintained): the project's req/s over PostGraphile 5's, over raw"
        " SQL's, over raw (maintained)'s (above 1: the project is faster). Raw SQL counts rows"
        " per request; raw (maintained) is the same statements reading the maintained post"
        " counts and daily rollups wherever the project does (TopicFeed's and"
        " ResourcePerformance's totalCount, the dashboards' figures): the like-for-like"
        " floor. PostGraphile answers through the views and functions of"
        " bench/peers/postgraphile.sql (its documents: bench/peers/pg5, pg4)."
        " The project's servers run with the response cache off (cold: every request"
        " executes) unless named warm: the same request repeated, answered from the cache.",
        "",
        "| req/s: operation | c | "
        + " | ".join(_name(s) for s in servers)
        + "".join(f" | {column}" for _, _, column in ratios)
        + " |",
        "|---|---:|" + "---:|" * (len(servers) + len(ratios)),
    ]
    for op, c in keys:
        cells = [_num(by[(op, c, s)]["rps"]) if (op, c, s) in by else "" for s in servers]
        for p, peer, _ in ratios:
            ours, theirs = by.get((op, c, p)), by.get((op, c, peer))
            if ours is None or theirs is None or not theirs["rps"]:
                cells.append("")
            else:
                cells.append(f"{ours['rps'] / theirs['rps']:.2f}")
        lines.append(f"| {op} | {c} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| operation | c | server | req/s | p50 ms | p95 ms | p99 ms | statements | peak RSS MB"
        " | peak PSS MB | failed |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for op, c in keys:
        for s in servers:
            r = by.get((op, c, s))
            if r is None:
                continue
            statements = (
                report.get("warm_statements", {}).get(op)
                if s.endswith(WARM)
                else report["statements"].get(op)
                if s.startswith("project")
                else report.get("peer_statements", {}).get(s, {}).get(op)
            )
            lines.append(
                f"| {op} | {c} | {_name(s)} | {_num(r['rps'])} | {_num(r['p50'], 0)} |"
                f" {_num(r['p95'], 0)} | {_p99(r, least)} |"
                f" {'' if statements is None else statements} |"
                f" {r['peak_rss'] / 2**20:.0f} | {r.get('peak_pss', 0) / 2**20:.0f} |"
                f" {r['failures']} |"
            )
    same = report["same_rows"]
    if same:
        lines += [
            "",
            "Same rows in the same order as the project: "
            + "; ".join(
                f"{op}: "
                + ", ".join(f"{_name(k)} {'yes' if v else 'NO'}" for k, v in peers.items())
                for op, peers in same.items()
            ),
        ]
    return "\n".join(lines) + "\n"
