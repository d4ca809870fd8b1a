"""Python CPU per request, in process: one checkout's app, driven as an ASGI app.

Run with a checkout's own Python (``bench/request_cpu.py`` runs it in each checkout it
compares): it imports the app of the checkout it runs in, never this file's. Reads a JSON
object on stdin: ``{"database_url", "jwt_secret", "public_url", "budgets", "requests",
"cases": [{"label", "body", "headers"}], "profile": optional path}`` and prints, per case, the
CPU (``time.process_time``) and wall time per request in microseconds (median and mean over
``requests`` warm requests), as JSON on its last line.

The app is called as ASGI directly (one scope, one body message, the answer collected), so
what is measured is the app's own work: middleware, the endpoint, the database driver, no
HTTP client or server. Every answer is checked: status 200 and no ``errors``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from typing import Any

from asgi_lifespan import LifespanManager

from api.app import create_app
from api.auth import key_uses
from api.db.session import Database
from api.settings import Settings


def _scope(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    raw = [(b"host", b"bench"), (b"content-type", b"application/json")]
    raw += [(b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "query_string": b"",
        "headers": raw,
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
        "state": {},
    }


async def _call(app: Any, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # never: the app has read its body
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(_scope(body, headers), receive, send)
    return status, b"".join(chunks)


async def main() -> None:
    spec = json.load(sys.stdin)
    extra = {"response_cache_bytes": 0} if not spec.get("response_cache") else {}
    settings = Settings(
        environment="development",
        database_url=spec["database_url"],
        jwt_secret=spec["jwt_secret"],
        public_url=spec["public_url"],
        db_pool_size=2,
        **spec.get("budgets", {}),
        **extra,
    )
    db = Database.connect(spec["database_url"], pool_size=2)
    app = create_app(settings, db=db)
    n = spec["requests"]
    found: dict[str, Any] = {}
    profiler = None
    async with LifespanManager(app):
        for case in spec["cases"]:
            body = json.dumps(case["body"]).encode()
            for _ in range(5):  # the document made known, plans compiled, statements prepared
                status, answer = await _call(app, body, case["headers"])
                if status != 200 or b'"errors"' in answer:
                    raise SystemExit(f"{case['label']}: {status} {answer[:500]!r}")
            await key_uses(db).drain()
            if spec.get("profile"):
                import cProfile

                profiler = profiler or cProfile.Profile(time.process_time)
                profiler.enable()
            cpu: list[float] = []
            wall: list[float] = []
            size = 0
            for _ in range(n):
                c0, w0 = time.process_time(), time.perf_counter()
                status, answer = await _call(app, body, case["headers"])
                cpu.append(time.process_time() - c0)
                wall.append(time.perf_counter() - w0)
                if status != 200 or b'"errors"' in answer:
                    raise SystemExit(f"{case['label']}: {status} {answer[:500]!r}")
                size = len(answer)
            if profiler is not None:
                profiler.disable()
            found[case["label"]] = {
                "cpu_us_median": statistics.median(cpu) * 1e6,
                "cpu_us_mean": statistics.fmean(cpu) * 1e6,
                "wall_us_median": statistics.median(wall) * 1e6,
                "bytes": size,
            }
            await key_uses(db).drain()
    await db.dispose()
    if profiler is not None:
        profiler.dump_stats(spec["profile"])
    print(json.dumps(found))


if __name__ == "__main__":
    asyncio.run(main())
