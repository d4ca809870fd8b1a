"""Repeated reads in process: the response cache off (cold) against on (warm), side by side.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.response_cache

Creates a scratch database (dropped afterwards) with the demo and a generated network
(``--people``, ``--posts``), builds two apps on one database pool, one with
``CAMPAIGN_RESPONSE_CACHE_BYTES=0`` and one with the default, and sends TopicFeed, PostDetail
and ResourceLinks as their roles over POST, ``--requests`` times per round, the two apps
alternating round by round (A B A B). Reports, per operation and app, the median latency, the
CPU time per request (this process's, server and client together, no network: it moves less
than wall time on a busy machine), requests per CPU second and statements per request.
Requests per second against ``campaign serve`` under load: ``python -m bench.contract --warm``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import event

from api.app import create_app
from api.db.session import Database
from api.domain.enums import Role
from api.settings import Settings
from bench.contract_cases import Case, Lookups, cases
from bench.contract_setup import HASHTAG, headers_for, prepare
from bench.scratch import scratch_database
from bench.timing import ainterleaved

LABELS = ("TopicFeed", "PostDetail", "ResourceLinks")
VARIANTS = ("cold", "warm")


async def _chosen(client: httpx.AsyncClient, settings: Settings) -> list[Case]:
    """The cases, their variables found through the app (as bench.contract_setup.lookups)."""
    found = await client.post(
        "/graphql",
        headers=headers_for(Role.ADMIN, settings, ""),
        json={
            "query": "query($h: String!) { topic(hashtag: $h) { posts(first: 1, orderBy: "
            "{field: REPLIES}) { nodes { id } } resources { id } } }",
            "variables": {"h": HASHTAG},
        },
    )
    topic = found.json()["data"]["topic"]
    until = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(1)
    lookups = Lookups(
        since=until - timedelta(days=90),
        until=until,
        hashtag=HASHTAG,
        deep_cursor="",  # the deep page is not measured here
        pg_deep_cursors={},
        post_id=topic["posts"]["nodes"][0]["id"],
        resource_ids=[r["id"] for r in topic["resources"]],
    )
    return [c for c in cases(lookups) if c.label in LABELS]


async def run(url: str, settings: Settings, lms_key: str, requests: int, rounds: int) -> str:
    db = Database.connect(url, pool_size=5)
    statements: list[int] = []
    event.listen(db.engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(1))
    cold = settings.model_copy(update={"response_cache_bytes": 0})
    clients = {
        name: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(s, db=db)), base_url="http://bench"
        )
        for name, s in zip(VARIANTS, (cold, settings), strict=True)
    }
    wall: dict[tuple[str, str], list[float]] = defaultdict(list)
    cpu: dict[tuple[str, str], float] = defaultdict(float)
    sql: dict[tuple[str, str], int] = defaultdict(int)
    try:
        chosen = await _chosen(clients["cold"], settings)
        by_label = {c.label: c for c in chosen}

        async def warm_up(label: str) -> None:
            case = by_label[label]
            headers = headers_for(case.role, settings, lms_key)
            for client in clients.values():  # parsed, validated, and (warm) kept
                answer = await client.post("/graphql", json=case.body(), headers=headers)
                assert not answer.json().get("errors"), answer.text[:300]

        async def measure(label: str, name: str) -> None:
            case, client = by_label[label], clients[name]
            headers = headers_for(case.role, settings, lms_key)
            statements.clear()
            start_cpu = time.process_time()
            for _ in range(requests):
                start = time.perf_counter()
                answer = await client.post("/graphql", json=case.body(), headers=headers)
                wall[(case.label, name)].append(time.perf_counter() - start)
                assert answer.status_code == 200, answer.text[:300]
            cpu[(case.label, name)] += time.process_time() - start_cpu
            sql[(case.label, name)] += len(statements)

        # Cold and warm alternating, round by round.
        await ainterleaved(list(by_label), list(clients), rounds, measure, before=warm_up)
    finally:
        for client in clients.values():
            await client.aclose()
        await db.dispose()
    total = requests * rounds
    lines = [
        f"{total} sequential POSTs per row ({rounds} rounds, cold and warm alternating)",
        "",
        "| operation | cache | p50 ms | CPU ms/req | req per CPU s | statements/req |"
        " warm ÷ cold (req per CPU s) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for case in chosen:
        per_cpu = {n: total / cpu[(case.label, n)] for n in VARIANTS}
        for name in VARIANTS:
            key = (case.label, name)
            ratio = f"{per_cpu['warm'] / per_cpu['cold']:.1f}" if name == "warm" else ""
            lines.append(
                f"| {case.label} | {name} | {statistics.median(wall[key]) * 1000:.2f} |"
                f" {cpu[key] / total * 1000:.2f} | {per_cpu[name]:.0f} |"
                f" {sql[key] / total:.1f} | {ratio} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50, help="requests per round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--people", type=int, default=2_000)
    args = parser.parse_args()
    with scratch_database() as url:
        _network, settings, lms_key, _env = prepare(url, args.people, args.posts)
        print(asyncio.run(run(url, settings, lms_key, args.requests, args.rounds)))


if __name__ == "__main__":
    main()
