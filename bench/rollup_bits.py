"""The compiled dashboards' statements counting active authors from rollup_author_day (a
baseline commit's ``api/db/compiled/analytics.py``: its figures and edge membership tests)
and from rollup_author_bits (this tree's).

    .venv/bin/python bench/rollup_bits.py --baseline cd0d592 \\
        --database-url postgresql://postgres@127.0.0.1:5432/cg_rollup_300k

The database must be migrated to this tree's head (both tables present): a copy of the kept
network, never the kept network itself.  Reads only (the session is read-only).  For each
dashboard (CampaignDashboard, ContentMix, ManagerLeaderboard, the bench's 90 whole days ending
tomorrow, and --edges: the same range starting and ending mid-day), ``--runs`` times, the two
statements interleaved (A B A B): wall time and EXPLAIN ANALYZE's execution time, medians.
Both answers must be equal.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import time
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from graphql import OperationDefinitionNode, parse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.db.compiled import analytics, compiler  # noqa: E402
from api.domain.enums import Role  # noqa: E402
from schema.types.node import decode_id  # noqa: E402

OPS = ROOT / "tests" / "contract" / "operations" / "web"
DASHBOARDS = {
    "CampaignDashboard": Role.ADMIN,
    "ContentMix": Role.MEMBER,
    "ManagerLeaderboard": Role.MANAGER,
}


def baseline(ref: str) -> types.ModuleType:
    """The ref's ``api/db/compiled/analytics.py`` as a module."""
    source = subprocess.run(
        ["git", "show", f"{ref}:api/db/compiled/analytics.py"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    module = types.ModuleType("baseline_analytics")
    module.__dict__["__name__"] = "baseline_analytics"
    sys.modules["baseline_analytics"] = module
    exec(compile(source, "baseline_analytics.py", "exec"), module.__dict__)
    return module


def plan(name: str, source: Any) -> compiler.Plan:
    """The dashboard's plan with ``source``'s figures (``totals``) and scopes (their edges'
    membership tests): the baseline's, or this tree's."""
    document = parse((OPS / f"{name}.graphql").read_text())
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    names = ("campaign_scope", "topic_scope")
    kept = analytics.AnalyticsFields.totals, *(getattr(analytics, n) for n in names)
    analytics.AnalyticsFields.totals = source.AnalyticsFields.totals  # type: ignore[method-assign]
    for n in names:
        setattr(analytics, n, getattr(source, n))
    try:
        return compiler.compile_operation(document, operation, DASHBOARDS[name], {})
    finally:
        analytics.AnalyticsFields.totals = kept[0]  # type: ignore[method-assign]
        for n, value in zip(names, kept[1:], strict=True):
            setattr(analytics, n, value)


async def main(args: argparse.Namespace) -> None:
    old = baseline(args.baseline)
    plans = {
        name: {"day rows": plan(name, old), "bitmaps": plan(name, analytics)} for name in DASHBOARDS
    }
    until = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(1)
    since = until - timedelta(days=90)
    if args.edges:
        since, until = since + timedelta(hours=7), until - timedelta(hours=5)
    variables = {"slug": args.slug, "since": since, "until": until}
    # As the API connects (api.db.session): no JIT.
    conn = await asyncpg.connect(args.database_url, server_settings={"jit": "off"})
    try:
        await conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        print(f"{since.isoformat()} .. {until.isoformat()}, {args.runs} runs, interleaved")
        for name, variants in plans.items():
            wall: dict[str, list[float]] = {v: [] for v in variants}
            execution: dict[str, list[float]] = {v: [] for v in variants}
            answers: dict[str, Any] = {}
            for _ in range(args.runs):
                for variant, p in variants.items():
                    bindings = compiler.Bindings(
                        variables=dict(variables), base_url="http://bench", decode_id=decode_id
                    )
                    params = p.bind(bindings)
                    start = time.perf_counter()
                    answers[variant] = await conn.fetchval(p.sql, *params)
                    wall[variant].append((time.perf_counter() - start) * 1000)
                    lines = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + p.sql, *params)
                    found = [r[0] for r in lines if r[0].startswith("Execution Time")]
                    execution[variant].append(float(re.findall(r"[\d.]+", found[0])[0]))
            same = answers["day rows"] == answers["bitmaps"]
            line = [f"{name:19s}"]
            for variant in variants:
                line.append(
                    f"{variant}: wall {statistics.median(wall[variant]):7.1f} ms, "
                    f"exec {statistics.median(execution[variant]):7.1f} ms"
                )
            ratio = statistics.median(wall["day rows"]) / statistics.median(wall["bitmaps"])
            print("  ".join(line) + f"  day rows / bitmaps {ratio:4.1f}x  equal: {same}")
            if not same:
                raise SystemExit(f"{name}: the answers differ")
    finally:
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--baseline", default="cd0d592")
    parser.add_argument("--slug", default="learning-community")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--edges", action="store_true")
    asyncio.run(main(parser.parse_args()))
