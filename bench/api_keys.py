"""One LMS key's requests at concurrency: latency, and the writes its last use costs.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/api_keys.py

Creates a scratch database on that server (dropped afterwards) with the demo campaign and sends
``--requests`` LMS requests (``lms/ResourceLinks.graphql``) with one API key, ``--concurrency``
at a time, twice: as is, and while another transaction holds the key's row lock (a slow
last-use write elsewhere, an admin's open transaction).  Before issue 9, every request
UPDATEd the key's row, so its requests queued on that lock and the second pass would hang;
now a request only reads the key, and its last use is written at most once a minute, in the
background, skipping a locked row.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy import event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from api.auth import create_api_key, key_uses  # noqa: E402
from api.db.session import Database  # noqa: E402
from api.domain.enums import Role  # noqa: E402
from api.seed.demo import seed_demo  # noqa: E402
from api.settings import Settings  # noqa: E402
from bench.scratch import scratch_database  # noqa: E402
from tests.conftest import DEMO_ANCHOR  # noqa: E402

QUERY = (ROOT / "tests" / "contract" / "operations" / "lms" / "ResourceLinks.graphql").read_text()


async def _pass(
    client: httpx.AsyncClient, key: str, requests: int, concurrency: int
) -> list[float]:
    gate = asyncio.Semaphore(concurrency)
    body = {"query": QUERY, "variables": {"hashtag": "leadership"}}

    async def one() -> float:
        async with gate:
            start = time.perf_counter()
            response = await client.post("/graphql", json=body, headers={"X-API-Key": key})
            assert "errors" not in response.json(), response.text[:300]
            return time.perf_counter() - start

    return list(await asyncio.gather(*(one() for _ in range(requests))))


def _report(label: str, times: list[float], wall: float, writes: int) -> None:
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(
        f"{label:28} {len(times) / wall:>8.0f} {statistics.median(times) * 1000:>8.1f}"
        f" {p99 * 1000:>8.1f} {writes:>8}"
    )


async def run(url: str, requests: int, concurrency: int) -> None:
    settings = Settings(environment="test", database_url=url, jwt_secret="x" * 40)
    db = Database.connect(url, pool_size=max(concurrency, 5))
    holder_db = Database.connect(url, pool_size=1)
    app = create_app(settings, db=db)
    writes: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE API_KEY"):
            writes.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    key = await create_api_key(db, "bench-lms", Role.LMS)
    print(f"{requests} requests, concurrency {concurrency}, one key")
    print(f"{'pass':28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'writes':>8}")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        await _pass(client, key, concurrency, concurrency)  # warm the pool and caches
        await key_uses(db).flush()
        for label, hold in (("free", False), ("key row locked elsewhere", True)):
            writes.clear()
            key_uses(db)._recorded.clear()  # as if a minute had passed: one write is due
            async with holder_db.unit_of_work() as holder:
                if hold:
                    await holder.execute(sa.text("SELECT 1 FROM api_key FOR UPDATE"))
                start = time.perf_counter()
                times = await _pass(client, key, requests, concurrency)
                wall = time.perf_counter() - start
                await key_uses(db).flush()
            _report(label, times, wall, len(writes))
    await db.dispose()
    await holder_db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with scratch_database() as url:
        asyncio.run(seed_demo(url, anchor=DEMO_ANCHOR))
        asyncio.run(run(url, args.requests, args.concurrency))


if __name__ == "__main__":
    main()
