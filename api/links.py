"""Tracked links: ``/r/<token>`` records a click and redirects to the resource."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from api.db.repositories import resources

_CLIENT = re.compile(r"^[a-z0-9_-]{1,32}$")


async def follow(request: Request) -> Response:
    token = request.path_params["token"]
    client = request.query_params.get("client", "unknown").lower()
    if not _CLIENT.match(client):
        client = "unknown"
    async with request.app.state.db.unit_of_work() as session:
        resource = await resources.get_by_token(session, token)
        if resource is None:
            return JSONResponse({"error": "unknown link", "code": "NOT_FOUND"}, status_code=404)
        await resources.record_click(session, resource.id, client)
    return RedirectResponse(resource.url, status_code=302)
