"""Tracked links: ``/r/<token>`` records a click and redirects to the resource."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from api.db.repositories import resources

_CLIENT = re.compile(r"^[a-z0-9_-]{1,32}$")
# Tokens are `secrets.token_urlsafe`; anything else (a NUL, which PostgreSQL text cannot hold,
# or a megabyte of path) is unknown without asking the database.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _not_found() -> Response:
    return JSONResponse({"error": "unknown link", "code": "NOT_FOUND"}, status_code=404)


async def follow(request: Request) -> Response:
    token = request.path_params["token"]
    if not _TOKEN.match(token):
        return _not_found()
    db = request.app.state.db
    if request.method == "HEAD":
        # Link-preview bots and unfurlers probe with HEAD; nobody is following the link, so
        # they get the same answer but no click (they would inflate `clickCount`).
        async with db.reading() as session:
            resource = await resources.get_by_token(session, token)
        return _not_found() if resource is None else RedirectResponse(resource.url, status_code=302)
    client = request.query_params.get("client", "unknown").lower()
    if not _CLIENT.match(client):
        client = "unknown"
    async with db.unit_of_work() as session:
        resource = await resources.get_by_token(session, token)
        if resource is None:
            return _not_found()
        await resources.record_click(session, resource.id, client)
    return RedirectResponse(resource.url, status_code=302)
