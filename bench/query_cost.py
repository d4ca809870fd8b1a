"""What cost and budgets add to a request: computing the cost, and the budget's one statement.

    .venv/bin/python bench/query_cost.py                        # cost only, no database
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/query_cost.py

Prints each contract operation's cost and the median time to compute it (and the issue's
fan-out, refused before execution). With ``DATABASE_URL`` it also creates a scratch database
and times the budget draw at concurrency 8: all on one principal (requests queue on the row's
lock) and on eight principals.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graphql import parse  # noqa: E402

from api.db.repositories import query_budgets  # noqa: E402
from api.db.session import Database  # noqa: E402
from bench.scratch import scratch_database  # noqa: E402
from schema.cost import operation_cost  # noqa: E402
from schema.schema import build_schema  # noqa: E402
from tests.unit.test_contract_costs import OPERATION_CASES, VARIABLES  # noqa: E402

FAN_OUT = """
{ topics(first: 20) { nodes { posts(first: 100) { nodes { replies(first: 20) { nodes {
  author { posts(first: 20) { nodes { id body } } } } } } } } } }
"""


def cost_times(repeat: int) -> None:
    schema = build_schema()._schema
    cases = [(f"{p}:{n}", t, n, VARIABLES[n]) for p, n, t in OPERATION_CASES]
    cases.append(("issue 9 fan-out", FAN_OUT, None, {}))
    print(f"{'operation':52} {'cost':>8} {'median µs':>10}")
    for label, text, name, variables in cases:
        document = parse(text)  # parsing is the pipeline's (and cached there)
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            cost = operation_cost(schema, document, name, variables)
            samples.append(time.perf_counter() - start)
        print(f"{label:52} {cost:>8} {statistics.median(samples) * 1e6:>10.0f}")


async def draw_times(url: str, draws: int) -> None:
    db = Database.connect(url, pool_size=8)
    try:

        async def one(principal: str) -> float:
            start = time.perf_counter()
            async with db.unit_of_work() as session:
                await query_budgets.draw(session, principal, 1, 10**9, 1.0)
            return time.perf_counter() - start

        for label, principals in (("one principal", ["p"] * 8), ("8 principals", [*"abcdefgh"])):
            samples: list[float] = []
            for _ in range(draws // 8):
                samples += await asyncio.gather(*(one(p) for p in principals))
            samples.sort()
            p99 = samples[int(len(samples) * 0.99) - 1]
            print(
                f"draw, concurrency 8, {label:14}: median {statistics.median(samples) * 1e3:.2f} ms"
                f", p99 {p99 * 1e3:.2f} ms ({len(samples)} draws)"
            )
    finally:
        await db.dispose()


def main() -> None:
    import os

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--draws", type=int, default=800)
    args = parser.parse_args()
    cost_times(args.repeat)
    url = os.environ.get("DATABASE_URL")
    if url:
        with scratch_database() as scratch:
            asyncio.run(draw_times(scratch, args.draws))


if __name__ == "__main__":
    main()
