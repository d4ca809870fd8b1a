"""Posts per second of `campaign generate` (the generator writes through the one write path).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/generator.py --posts 100000

Generates ``--people`` people and ``--posts`` posts into a scratch database (dropped
afterwards) and prints the time taken.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.seed.generator import generate  # noqa: E402
from bench.scratch import scratch_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=5_000)
    args = parser.parse_args()
    with scratch_database() as url:
        started = time.perf_counter()
        stats = asyncio.run(generate(url, people=args.people, posts=args.posts, seed=1))
        seconds = time.perf_counter() - started
    print(f"generated {stats['posts']:,} posts, {stats['people']:,} people in {seconds:.1f} s")
    print(f"posts per second: {stats['posts'] / seconds:,.0f}")


if __name__ == "__main__":
    main()
