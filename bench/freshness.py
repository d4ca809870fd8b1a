"""Requests per pass once the mirror is current: the demo network with its newest post just
posted, 6 days old (inside the old 7-day refresh window) and 50 days old.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/freshness.py

For each network: the set-up pass and the demo campaign, the first sync, then ``--passes``
passes a poll interval (60 s) apart, on virtual time: the worker's clock and its rate budget
(the microblog's 10 requests per 30 s per bucket) advance together, so budget waits cost no
real time. Prints, per pass after the first sync, the messages-bucket requests (feeds and
thread reads) and the other bucket's, as the simulator logged them.

``BENCH_CODE=/path/to/another/checkout`` measures that checkout's worker instead (e.g. the
code before the freshness policy), with this script and the same networks.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.environ.get("BENCH_CODE") or str(ROOT))

from api.db.session import Database  # noqa: E402
from api.seed.demo import seed_demo_campaign  # noqa: E402
from api.simulator.app import create_simulator, simulator_state  # noqa: E402
from api.simulator.config import DEFAULT_TOKEN, SimulatorConfig  # noqa: E402
from api.simulator.demo import default_anchor, demo_network  # noqa: E402
from api.simulator.server import BackgroundServer  # noqa: E402
from api.sync.budget import RateBudget  # noqa: E402
from api.sync.client import MicroblogClient  # noqa: E402
from api.sync.scheduler import Worker, WorkerConfig  # noqa: E402
from bench.scratch import scratch_database  # noqa: E402

POLL = 60.0
THREAD_READ = re.compile(r"^/api/v1/messages/(in_thread/)?\d+(\.json)?$")


@dataclass
class VirtualTime:
    start: datetime
    seconds: float = 0.0

    def monotonic(self) -> float:
        return self.seconds

    async def sleep(self, seconds: float) -> None:
        self.seconds += max(seconds, 0.0)
        await asyncio.sleep(0)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)


async def measure(url: str, age_days: int, passes: int) -> list[tuple[int, int, int]]:
    """(messages requests, of which thread reads, other requests) per steady-state pass."""
    now = datetime.now(UTC)
    anchor = default_anchor()
    network = demo_network(anchor, now)
    newest = max(m.created_at for m in network.messages.values())
    time = VirtualTime(newest + timedelta(days=age_days))
    network.clock = time.now
    config = SimulatorConfig(tokens={DEFAULT_TOKEN}, live_activity_seconds=None)
    config.lift_rate_limits()  # the worker's own budget keeps it within 10 per 30 s
    app = create_simulator(network, config)
    log = simulator_state(app).log
    db = Database.connect(url, pool_size=5)
    budget = RateBudget(requests=10, window=30.0, clock=time.monotonic, sleep=time.sleep)
    out = []
    try:
        with BackgroundServer(app) as sim:
            async with MicroblogClient(sim.url, DEFAULT_TOKEN, budget=budget) as client:
                worker = Worker(
                    db, client, WorkerConfig(poll_interval=POLL, source="bench"), clock=time.now
                )
                await worker.run_exclusive(trigger="SETUP")
                await seed_demo_campaign(db, anchor)
                await worker.run_once()  # the first sync
                for _ in range(passes):
                    time.seconds += POLL
                    log.clear()
                    await worker.run_once()
                    records = log.records
                    messages = [r for r in records if r.bucket == "messages"]
                    threads = sum(1 for r in messages if THREAD_READ.match(r.path))
                    out.append((len(messages), threads, len(records) - len(messages)))
    finally:
        await db.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 70 one-minute passes cover an hour, the default policy's middle tier.
    parser.add_argument("--passes", type=int, default=70)
    args = parser.parse_args()
    code = os.environ.get("BENCH_CODE") or "this checkout"
    print(f"worker code: {code}; {args.passes} passes {POLL:.0f} s apart after the first sync")
    print("budget: 10 requests / 30 s per bucket = 20 messages requests per poll interval")
    for age in (0, 6, 50):
        label = f"newest post {age} days old"
        with scratch_database() as url:
            figures = asyncio.run(measure(url, age, args.passes))
        messages = [m for m, _, _ in figures]
        threads = [t for _, t, _ in figures]
        other = [o for _, _, o in figures]
        print(
            f"{label:25} messages/pass mean {statistics.mean(messages):5.2f} max {max(messages):3}"
            f" | thread reads/pass mean {statistics.mean(threads):5.2f} max {max(threads):3}"
            f" total {sum(threads):4} | other/pass mean {statistics.mean(other):4.1f}"
        )


if __name__ == "__main__":
    main()
