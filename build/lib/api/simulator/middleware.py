"""The request pipeline in front of every ``/api/v1`` route, in the order a real service would
apply it: auth (401), forced 429 storms, the rate limiter (429), then injected faults (5xx,
hangs, latency, malformed pages), then the route.  Every request ends up in the log.  Before
any of it the network is brought up to its clock, and every answer is dated by that clock.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.simulator.log import RequestRecord
from api.simulator.ratelimit import bucket_of, retry_after_header
from api.simulator.state import SimulatorState

PREFIX = "/api/v1"
RATE_LIMITED = {
    "response": {"message": "Rate limited due to excessive requests.", "stat": "fail", "code": 33}
}
UNAUTHORIZED = {"response": {"message": "Token not found.", "code": 16, "stat": "fail"}}
# Gateways answer 502/503 with HTML, not JSON; clients must not assume a JSON error body.
GATEWAY_PAGE = b"<html><body><h1>%d</h1>The service is temporarily unavailable.</body></html>"


def _token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            return credential.strip() if scheme.lower() == "bearer" else None
    # Old export scripts pass ?access_token=...
    return parse_qs(scope.get("query_string", b"").decode()).get("access_token", [None])[0]


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _dated(send: Send, now: datetime) -> Send:
    """``send`` with the network's present as the ``Date`` header (the campaign clock's under a
    demo replay): a client that follows it stamps what it reads with the demo's time.  The
    server's own Date header is off (``server.py``)."""
    date = format_datetime(now.astimezone(UTC), usegmt=True).encode()

    async def dated(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
            message = {**message, "headers": [*headers, (b"date", date)]}
        await send(message)

    return dated


def _json(payload: Any) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    return json.dumps(payload).encode(), [(b"content-type", b"application/json")]


class SimulatorMiddleware:
    def __init__(self, app: ASGIApp, state: SimulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(PREFIX) and self.state.replay is not None:
            self.state.replay.clock.start()  # the story begins with its first reader
        self.state.tick()  # the network as of now, saved before anything of it is served
        send = _dated(send, self.state.now())
        if not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        state, config = self.state, self.state.config
        arrived = state.clock()
        api_path = scope["path"][len(PREFIX) :]
        token = _token(scope)
        bucket = bucket_of(api_path)

        def log(status: int | None, outcome: str, admitted: bool) -> None:
            state.log.append(
                RequestRecord(
                    at=arrived,
                    wall=datetime.now(UTC).isoformat(),
                    token=token,
                    method=scope["method"],
                    path=scope["path"],
                    query=scope.get("query_string", b"").decode(),
                    bucket=bucket,
                    status=status,
                    outcome=outcome,
                    admitted=admitted,
                )
            )

        user_id = state.user_for(token)
        if user_id is None or token is None:
            await _send(send, 401, *_json(UNAUTHORIZED))
            log(401, "unauthorized", False)
            return
        faulty = state.faults.applies(api_path)
        if faulty and state.faults.storm():
            await self._too_many(send, float(config.retry_after_seconds or 1))
            log(429, "storm", False)
            return
        limit = config.rate_limits.get(bucket, config.rate_limits.get("other"))
        wait = state.limiter.admit(
            token, bucket, limit if config.rate_limits_enabled else None, arrived
        )
        if wait is not None:
            await self._too_many(send, float(config.retry_after_seconds or wait))
            log(429, "rate_limited", False)
            return

        outcome = "ok"
        if faulty:
            status = state.faults.error_status()
            if status is not None:
                body = GATEWAY_PAGE % status if status in (502, 503, 504) else None
                if body is None:
                    await _send(
                        send,
                        status,
                        *_json({"response": {"message": "Internal error", "stat": "fail"}}),
                    )
                else:
                    await _send(send, status, body, [(b"content-type", b"text/html")])
                log(status, "error", True)  # it reached the service, so it used the budget
                return
            if state.faults.hang():
                outcome = "hang"
                receive, gone = await _hang(receive, config.hang_seconds)
                if gone:
                    log(None, "disconnected", True)
                    return
            if config.latency_seconds > 0:
                await asyncio.sleep(config.latency_seconds)

        request_state: MutableMapping[str, Any] = scope.setdefault("state", {})
        # Asked only by a JSON 200 answer, so a 404 or the export ZIP spends no malformed_next.
        malformed = state.faults.malformed if faulty else None
        request_state.update(user_id=user_id, token=token, malformed=malformed)
        request_state["is_admin"] = token == config.admin_token
        statuses: list[int] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            await send(message)

        await self.app(scope, receive, capture)
        if request_state.get("malformed_applied"):
            outcome = "malformed"
        log(statuses[0] if statuses else None, outcome, True)

    async def _too_many(self, send: Send, wait: float) -> None:
        body, headers = _json(RATE_LIMITED)
        if self.state.config.retry_after:
            headers.append((b"retry-after", retry_after_header(wait).encode()))
        await _send(send, 429, body, headers)


async def _hang(receive: Receive, seconds: float) -> tuple[Receive, bool]:
    """Sit on the request for ``seconds`` unless the client gives up first (True if it did).

    Watching ``receive`` consumes the request body, so a replaying receive is handed on.
    """
    consumed: list[Message] = []

    async def until_disconnect() -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            consumed.append(message)

    watcher = asyncio.ensure_future(until_disconnect())
    sleeper = asyncio.ensure_future(asyncio.sleep(seconds))
    done, pending = await asyncio.wait({watcher, sleeper}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    if watcher in done:
        return receive, True

    async def replay() -> Message:
        return consumed.pop(0) if consumed else await receive()

    replayed: Callable[[], Awaitable[Message]] = replay
    return replayed, False
