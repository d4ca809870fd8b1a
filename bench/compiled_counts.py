"""The compiled TopicFeed statement with ``totalCount`` counted (as before) and maintained.

    .venv/bin/python bench/compiled_counts.py \
        --database-url postgresql://postgres@127.0.0.1:5432/cg_bench_keep_300000posts_20000people_s1_g53036d55

Reads an existing network only (the session is read-only): the busiest ``--topics`` hashtags by
their maintained counts, then for each, ``--runs`` times, the two plans interleaved (A B A B):
wall time of the statement and EXPLAIN ANALYZE's execution time, medians per plan.  Both plans'
answers must be equal (they are when the maintained counts are right).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from graphql import OperationDefinitionNode, parse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.db.compiled import compiler  # noqa: E402
from api.domain.enums import Role  # noqa: E402
from schema.types.node import decode_id  # noqa: E402

FEED = next(ROOT.glob("tests/**/mobile/TopicFeed.graphql"))


def _plan(*, maintained: bool) -> compiler.Plan:
    document = parse(FEED.read_text())
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    kept = compiler._maintained_total
    if not maintained:
        compiler._maintained_total = lambda _scope, _key: None  # type: ignore[assignment,return-value]
    try:
        return compiler.compile_operation(document, operation, Role.MEMBER, {})
    finally:
        compiler._maintained_total = kept


async def main(args: argparse.Namespace) -> None:
    plans = {"counted": _plan(maintained=False), "maintained": _plan(maintained=True)}
    url = args.database_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        tags = [
            r[0]
            for r in await conn.fetch(
                "SELECT hashtag FROM hashtag_post_count GROUP BY 1 ORDER BY sum(starters) DESC "
                "LIMIT $1",
                args.topics,
            )
        ]
        wall: dict[str, list[float]] = {name: [] for name in plans}
        execution: dict[str, list[float]] = {name: [] for name in plans}
        for tag in tags:
            answers: dict[str, Any] = {}
            for _ in range(args.runs):
                for name, plan in plans.items():
                    bindings = compiler.Bindings(
                        variables={"hashtag": tag, "first": 20, "after": None},
                        base_url="http://bench",
                        decode_id=decode_id,
                    )
                    params = plan.bind(bindings)
                    start = time.perf_counter()
                    answers[name] = await conn.fetchval(plan.sql, *params)
                    wall[name].append((time.perf_counter() - start) * 1000)
                    lines = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + plan.sql, *params)
                    found = [r[0] for r in lines if r[0].startswith("Execution Time")]
                    execution[name].append(float(re.findall(r"[\d.]+", found[0])[0]))
            assert answers["counted"] == answers["maintained"], tag
        print(f"topics {tags}, {args.runs} runs each, interleaved")
        for name in plans:
            print(
                f"{name:10s} wall median {statistics.median(wall[name]):8.2f} ms   "
                f"EXPLAIN ANALYZE execution median {statistics.median(execution[name]):8.2f} ms"
            )
        ratio = statistics.median(wall["counted"]) / statistics.median(wall["maintained"])
        print(f"counted / maintained (wall): {ratio:.1f}x")
    finally:
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--topics", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
