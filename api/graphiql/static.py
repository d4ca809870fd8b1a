"""GraphiQL's assets over HTTP, under ``assets.STATIC_PATH``: only the pinned files, gzipped for
clients that accept it, cached by browsers for a year (a new version has a new URL)."""

from __future__ import annotations

from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp

from api.graphiql.assets import find

CACHE_CONTROL = "public, max-age=31536000, immutable"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def static_app(folder: Path) -> ASGIApp:
    """The ASGI app to mount at ``STATIC_PATH``, serving the assets in ``folder``."""

    async def asset(request: Request) -> Response:
        path = find(folder, request.path_params["key"])
        if path is None:
            return PlainTextResponse("Not a GraphiQL asset of this service.", status_code=404)
        return FileResponse(
            path,
            media_type=_TYPES.get(path.suffix, "application/octet-stream"),
            headers={"Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff"},
        )

    return GZipMiddleware(Router(routes=[Route("/{key:path}", asset, methods=["GET", "HEAD"])]))
