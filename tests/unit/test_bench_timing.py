"""The benchmarks' shared A/B loop (bench/timing.py) and the contract table's raw (maintained)
column and short-run note (bench/contract_report.py): order and arithmetic, no timing."""

from __future__ import annotations

import asyncio
from typing import Any

from bench import contract_report
from bench.contract import least_responses
from bench.timing import ainterleaved, interleaved, median, percentile


def test_interleaved_measures_every_variant_in_turn_round_by_round() -> None:
    calls: list[tuple[str, ...]] = []

    def measure(key: str, variant: str) -> str:
        calls.append((key, variant))
        return f"{key}{variant}{len(calls)}"

    runs = interleaved(
        ["x", "y"], ["A", "B"], 2, measure, before=lambda key: calls.append(("before", key))
    )
    assert calls == [
        ("before", "x"),
        ("x", "A"),
        ("x", "B"),
        ("x", "A"),
        ("x", "B"),
        ("before", "y"),
        ("y", "A"),
        ("y", "B"),
        ("y", "A"),
        ("y", "B"),
    ]
    assert runs == [
        ("x", "A", ["xA2", "xA4"]),
        ("x", "B", ["xB3", "xB5"]),
        ("y", "A", ["yA7", "yA9"]),
        ("y", "B", ["yB8", "yB10"]),
    ]


def test_ainterleaved_keeps_the_same_order_with_coroutines() -> None:
    calls: list[tuple[str, str]] = []

    async def measure(key: str, variant: str) -> int:
        calls.append((key, variant))
        return len(calls)

    async def before(key: str) -> None:
        calls.append(("before", key))

    runs = asyncio.run(ainterleaved(["x"], ["cold", "warm"], 3, measure, before=before))
    assert [c[1] for c in calls] == ["x", "cold", "warm", "cold", "warm", "cold", "warm"]
    assert runs == [("x", "cold", [2, 4, 6]), ("x", "warm", [3, 5, 7])]


def test_median_and_percentile_leave_out_what_is_missing() -> None:
    assert median([{"p99": 3.0}, {"p99": None}, {"p99": 1.0}, {}], "p99") == 2.0
    assert median([{"p99": None}], "p99") is None
    ordered = [float(i) for i in range(1, 101)]
    assert percentile(ordered, 0.5) == 51.0
    assert percentile(ordered, 0.99) == 100.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) is None


def _result(server: str, rps: float, requests: int, p99: float = 900.0) -> dict[str, Any]:
    return {
        "operation": "ContentMix",
        "concurrency": 32,
        "server": server,
        "rps": rps,
        "p50": 100.0,
        "p95": 500.0,
        "p99": p99,
        "failures": 0,
        "peak_rss": 2**20,
        "drain_s": 0.0,
        "requests": requests,
        "elapsed_s": 60.0 if requests < 20 else 4.0,
    }


def _report(**extra: Any) -> dict[str, Any]:
    return {
        "machine": "test",
        "posts": 1000,
        "people": 100,
        "pool": 5,
        "duration_s": 4,
        "rounds": 2,
        "servers": ["project-w2", "pg5", "raw", "raw-maintained"],
        "statements": {"ContentMix": 1},
        "peer_statements": {"raw": {"ContentMix": 1}, "raw-maintained": {"ContentMix": 1}},
        "same_rows": {
            "ContentMix": {"pg5": True, "raw": True, "raw JSON": True, "raw-maintained JSON": True}
        },
        "results": [
            _result("project-w2", 40.0, 160),
            _result("pg5", 0.5, 3),
            _result("raw", 10.0, 40),
            _result("raw-maintained", 80.0, 320),
        ],
        **extra,
    }


def test_the_table_divides_by_raw_maintained_beside_raw() -> None:
    table = contract_report.markdown(_report())
    header = next(line for line in table.splitlines() if line.startswith("| req/s"))
    assert header.endswith(
        "| project (2 workers) ÷ PG5 | project (2 workers) ÷ raw"
        " | project (2 workers) ÷ raw (maintained) |"
    )
    row = next(line for line in table.splitlines() if line.startswith("| ContentMix | 32 |"))
    assert row == "| ContentMix | 32 | 40.0 | 0.5 | 10.0 | 80.0 | 80.00 | 4.00 | 0.50 |"
    assert "raw (maintained)'s JSON identical yes" in table
    assert "(only" not in table  # no --min-requests: no run is called short


def test_a_run_short_of_min_requests_says_how_many_it_finished() -> None:
    table = contract_report.markdown(_report(min_requests=20, max_duration_s=60))
    assert "longer until 20 responses came, and two per connection (at most 60 s" in table
    rows = {
        line.split(" | ")[2]: line
        for line in table.splitlines()
        if line.startswith("| ContentMix | 32 | ") and line.count("|") == 12
    }
    assert "| 900 (only 3 in 60 s) |" in rows["PostGraphile 5"]
    # 40 responses, but 32 connections: fewer than two per connection.
    assert "| 900 (only 40 in 4 s) |" in rows["raw SQL"]
    assert "(only" not in rows["raw (maintained)"]
    assert "(only" not in rows["project (2 workers)"]


def test_min_requests_waits_for_two_responses_per_connection_too() -> None:
    assert least_responses(0, 32) == 0  # no --min-requests: the run lasts --duration
    assert least_responses(20, 1) == 20
    assert least_responses(20, 32) == 64
    assert least_responses(100, 32) == 100
