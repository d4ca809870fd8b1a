"""JSON responses in Yammer's style, with the malformed-page fault applied at the last moment."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from api.simulator.faults import malform


def json_response(request: Request, payload: Any, status: int = 200) -> Response:
    decide = getattr(request.state, "malformed", None) if status == 200 else None
    mode = decide() if decide else None
    if mode:
        request.state.malformed_applied = True
        body = malform(payload, mode)
    else:
        body = json.dumps(payload, ensure_ascii=False).encode()
    return Response(body, status, media_type="application/json")


def fail(status: int, message: str, code: int | None = None) -> Response:
    """Yammer's legacy error body; the 401 and 429 ones are documented, the others assumed."""
    body = {"response": {"message": message, "code": code or status, "stat": "fail"}}
    return Response(json.dumps(body), status, media_type="application/json")


def unauthorized() -> Response:
    return fail(401, "Token not found.", 16)


def not_found(what: str = "Not found") -> Response:
    return fail(404, what)


def forbidden(what: str = "Forbidden") -> Response:
    return fail(403, what)


def bad_request(what: str) -> Response:
    return fail(400, what)
