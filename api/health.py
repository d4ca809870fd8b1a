"""Liveness (no I/O) and readiness (database reachable and at the migration head)."""

from __future__ import annotations

import os

from starlette.requests import Request
from starlette.responses import JSONResponse

from api.db.migrations import head_revision
from api.db.repositories.health import migration_revision


async def healthz(request: Request) -> JSONResponse:
    # Which process answered: `campaign serve --workers N` runs N behind one port.
    return JSONResponse({"status": "ok"}, headers={"X-Process-Id": str(os.getpid())})


async def readyz(request: Request) -> JSONResponse:
    db = request.app.state.db
    head = request.app.state.migration_head
    try:
        async with db.reading() as session:
            current = await migration_revision(session)
    except Exception as exc:  # any failure to reach the database means "not ready"
        return JSONResponse({"status": "unavailable", "error": type(exc).__name__}, status_code=503)
    if current != head:
        return JSONResponse(
            {"status": "migrations pending", "database": current, "head": head}, status_code=503
        )
    return JSONResponse({"status": "ready", "revision": current})


__all__ = ["head_revision", "healthz", "readyz"]
