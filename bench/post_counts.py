"""What the maintained post counts (migration t8c1) cost the write path and save the reads.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/post_counts.py --posts 300000

Generates the demo plus ``--people``/``--posts`` into a scratch database (dropped afterwards),
then, side by side in one run:

- writes: mirror-like pages (``--page`` rows: posts re-read with new figures, some edited to
  other hashtags, some tombstoned, some new) through ``write_posts``, alternating pages with
  the count triggers enabled and disabled; the median page time of each and their ratio;
- reads: ``totalCount`` of the busiest topics' feeds, counted (``count_per_parent``, as before)
  and maintained (``count_by_parent``), median over ``--runs``; EXPLAIN ANALYZE of both.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.db import models  # noqa: E402
from api.db.repositories import classification, post_counts, posts_write  # noqa: E402
from api.db.repositories.paging import count_per_parent  # noqa: E402
from api.db.repositories.posts import PostFilter, count_by_parent  # noqa: E402
from api.db.repositories.scopes import SCOPES, Scope, membership  # noqa: E402
from api.db.session import Database  # noqa: E402
from api.domain.post_rows import post_row  # noqa: E402
from api.seed.demo import seed_demo  # noqa: E402
from api.seed.generator import generate  # noqa: E402
from bench.scratch import scratch_database  # noqa: E402

TRIGGERS = [
    ("post", "post_counts_post_inserted"),
    ("post", "post_counts_post_updated"),
    ("post", "post_counts_post_deleted"),
    *(
        (table, f"post_counts_{table}_{event}")
        for table in ("post_hashtag", "post_resource")
        for event in ("inserted", "updated", "deleted")
    ),
]
BLOCK = 10
LIVE_POSTS = """
SELECT p.external_id, coalesce(s.external_id, p.external_id) AS thread, r.external_id AS replied,
       a.external_id AS sender, g.external_id AS grp, p.body, p.created_at, p.like_count
FROM post p JOIN person a ON a.id = p.author_id
LEFT JOIN post s ON s.id = p.thread_starter_id LEFT JOIN post r ON r.id = p.replied_to_id
LEFT JOIN microblog_group g ON g.id = p.group_id
WHERE p.deleted_at IS NULL ORDER BY random() LIMIT :n
"""


async def _set_triggers(db: Database, enabled: bool) -> None:
    async with db.unit_of_work() as session:
        for table, name in TRIGGERS:
            verb = "ENABLE" if enabled else "DISABLE"
            await session.execute(sa.text(f"ALTER TABLE {table} {verb} TRIGGER {name}"))


async def _writes(db: Database, pages: int, size: int, tags: list[str]) -> dict[bool, list[float]]:
    rng = random.Random(7)
    async with db.reading() as session:
        context = await classification.classifier(session)
        live = list(await session.execute(sa.text(LIVE_POSTS), {"n": pages * size}))
        next_ext = int(
            (await session.execute(sa.select(sa.func.max(models.Post.external_id)))).scalar_one()
        )
    at = datetime.now(UTC)
    times: dict[bool, list[float]] = {True: [], False: []}
    for page in range(pages):
        rows = []
        for p in live[page * size : (page + 1) * size]:
            body, deleted = p.body, None
            roll = rng.random()
            if roll < 0.1:  # edited to another topic
                body = f"{body} #{rng.choice(tags)}"
            elif roll < 0.13:  # the source says it is gone
                deleted = at
            rows.append(
                post_row(
                    context,
                    external_id=p.external_id,
                    thread_external_id=p.thread,
                    replied_to_external_id=p.replied,
                    sender_external_id=p.sender,
                    group_external_id=p.grp,
                    body=body,
                    created_at=p.created_at,
                    like_count=p.like_count + rng.randint(0, 2),
                    deleted_at=deleted,
                )
            )
        for _ in range(size // 5):  # new thread starters
            next_ext += 1
            template = rng.choice(live)
            rows.append(
                post_row(
                    context,
                    external_id=next_ext,
                    sender_external_id=template.sender,
                    group_external_id=template.grp,
                    body=f"new #{rng.choice(tags)} post {next_ext}",
                    created_at=at,
                )
            )
        # Blocks of pages, so the plans ALTER TABLE invalidates are made again only per block.
        enabled = (page // BLOCK) % 2 == 0
        if page % BLOCK == 0:
            await _set_triggers(db, enabled)
        at += timedelta(seconds=1)
        started = time.perf_counter()
        async with db.unit_of_work() as session:
            await posts_write.write_posts(session, rows, at)
        times[enabled].append(time.perf_counter() - started)
    await _set_triggers(db, True)
    async with db.unit_of_work() as session:
        await post_counts.rebuild(session)  # what the pages without triggers left out
    return times


async def _reads(db: Database, runs: int) -> None:
    async with db.reading() as session:
        busiest = list(
            await session.execute(
                sa.text(
                    "SELECT hashtag, sum(starters) FROM hashtag_post_count"
                    " WHERE hashtag IN (SELECT hashtag FROM topic)"
                    " GROUP BY hashtag ORDER BY 2 DESC LIMIT 3"
                )
            )
        )
    print("\nreads: totalCount of a topic's posts (median of", runs, "runs)")
    for hashtag, n in busiest:
        counted, kept = [], []
        for _ in range(runs):
            async with db.reading() as session:
                started = time.perf_counter()
                a = await count_per_parent(
                    session,
                    table=models.Post,
                    keys=[hashtag],
                    key_type=SCOPES[Scope.TOPIC].key_type,
                    where=lambda key: [membership(Scope.TOPIC, key)],
                )
                counted.append(time.perf_counter() - started)
                started = time.perf_counter()
                b = await count_by_parent(session, Scope.TOPIC, [hashtag], PostFilter())
                kept.append(time.perf_counter() - started)
            assert a == b == {hashtag: n}, (a, b, n)
        c, k = statistics.median(counted) * 1000, statistics.median(kept) * 1000
        print(f"  #{hashtag:<14} {n:>7,} starters: counted {c:8.2f} ms  maintained {k:6.2f} ms")
    hashtag = busiest[0][0]
    async with db.reading() as session:
        for label, sql in (
            (
                "counted",
                "SELECT count(*) FROM post WHERE id IN (SELECT post_id FROM post_hashtag"
                " WHERE hashtag = :h) AND deleted_at IS NULL AND thread_starter_id IS NULL",
            ),
            (
                "maintained",
                "SELECT hashtag, sum(starters) FROM hashtag_post_count WHERE hashtag = :h"
                " GROUP BY hashtag",
            ),
        ):
            plan = await session.execute(
                sa.text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}"), {"h": hashtag}
            )
            lines = [r[0] for r in plan]
            print(f"\nEXPLAIN ANALYZE, {label}:")
            print(
                "\n".join(
                    "  " + line for line in lines if "Execution" in line or "Buffers" in line[:20]
                )
            )


async def run(args: argparse.Namespace, url: str) -> None:
    await seed_demo(url)
    started = time.perf_counter()
    await generate(url, people=args.people, posts=args.posts, seed=1)
    print(f"generated {args.posts:,} posts in {time.perf_counter() - started:.1f} s (triggers on)")
    db = Database.connect(url, pool_size=2)
    try:
        async with db.reading() as session:
            tags = list((await session.execute(sa.select(models.Topic.hashtag))).scalars())
        times = await _writes(db, args.pages, args.page, tags)
        on, off = (statistics.median(times[flag]) * 1000 for flag in (True, False))
        print(
            f"\nwrites: {args.pages} pages of ~{args.page * 6 // 5} rows, alternating in blocks of {BLOCK};"
            f" median page: counts on {on:.1f} ms, off {off:.1f} ms, ratio {on / off:.3f}"
        )
        await _reads(db, args.runs)
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--page", type=int, default=30)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with scratch_database() as url:
        asyncio.run(run(args, url))


if __name__ == "__main__":
    main()
