"""Python CPU per request of the cheap contract reads, this checkout against another, in process.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.request_cpu \\
        [--baseline /work/wt-lean-base] [--database URL_OF_A_NETWORK] [--rounds 4] [--requests 300]

Without ``--database`` a scratch database (dropped afterwards) gets the demo; with it, a
database holding a generated network (``bench.kept_network``'s kept one, say) is read, and
only an LMS key and the budgets' rows are written to it. Each checkout's app (its own
``.venv``) is driven as an ASGI app in its own process (``bench/request_cpu_child.py``: no
HTTP client or server in the measure), A B A B for ``--rounds`` rounds, and prints per
operation the median over rounds of each round's median CPU time per warm request
(``time.process_time``: the process's own work, whatever else runs on the machine) and the
ratio to the baseline. The response cache is off, so every request executes its plan;
``--cache`` turns it on (every warm request is then a kept answer). ``--profile DIR`` writes
each checkout's cProfile of its last round there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import subprocess
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import httpx

from api.app import create_app
from api.auth import create_api_key
from api.db.session import Database
from api.domain.enums import Role
from bench.contract_cases import OPS
from bench.contract_setup import BUDGETS, HASHTAG, PUBLIC_URL, headers_for
from bench.scratch import scratch_database

ROOT = Path(__file__).resolve().parents[1]
OPERATIONS = ["PostDetail", "People", "ResourceLinks", "ResourcePerformance"]


async def _setup(url: str, secret: str) -> tuple[str, dict[str, Any]]:
    """A new LMS key, and the variables: a busy starter of the topic and its resources."""
    from api.settings import Settings

    db = Database.connect(url, pool_size=1)
    try:
        key = await create_api_key(db, "request_cpu", Role.LMS)
        settings = Settings(
            environment="development", database_url=url, jwt_secret=secret, public_url=PUBLIC_URL
        )
        app = create_app(settings, db=db)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            found = await client.post(
                "/graphql",
                headers=headers_for(Role.ADMIN, settings, ""),
                json={
                    "query": "query($h: String!) { topic(hashtag: $h) { posts(first: 1, orderBy:"
                    " {field: REPLIES}) { nodes { id } } resources { id } } }",
                    "variables": {"h": HASHTAG},
                },
            )
        topic = found.json()["data"]["topic"]
    finally:
        await db.dispose()
    return key, {"post_id": topic["posts"]["nodes"][0]["id"], "resources": topic["resources"]}


def _cases(secret: str, key: str, found: dict[str, Any], only: list[str]) -> list[dict[str, Any]]:
    from api.settings import Settings

    settings = Settings(environment="development", jwt_secret=secret, public_url=PUBLIC_URL)
    span = {"since": "2026-08-01T00:00:00+00:00", "until": "2026-11-01T00:00:00+00:00"}
    table = {
        "PostDetail": ("mobile/PostDetail.graphql", Role.MEMBER, {"id": found["post_id"]}),
        "People": ("admin/People.graphql", Role.ADMIN, {"first": 20, **span}),
        "ResourceLinks": ("lms/ResourceLinks.graphql", Role.LMS, {"hashtag": HASHTAG}),
        "ResourcePerformance": (
            "lms/ResourcePerformance.graphql",
            Role.LMS,
            {"ids": [r["id"] for r in found["resources"]]},
        ),
    }
    cases = []
    for label in only:
        path, role, variables = table[label]
        body = {"query": (OPS / path).read_text(), "variables": variables}
        cases.append({"label": label, "body": body, "headers": headers_for(role, settings, key)})
    return cases


def _child(checkout: Path, spec: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [str(checkout / ".venv" / "bin" / "python"), str(ROOT / "bench" / "request_cpu_child.py")],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        cwd=checkout,
    )
    if out.returncode != 0:
        raise SystemExit(f"{checkout}: {out.stderr[-3000:]}")
    found: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout (with its own .venv)")
    parser.add_argument("--database", help="a database holding a network (else the demo)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--only", nargs="+", default=OPERATIONS, choices=OPERATIONS)
    parser.add_argument("--cache", action="store_true", help="response cache on (kept answers)")
    parser.add_argument("--profile", type=Path, help="a folder for each checkout's cProfile")
    args = parser.parse_args()
    checkouts = {"this": ROOT}
    if args.baseline:
        checkouts = {"base": args.baseline.resolve(), **checkouts}
    secret = secrets.token_urlsafe(32)
    where: AbstractContextManager[str] = (
        nullcontext(args.database) if args.database else scratch_database()
    )
    with where as url:
        if not args.database:
            from api.seed.demo import seed_demo
            from tests.conftest import DEMO_ANCHOR

            asyncio.run(seed_demo(url, anchor=DEMO_ANCHOR))
        key, found = asyncio.run(_setup(url, secret))
        spec: dict[str, Any] = {
            "database_url": url,
            "jwt_secret": secret,
            "public_url": PUBLIC_URL,
            "budgets": {k.removeprefix("CAMPAIGN_").lower(): int(v) for k, v in BUDGETS.items()},
            "requests": args.requests,
            "response_cache": args.cache,
            "cases": _cases(secret, key, found, args.only),
        }
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in checkouts}
        for round_ in range(args.rounds):
            for name, path in checkouts.items():
                last = round_ == args.rounds - 1
                profile = str(args.profile / f"{name}.prof") if args.profile and last else None
                runs[name].append(_child(path, {**spec, "profile": profile}))
                cells = {label: round(v["cpu_us_median"]) for label, v in runs[name][-1].items()}
                print(f"round {round_ + 1} {name}: {cells}", flush=True)
    names = list(checkouts)
    print("\nCPU µs per warm request (median of rounds of per-round medians); wall µs; bytes")
    header = " | ".join(f"{n} cpu | {n} wall" for n in names)
    ratio = " | this ÷ base" if "base" in names else ""
    print(f"| operation | {header}{ratio} | bytes |")
    print(f"|---|{'---|---|' * len(names)}{'---|' if ratio else ''}---|")
    for label in args.only:
        cpu = {n: statistics.median(r[label]["cpu_us_median"] for r in runs[n]) for n in names}
        wall = {n: statistics.median(r[label]["wall_us_median"] for r in runs[n]) for n in names}
        cells = " | ".join(f"{cpu[n]:.0f} | {wall[n]:.0f}" for n in names)
        extra = f" | {cpu['this'] / cpu['base']:.2f}" if ratio else ""
        print(f"| {label} | {cells}{extra} | {runs['this'][-1][label]['bytes']} |")


if __name__ == "__main__":
    main()
