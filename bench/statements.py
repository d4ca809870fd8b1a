"""SQL statements and latency per contract operation, on the demo seed plus a generated network.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/statements.py

Creates a scratch database on that server (dropped afterwards), migrates it, loads the demo
and ``--posts`` generated posts, then runs each operation the clients send, as the role that
sends it, and prints the statements it ran and its median time over ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from api.auth import create_api_key, issue_token  # noqa: E402
from api.db.session import Database  # noqa: E402
from api.domain.enums import Role  # noqa: E402
from api.seed.demo import seed_demo  # noqa: E402
from api.seed.generator import generate  # noqa: E402
from api.settings import Settings  # noqa: E402
from bench.scratch import scratch_database  # noqa: E402
from tests.conftest import DEMO_ANCHOR  # noqa: E402

OPS = ROOT / "tests" / "contract" / "operations"
RANGE = {"since": f"{DEMO_ANCHOR}T00:00:00Z", "until": "2026-10-26T00:00:00Z"}
SLUG = {"slug": "learning-community"}
# file, role, variables
CASES: list[tuple[str, Role, dict[str, Any]]] = [
    ("web/CampaignDashboard.graphql", Role.MEMBER, {**SLUG, **RANGE}),
    ("web/ContentMix.graphql", Role.MEMBER, {**SLUG, **RANGE}),
    ("web/ManagerLeaderboard.graphql", Role.MANAGER, {**SLUG, **RANGE}),
    ("mobile/TopicFeed.graphql", Role.MEMBER, {"hashtag": "leadership", "first": 20}),
    ("mobile/Search.graphql", Role.MEMBER, {"text": "leadership", "first": 10}),
    ("admin/People.graphql", Role.ADMIN, {"first": 20, **RANGE}),
    ("lms/ResourceLinks.graphql", Role.LMS, {"hashtag": "leadership"}),
]


async def run(url: str, runs: int) -> None:
    settings = Settings(
        environment="test",
        database_url=url,
        jwt_secret="x" * 40,
        public_url="http://bench.test",
    )
    db = Database.connect(url)
    app = create_app(settings, db=db)
    statements: list[str] = []
    event.listen(db.engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    lms_key = await create_api_key(db, "bench", Role.LMS)
    transport = httpx.ASGITransport(app=app)
    print(f"{'operation':36} {'statements':>10} {'median ms':>10}")
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        admin = {"Authorization": f"Bearer {issue_token(settings, Role.ADMIN, 'bench')}"}
        found = await client.post(
            "/graphql",
            json={
                "query": '{ topic(hashtag: "leadership") { posts(first: 1, orderBy: {field: REPLIES}) '
                "{ nodes { id } } resources { id } } }"
            },
            headers=admin,
        )
        topic = found.json()["data"]["topic"]
        cases = [
            *CASES,
            ("mobile/PostDetail.graphql", Role.MEMBER, {"id": topic["posts"]["nodes"][0]["id"]}),
            (
                "lms/ResourcePerformance.graphql",
                Role.LMS,
                {"ids": [r["id"] for r in topic["resources"]]},
            ),
        ]
        for path, role, variables in cases:
            headers = (
                {"X-API-Key": lms_key}
                if role is Role.LMS
                else {
                    "Authorization": f"Bearer {issue_token(settings, role, 'priya.raman@example.com')}"
                }
            )
            body = {"query": (OPS / path).read_text(), "variables": variables}
            times, counts = [], []
            for _ in range(runs):
                statements.clear()
                start = time.perf_counter()
                response = await client.post("/graphql", json=body, headers=headers)
                times.append(time.perf_counter() - start)
                counts.append(len(statements))
                assert "errors" not in response.json(), json.dumps(response.json())[:500]
            print(f"{path:36} {max(counts):>10} {statistics.median(times) * 1000:>10.1f}")
    await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--people", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with scratch_database() as url:
        asyncio.run(seed_demo(url, anchor=DEMO_ANCHOR))
        asyncio.run(generate(url, people=args.people, posts=args.posts, seed=1))
        print(f"demo + {args.posts} generated posts, {args.people} people; {args.runs} runs each")
        asyncio.run(run(url, args.runs))


if __name__ == "__main__":
    main()
