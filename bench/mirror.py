"""Posts and requests per second of one full sync pass against the simulator, limits lifted.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/mirror.py --posts 20000

Builds the demo network plus ``--posts`` generated messages (thread starters with campaign
hashtags, mostly in the tracked groups and some in "All Company", ~30% replies, some likes),
serves it on loopback with the simulator's rate limits and the client's budget lifted, and
mirrors it into a scratch database (dropped afterwards): the set-up pass and the demo campaign,
then one timed full pass. Prints the figures and whether the mirror is complete (exit 1 if not).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.db.session import Database  # noqa: E402
from api.domain.freshness import FreshnessPolicy  # noqa: E402
from api.seed.demo import seed_demo_campaign  # noqa: E402
from api.simulator.app import create_simulator, simulator_state  # noqa: E402
from api.simulator.config import DEFAULT_TOKEN, SimulatorConfig  # noqa: E402
from api.simulator.demo import default_anchor, demo_network  # noqa: E402
from api.simulator.network import Network  # noqa: E402
from api.simulator.server import BackgroundServer  # noqa: E402
from api.simulator.state import SimulatorState  # noqa: E402
from api.sync.budget import RateBudget  # noqa: E402
from api.sync.client import MicroblogClient  # noqa: E402
from api.sync.scheduler import Worker, WorkerConfig  # noqa: E402
from bench.scratch import scratch_database  # noqa: E402

TRACKED = ["Employee Engagement", "Social Media at Work"]
TAGS = ["#leadership", "#managing", "#change", "#engagement"]
WORDS = ["team", "coaching", "feedback", "podcast", "course", "managers", "trust", "goals"]
LIVE = (
    "SELECT p.external_id, g.name, s.external_id FROM post p"
    " LEFT JOIN microblog_group g ON g.id = p.group_id"
    " LEFT JOIN post s ON s.id = p.thread_starter_id WHERE p.deleted_at IS NULL"
)


def grow(network: Network, posts: int, now: datetime, seed: int = 1) -> None:
    """Add ``posts`` messages over the 60 days before ``now``, in increasing time."""
    rng = random.Random(seed)
    tracked = [network.group_by_name(name).id for name in TRACKED]
    everyone = network.group_by_name("All Company").id
    senders = sorted(u.id for u in network.users.values() if u.state == "active")
    start, step = now - timedelta(days=60), timedelta(days=60) / (posts + 1)
    starters: list[int] = []
    for i in range(posts):
        words = " ".join(rng.choices(WORDS, k=rng.randint(6, 20)))
        body = f"{words} {' '.join(rng.sample(TAGS, rng.randint(1, 2)))}"
        at, likes = start + step * (i + 1), rng.choice([0, 0, 0, 1, 2, 5])
        sender = rng.choice(senders)
        if starters and rng.random() < 0.3:
            parent = network.messages[rng.choice(starters[-200:])]
            # Half the replies in tracked groups carry no hashtag; elsewhere the tag is the way in.
            if parent.group_id != everyone and rng.random() < 0.5:
                body = words
            network.add_message(sender, body, replied_to_id=parent.id, at=at, likes=likes)
        else:
            group = everyone if rng.random() < 0.1 else rng.choice(tracked)
            message = network.add_message(sender, body, group_id=group, at=at, likes=likes)
            starters.append(message.id)


async def mirror(url: str, sim_url: str, anchor: date, state: SimulatorState) -> dict[str, Any]:
    db = Database.connect(url, pool_size=5)
    # The budget is lifted, and so is the thread walks' share of it (the freshness policy's
    # allowance would otherwise leave owed threads for a later pass).
    config = WorkerConfig(
        horizon=timedelta(days=365),
        source="simulator",
        freshness=FreshnessPolicy(budget_requests=None),
    )
    try:
        async with MicroblogClient(sim_url, DEFAULT_TOKEN, budget=RateBudget.lifted()) as client:
            worker = Worker(db, client, config)
            started = time.perf_counter()
            await worker.run_exclusive(trigger="SETUP")
            await seed_demo_campaign(db, anchor)
            setup = time.perf_counter() - started
            state.log.clear()
            started = time.perf_counter()
            summary = await worker.run_once()
            seconds = time.perf_counter() - started
        async with db.reading() as session:
            requests = await session.scalar(
                sa.text("SELECT requests FROM sync_run WHERE id = :id"), {"id": summary.run_id}
            )
            rows = [tuple(row) for row in (await session.execute(sa.text(LIVE))).all()]
        return {"summary": summary, "setup": setup, "seconds": seconds,
                "requests": int(requests or 0), "logged": state.log.count(), "rows": rows}  # fmt: skip
    finally:
        await db.dispose()


def check(network: Network, rows: list[tuple[Any, ...]]) -> tuple[bool, str]:
    """Live mirrored posts against what the token's user can read, and their thread links."""
    visible = {m.id: m for m in network.visible_messages()}
    tracked = {network.group_by_name(name).id for name in TRACKED}
    in_groups = {i for i, m in visible.items() if m.group_id in tracked}
    mirrored = {post for post, _, _ in rows}
    mirrored_groups = {post for post, group, _ in rows if group in TRACKED}
    # A reply must point at its thread's starter, a starter at nothing.
    unlinked = sum(
        1
        for post, _, starter in rows
        if post in visible
        and starter != (None if visible[post].is_starter else visible[post].thread_id)
    )
    missing, extra = len(visible.keys() - mirrored), len(mirrored - visible.keys())
    complete = not (missing or extra or unlinked) and mirrored_groups == in_groups
    return complete, (
        f"{len(mirrored):,} live posts vs {len(visible):,} visible messages ({missing} missing, "
        f"{extra} extra); tracked groups {len(mirrored_groups):,} of {len(in_groups):,}; "
        f"{unlinked} posts without their right thread starter"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20_000)
    args = parser.parse_args()
    now, anchor = datetime.now(UTC), default_anchor()
    network = demo_network(anchor, now)
    grow(network, args.posts, now)
    config = SimulatorConfig(tokens={DEFAULT_TOKEN}, live_activity_seconds=None)
    config.lift_rate_limits()
    app = create_simulator(network, config)
    with scratch_database() as url, BackgroundServer(app) as sim:
        out = asyncio.run(mirror(url, sim.url, anchor, simulator_state(app)))

    seconds, requests, posts = out["seconds"], out["requests"], len(out["rows"])
    print(f"demo network + {args.posts:,} generated messages; set-up took {out['setup']:.1f} s")
    print(f"timed pass:       {out['summary']}")
    print(f"posts mirrored:   {posts:,} live (post table)")
    print(f"requests made:    {requests:,} (sync_run; simulator log: {out['logged']:,})")
    print(f"seconds:          {seconds:.1f}")
    print(f"posts per second: {posts / seconds:,.0f}")
    print(f"requests/second:  {requests / seconds:,.1f}")
    complete, detail = check(network, out["rows"])
    print(f"mirror {'COMPLETE' if complete else 'INCOMPLETE'}: {detail}")
    sys.exit(0 if complete else 1)


if __name__ == "__main__":
    main()
