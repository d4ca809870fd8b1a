"""GET answers: a full 200 against a 304 for an unchanged ETag, and what APQ saves on the wire.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/http_cache.py

Creates a scratch database on that server (dropped afterwards) with the demo campaign. For
each operation, sends ``--requests`` GETs one after another as a manager, first without
``If-None-Match`` (executed: statements and latency), then with the ETag the first answer
gave (304: only the data version is read), and reports the median latency, the statements per
request and the bytes answered; then the URL's length with the document against its APQ hash.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from api.auth import issue_token  # noqa: E402
from api.db.session import Database  # noqa: E402
from api.domain.enums import Role  # noqa: E402
from api.seed.demo import seed_demo  # noqa: E402
from api.settings import Settings  # noqa: E402
from bench.scratch import scratch_database  # noqa: E402
from tests.conftest import DEMO_ANCHOR  # noqa: E402
from tests.e2e import demo_facts as facts  # noqa: E402

OPERATIONS = ROOT / "tests" / "contract" / "operations"
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("TopicFeed", "mobile/TopicFeed.graphql", {"hashtag": "leadership"}),
    ("ResourceLinks", "lms/ResourceLinks.graphql", {"hashtag": "leadership"}),
    ("People", "admin/People.graphql", facts.RANGE),
]


async def run(url: str, requests: int) -> None:
    settings = Settings(
        environment="test", database_url=url, jwt_secret="x" * 40, public_url="http://bench"
    )
    db = Database.connect(url, pool_size=5)
    app = create_app(settings, db=db)
    statements: list[str] = []
    event.listen(
        db.engine.sync_engine,
        "before_cursor_execute",
        lambda *args: statements.append(args[2]),
    )
    token = issue_token(settings, Role.ADMIN, "admin@example.com")
    headers = {"Authorization": f"Bearer {token}"}
    print(f"{requests} sequential GETs per row")
    print(f"{'operation':14} {'answer':6} {'p50 ms':>8} {'stmts':>6} {'bytes':>7}")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for name, path, variables in CASES:
            text = (OPERATIONS / path).read_text()
            params = {"query": text, "variables": json.dumps(variables), "operationName": name}
            first = await client.get("/graphql", params=params, headers=headers)
            etag = first.headers["etag"]
            for label, extra in (("200", {}), ("304", {"If-None-Match": etag})):
                times, size = [], 0
                statements.clear()
                for _ in range(requests):
                    start = time.perf_counter()
                    response = await client.get("/graphql", params=params, headers=headers | extra)
                    times.append(time.perf_counter() - start)
                    assert response.status_code == int(label), response.text[:200]
                    size = len(response.content)
                per = len(statements) / requests
                p50 = statistics.median(times) * 1000
                print(f"{name:14} {label:6} {p50:>8.2f} {per:>6.1f} {size:>7}")
            by_hash = {
                "persistedQuery": {
                    "version": 1,
                    "sha256Hash": hashlib.sha256(text.encode()).hexdigest(),
                }
            }
            full = len(urlencode(params))
            hashed = len(urlencode({**params, "query": "", "extensions": json.dumps(by_hash)}))
            print(f"{name:14} URL {full} bytes with the document, {hashed} with its APQ hash")
    await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    with scratch_database() as url:
        asyncio.run(seed_demo(url, anchor=DEMO_ANCHOR))
        asyncio.run(run(url, args.requests))


if __name__ == "__main__":
    main()
