"""A new worker's first request per stored document, with and without the warm-up at start.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.warm_up \\
        [--rounds 5]

Creates a scratch database (dropped afterwards) with the demo and the contract's read operations
registered (`campaign persisted register`), then starts a fresh Python process per round, as a
new server worker would be, alternating ``CAMPAIGN_WARM_UP_DOCUMENTS`` off and on (A B A B, so
both see the same load). Each process builds the app, runs its lifespan, waits for the warm-up
when it is on (its duration is reported), sends one throwaway request (the first connection and
the code every request runs once), then times each operation's first request and its second, in
process (httpx over ASGI, no network), as the role that sends it. Prints per operation the
median first and second request in ms for each mode and the ratio of the first requests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OPS = ROOT / "tests" / "contract" / "operations"
PUBLIC_URL = "http://bench.test"
SUBJECT = "priya.raman@example.com"
BIG = 10**9

# label, operation file, role
CASES = [
    ("TopicFeed", "mobile/TopicFeed.graphql", "MEMBER"),
    ("PostDetail", "mobile/PostDetail.graphql", "MEMBER"),
    ("Search", "mobile/Search.graphql", "MEMBER"),
    ("ResourceLinks", "lms/ResourceLinks.graphql", "LMS"),
    ("ResourcePerformance", "lms/ResourcePerformance.graphql", "LMS"),
    ("People", "admin/People.graphql", "ADMIN"),
    ("CampaignDashboard", "web/CampaignDashboard.graphql", "MANAGER"),
    ("ContentMix", "web/ContentMix.graphql", "MANAGER"),
    ("ManagerLeaderboard", "web/ManagerLeaderboard.graphql", "MANAGER"),
]


def _settings(spec: dict[str, Any], warm: bool) -> Any:
    from api.settings import Settings

    budgets: dict[str, Any] = {}
    for role in ("admin", "manager", "member", "lms"):
        budgets[f"query_budget_{role}"] = BIG
        budgets[f"query_budget_{role}_restore"] = float(BIG) * 1000
    return Settings(
        environment="development",
        database_url=spec["database_url"],
        jwt_secret=spec["jwt_secret"],
        public_url=PUBLIC_URL,
        query_cost_max=BIG,
        response_cache_bytes=0,  # the second request executes too
        warm_up_documents=warm,
        **budgets,
    )


async def _child(spec: dict[str, Any]) -> dict[str, Any]:
    """One new worker: the timings of its first requests (module docstring)."""
    import httpx
    from asgi_lifespan import LifespanManager

    from api.app import create_app
    from api.auth import issue_token
    from api.db.session import Database
    from api.domain.enums import Role

    settings = _settings(spec, spec["warm"])
    db = Database.connect(spec["database_url"], pool_size=2)
    app = create_app(settings, db=db)
    headers = {
        role: {"Authorization": f"Bearer {issue_token(settings, Role(role), SUBJECT, 86400)}"}
        for role in ("ADMIN", "MANAGER", "MEMBER")
    }
    headers["LMS"] = {"X-API-Key": spec["lms_key"]}
    out: dict[str, Any] = {"first": {}, "second": {}}
    try:
        async with LifespanManager(app):
            started = time.perf_counter()
            if app.state.warming is not None:
                out["known"] = await app.state.warming
            out["warm_up_ms"] = (time.perf_counter() - started) * 1000
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
                throwaway = {"query": "query Hello { __typename }"}
                await client.post("/graphql", json=throwaway, headers=headers["ADMIN"])
                for label, path, role in CASES:
                    body = {
                        "query": (OPS / path).read_text(),
                        "variables": spec["variables"][label],
                        "operationName": label,
                    }
                    for which in ("first", "second"):
                        t0 = time.perf_counter()
                        answer = await client.post("/graphql", json=body, headers=headers[role])
                        out[which][label] = (time.perf_counter() - t0) * 1000
                        if answer.status_code != 200 or "errors" in answer.json():
                            raise SystemExit(f"{label}: {answer.status_code} {answer.text[:300]}")
    finally:
        await db.dispose()
    return out


async def _prepare(url: str) -> dict[str, Any]:
    import sqlalchemy as sa

    from api.auth import create_api_key
    from api.db.session import Database
    from api.domain.enums import Role
    from api.persisted import register_documents, sha256_of
    from schema.types.node import encode_id

    db = Database.connect(url, pool_size=1)
    try:
        texts = [(OPS / path).read_text() for _, path, _ in CASES]
        await register_documents(db, {sha256_of(t): t for t in texts})
        key = await create_api_key(db, "warm-up bench", Role.LMS)

        async def first(sql: str) -> Any:
            async with db.reading() as session:
                return (await session.execute(sa.text(sql))).scalar_one()

        tag = await first("SELECT hashtag FROM topic ORDER BY id LIMIT 1")
        post = await first(
            "SELECT id FROM post WHERE thread_starter_id IS NULL ORDER BY id LIMIT 1"
        )
        resource = await first("SELECT id FROM resource ORDER BY id LIMIT 1")
        slug = await first("SELECT slug FROM campaign ORDER BY id LIMIT 1")
    finally:
        await db.dispose()
    span = {"since": "2026-01-01T00:00:00+00:00", "until": "2026-03-01T00:00:00+00:00"}
    variables = {
        "TopicFeed": {"hashtag": tag},
        "PostDetail": {"id": encode_id("Post", post)},
        "Search": {"text": "leadership"},
        "ResourceLinks": {"hashtag": tag},
        "ResourcePerformance": {"ids": [encode_id("Resource", resource)]},
        "People": {"first": 20, **span},
        "CampaignDashboard": {"slug": slug, **span},
        "ContentMix": {"slug": slug, **span},
        "ManagerLeaderboard": {"slug": slug, **span},
    }
    return {"database_url": url, "lms_key": key, "variables": variables}


def _run_child(spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.warm_up", "--child"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_child(json.load(sys.stdin)))))
        return
    from api.seed.demo import seed_demo
    from bench.scratch import scratch_database
    from tests.conftest import DEMO_ANCHOR

    with scratch_database() as url:
        asyncio.run(seed_demo(url, anchor=DEMO_ANCHOR))
        spec = {**asyncio.run(_prepare(url)), "jwt_secret": secrets.token_urlsafe(32)}
        runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
        for _ in range(args.rounds):
            for warm in (False, True):  # interleaved: A B A B
                runs[warm].append(_run_child({**spec, "warm": warm}))
    median = statistics.median
    warm_ms = [r["warm_up_ms"] for r in runs[True]]
    print(f"{args.rounds} new workers each way, interleaved; medians in ms (in process)")
    print(
        f"warm-up at start: {median(warm_ms):.0f} ms "
        f"({runs[True][0].get('known')} (text, operation, role) known)"
    )
    print("| operation | role | first, off | first, on | on/off | second, off | second, on |")
    print("|---|---|---|---|---|---|---|")
    for label, _, role in CASES:
        off = median(r["first"][label] for r in runs[False])
        on = median(r["first"][label] for r in runs[True])
        second_off = median(r["second"][label] for r in runs[False])
        second_on = median(r["second"][label] for r in runs[True])
        print(
            f"| {label} | {role} | {off:.1f} | {on:.1f} | {on / off:.2f} | "
            f"{second_off:.1f} | {second_on:.1f} |"
        )


if __name__ == "__main__":
    main()
