"""Python CPU per request of the app's middleware and routing alone, in process, no database.

    .venv/bin/python -m bench.middleware_cpu [--requests 20000] [--rounds 3]

The app is ``create_app``'s own (its middleware, settings and route table), with the GraphQL
view behind ``/graphql``'s ``BodyLimit`` replaced by a stub that reads the body and answers a
two-byte JSON: what is left is the stack a fast-path request crosses before ``api/graphql.py``
sees it. Each variant keeps a subset of the middleware (``none``: Starlette's own error and
exception middleware and the router only), and the variants are measured in turn, round after
round, as ``time.process_time`` per POST /graphql with an Origin, no X-Request-ID (so one is
made) and a bearer token. It prints per variant the median over rounds, and what each middleware
adds to ``none``. Compare with ``bench.request_cpu``'s CPU per warm request (the whole answer)
to see the share the stack takes.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from api.app import create_app
from api.graphql import BodyLimit
from api.settings import Settings

BODY = b'{"query":"query PostDetail($id: ID!) { post(id: $id) { id } }","variables":{"id":"x"}}'
HEADERS = [
    (b"host", b"bench"),
    (b"content-type", b"application/json"),
    (b"authorization", b"Bearer not-checked-by-the-stub"),
    (b"content-length", str(len(BODY)).encode()),
    (b"origin", b"http://localhost:5173"),
]


async def _stub(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    start: Message = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")],
    }
    await send(start)
    await send({"type": "http.response.body", "body": b"{}"})


def _apps() -> dict[str, Starlette]:
    settings = Settings(
        environment="development",
        database_url="postgresql://postgres@127.0.0.1:5432/never-connected",
        jwt_secret="s" * 40,
        public_url="http://localhost:8000",
    )
    apps = {}
    full = create_app(settings)
    layers = list(full.user_middleware)
    names = ["none", "request id", "cors", "metrics", "all"]
    subsets = [[], layers[:1], layers[1:2], layers[2:], layers]
    for name, subset in zip(names, subsets, strict=True):
        app = create_app(settings)
        graphql = next(
            r for r in app.router.routes if isinstance(r, Route) and r.path == "/graphql"
        )
        graphql.app = BodyLimit(_stub, settings.max_body_bytes)
        app.user_middleware = list(subset)  # the stack is built at the first call
        apps[name] = app
    return apps


def _scope() -> dict[str, Any]:
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
        "headers": list(HEADERS),
        "client": ("127.0.0.1", 40000),
        "server": ("bench", 80),
    }


async def _call(app: Starlette) -> None:
    async def receive() -> Message:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise SystemExit(f"status {message['status']}")

    await app(_scope(), receive, send)


async def main(requests: int, rounds: int) -> None:
    apps = _apps()
    found: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(rounds):
        for name, app in apps.items():
            for _ in range(200):
                await _call(app)
            started = time.process_time()
            for _ in range(requests):
                await _call(app)
            found[name].append((time.process_time() - started) / requests * 1e6)
    none = statistics.median(found["none"])
    print("| stack | CPU µs per request | added to none |")
    print("|---|---|---|")
    for name, values in found.items():
        value = statistics.median(values)
        print(f"| {name} | {value:.1f} | {value - none:+.1f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))
