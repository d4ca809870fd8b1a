"""How long the API takes to refuse hostile documents (issue 9, the order of defence).

    .venv/bin/python bench/defence.py [--runs 20]

Runs the ASGI app in process. No statement reaches a database (each document is refused
before execution), so the database URL is never connected to. Prints, per document and
principal, the status, the error code and the median and worst time to answer over ``--runs``
runs, and the same for graphql-core validating the document directly (what a document cost
before it was measured first). The 50 MB body is refused from its Content-Length; most of its
time is the in-process transport copying the bytes on the client side.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from graphql import parse, validate

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from api.auth import issue_token  # noqa: E402
from api.domain.enums import Role  # noqa: E402
from api.settings import Settings  # noqa: E402
from schema.schema import build_schema  # noqa: E402

_CHAIN = ["topics(first: 1)", "nodes", "campaign"]
DEEP = "{ " + " { ".join(_CHAIN[i % 3] for i in range(12)) + " { id" + " }" * 12 + " }"
DOCUMENTS: dict[str, str] = {
    "1,249 repeated fields": "{ topics { nodes { " + "id " * 1249 + "} } }",
    "250 repeated subtrees": "{ " + "topics { nodes { id } } " * 250 + "}",
    "13 levels deep": DEEP,
    "40 aliases": "{ " + " ".join(f"t{i}: topics {{ totalCount }}" for i in range(40)) + " }",
    "6,000 tokens": "{ topics { nodes { " + "id " * 6000 + "} } }",
}


def _validation_only(document: str) -> float:
    """Seconds graphql-core's validation alone takes (the cost before the limits pass)."""
    schema = build_schema()._schema
    try:
        parsed = parse(document)
    except Exception:  # over the token limit it never gets here in the API either
        return float("nan")
    start = time.perf_counter()
    validate(schema, parsed)
    return time.perf_counter() - start


async def main(runs: int) -> None:
    settings = Settings(
        environment="test",
        database_url="postgresql://nobody@127.0.0.1:1/never-connected",
        jwt_secret="x" * 40,
        public_url="http://bench.test",
    )
    app = create_app(settings)
    token = issue_token(settings, Role.MEMBER, "member@example.com")
    principals: dict[str, dict[str, str]] = {
        "member": {"Authorization": f"Bearer {token}"},
        "anonymous": {},
    }
    print(f"{'document':<24} {'who':<10} {'status':>6} {'code':<18} {'median':>9} {'max':>9}")
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as c:
            cases: list[tuple[str, str, Any]] = [
                (name, who, {"json": {"query": doc}, "headers": headers})
                for name, doc in DOCUMENTS.items()
                for who, headers in principals.items()
            ]
            big = {"query": "{ topics { totalCount } }", "pad": "x" * 50_000_000}
            cases += [
                ("50 MB body", who, {"json": big, "headers": h}) for who, h in principals.items()
            ]
            for name, who, request in cases:
                times = []
                for _ in range(runs):
                    start = time.perf_counter()
                    response = await c.post("/graphql", **request)
                    times.append(time.perf_counter() - start)
                body = response.json()
                code = (body.get("errors") or [{}])[0].get("extensions", {}).get("code", "-")
                print(
                    f"{name:<24} {who:<10} {response.status_code:>6} {code:<18} "
                    f"{statistics.median(times) * 1000:>7.1f}ms {max(times) * 1000:>7.1f}ms"
                )
    print("\ngraphql-core validation alone (no limits pass first):")
    for name, doc in DOCUMENTS.items():
        print(f"  {name:<24} {_validation_only(doc) * 1000:>9.1f}ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    asyncio.run(main(parser.parse_args().runs))
