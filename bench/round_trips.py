"""What one GraphQL request costs on the wire: statements, BEGIN/COMMIT/ROLLBACK, checkouts.

Run with a checkout's own Python (``bench/versus.py`` runs it in each checkout it compares):
it imports the app of the checkout it runs in, never this file's. Reads a JSON object on
stdin: ``{"database_url", "jwt_secret", "public_url", "cases": [{"label", "body", "headers"}]}``
(a case may say ``"method": "GET"``; ``"response_cache": true`` in the spec keeps the response
cache on, so the second request is answered from it) and prints, per case, its second (warm)
request's counts as JSON. Counted at asyncpg, under
SQLAlchemy: ``statements`` (prepared statements executed), ``transaction_control`` (BEGIN,
COMMIT and ROLLBACK, each a round trip of its own), ``prepares`` (statements parsed anew),
and pooled connection ``checkouts``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from typing import Any

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from asyncpg.connection import Connection
from asyncpg.prepared_stmt import PreparedStatement
from sqlalchemy import event

from api.app import create_app
from api.auth import key_uses
from api.db.session import Database
from api.settings import Settings

counts: Counter[str] = Counter()


def _wrap(cls: Any, name: str, kind: Any) -> None:
    original = getattr(cls, name)

    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts[kind(args) if callable(kind) else kind] += 1
        return await original(self, *args, **kwargs)

    setattr(cls, name, wrapper)


def _control(args: tuple[Any, ...]) -> str:
    text = str(args[0]).lstrip().upper() if args else ""
    return "transaction_control" if text.startswith(("BEGIN", "COMMIT", "ROLLBACK")) else "other"


for method in ("fetch", "fetchrow", "fetchval", "executemany", "explain"):
    if hasattr(PreparedStatement, method):
        _wrap(PreparedStatement, method, "statements")
# Statements sent on the connection itself, not through a PreparedStatement of SQLAlchemy's
# (bookkeeping goes to asyncpg directly: api/db/request_session.py).
for method in ("fetch", "fetchrow", "fetchval"):
    _wrap(Connection, method, "statements")
_wrap(Connection, "execute", _control)
_wrap(Connection, "prepare", "prepares")
_ = asyncpg  # the driver whose calls are counted


async def _send(client: httpx.AsyncClient, case: dict[str, Any]) -> httpx.Response:
    if case.get("method", "POST") == "GET":
        body = case["body"]
        params = {"query": body["query"]}
        if body.get("variables") is not None:
            params["variables"] = json.dumps(body["variables"])
        if body.get("operationName"):
            params["operationName"] = body["operationName"]
        return await client.get("/graphql", params=params, headers=case["headers"])
    return await client.post("/graphql", json=case["body"], headers=case["headers"])


async def main() -> None:
    spec = json.load(sys.stdin)
    # The warm request must execute: no response cache, in a checkout that has one (unless the
    # spec asks for a kept answer's costs).
    uncached = (
        {"response_cache_bytes": 0}
        if "response_cache_bytes" in Settings.model_fields and not spec.get("response_cache")
        else {}
    )
    settings = Settings(
        environment="development",
        database_url=spec["database_url"],
        jwt_secret=spec["jwt_secret"],
        public_url=spec["public_url"],
        **uncached,
    )
    db = Database.connect(spec["database_url"])
    event.listen(db.engine.pool, "checkout", lambda *a: counts.update(["checkouts"]))
    app = create_app(settings, db=db)
    found = {}
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for case in spec["cases"]:
                for _ in range(2):
                    counts.clear()
                    answer = await _send(client, case)
                    assert not answer.json().get("errors"), answer.text[:500]
                    await key_uses(db).drain()  # an API key's first use is recorded aside
                found[case["label"]] = dict(counts)
    await db.dispose()
    print(json.dumps(found))


if __name__ == "__main__":
    asyncio.run(main())
