"""Round trips per request, bookkeeping included: this checkout, and another side by side.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.bookkeeping \\
        [--baseline /tmp/base]

Creates a scratch database (dropped afterwards) with the demo, then runs ``bench/round_trips.py``
in each checkout's own Python for a few contract reads, as the role that sends each (an LMS key
for ResourceLinks, whose look-up is then part of the request), over POST and GET, with the
response cache off (the request executes) and on (its second request is answered from the
cache). Prints, per case, what the warm request sent: statements, BEGIN/COMMIT/ROLLBACK, and
their sum, the round trips to PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
from pathlib import Path
from typing import Any

from api.auth import create_api_key, issue_token
from api.db.session import Database
from api.domain.enums import Role
from api.seed.demo import seed_demo
from bench.scratch import scratch_database
from bench.timing import interleaved, round_trips
from tests.conftest import DEMO_ANCHOR

ROOT = Path(__file__).resolve().parents[1]
OPS = ROOT / "tests" / "contract" / "operations"
PUBLIC_URL = "http://bench.test"
SUBJECT = "priya.raman@example.com"

# label, operation file, role, variables
CASES: list[tuple[str, str, Role, dict[str, Any]]] = [
    ("TopicFeed", "mobile/TopicFeed.graphql", Role.MEMBER, {"hashtag": "leadership", "first": 20}),
    ("Search", "mobile/Search.graphql", Role.MEMBER, {"text": "leadership", "first": 10}),
    ("ResourceLinks", "lms/ResourceLinks.graphql", Role.LMS, {"hashtag": "leadership"}),
]


def _spec(url: str, secret: str, lms_key: str, method: str, cache: bool) -> dict[str, Any]:
    from api.settings import Settings

    settings = Settings(
        environment="development", database_url=url, jwt_secret=secret, public_url=PUBLIC_URL
    )
    cases = []
    for label, path, role, variables in CASES:
        headers = (
            {"X-API-Key": lms_key}
            if role is Role.LMS
            else {"Authorization": f"Bearer {issue_token(settings, role, SUBJECT, 86400)}"}
        )
        body = {"query": (OPS / path).read_text(), "variables": variables}
        cases.append({"label": label, "body": body, "headers": headers, "method": method})
    return {
        "database_url": url,
        "jwt_secret": secret,
        "public_url": PUBLIC_URL,
        "response_cache": cache,
        "cases": cases,
    }


async def _key(url: str) -> str:
    db = Database.connect(url, pool_size=1)
    try:
        return await create_api_key(db, "bookkeeping", Role.LMS)
    finally:
        await db.dispose()


def _cell(counts: dict[str, int]) -> str:
    statements = counts.get("statements", 0)
    control = counts.get("transaction_control", 0)
    return f"{statements} + {control} = {statements + control}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout (with its own .venv)")
    args = parser.parse_args()
    checkouts = {"this": ROOT}
    if args.baseline:
        checkouts = {"base": args.baseline.resolve(), **checkouts}
    secret = secrets.token_urlsafe(32)
    with scratch_database() as url:
        asyncio.run(seed_demo(url, anchor=DEMO_ANCHOR))
        lms_key = asyncio.run(_key(url))
        names = list(checkouts)
        print("statements + BEGIN/COMMIT/ROLLBACK = round trips, the second (warm) request")
        print(f"| case | method | cache | {' | '.join(names)} |")
        print(f"|---|---|---|{'---|' * len(names)}")
        specs = {
            (method, cache): _spec(url, secret, lms_key, method, cache)
            for method in ("POST", "GET")
            for cache in (False, True)
        }
        for method, cache in specs:
            # One round: these are counts, not timings; each checkout in turn.
            runs = interleaved(
                [(method, cache)],
                names,
                1,
                lambda key, name: round_trips(checkouts[name], specs[key]),
            )
            found = {name: measured[0] for _key, name, measured in runs}
            for label, *_ in CASES:
                cells = " | ".join(_cell(found[name][label]) for name in names)
                kept = "hit" if cache else "off"
                print(f"| {label} | {method} | {kept} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
