"""The GraphiQL page: the pinned assets, by local URL and with their integrity, around our
script (``page.html``); or, while they are not installed, a page that says how to get them."""

from __future__ import annotations

import functools
import html
from importlib import resources
from pathlib import Path

from api.graphiql.assets import ASSETS, missing

_STYLESHEETS = "<!-- STYLESHEETS -->"
_SCRIPTS = "<!-- SCRIPTS -->"


@functools.cache
def _template() -> str:
    return (resources.files("api.graphiql") / "page.html").read_text(encoding="utf-8")


def _tags(kind: str) -> str:
    tags = []
    for asset in ASSETS:
        if asset.file.kind != kind:
            continue
        url, sri = html.escape(asset.url), asset.file.sri
        if kind == "stylesheet":
            tags.append(f'    <link rel="stylesheet" href="{url}" integrity="{sri}" />')
        else:
            tags.append(f'    <script src="{url}" integrity="{sri}"></script>')
    return "\n".join(tags)


def render(folder: Path) -> tuple[int, str]:
    """The page and its status: 200, or 503 while assets are missing from ``folder``."""
    if missing(folder):
        return 503, _UNAVAILABLE
    page = _template().replace(_STYLESHEETS, _tags("stylesheet"))
    return 200, page.replace(_SCRIPTS, _tags("script"))


_UNAVAILABLE = """<!doctype html>
<html lang="en">
  <head><meta charset="utf-8" /><title>Campaign Graph · GraphiQL not installed</title></head>
  <body style="font-family: sans-serif; max-width: 44em; margin: 3em auto; line-height: 1.5">
    <h1>GraphiQL is not installed on this server</h1>
    <p>This service serves GraphiQL's files itself, never from a CDN, and they have not been
    fetched yet. <code>campaign up</code> fetches them on its first start when npm (which comes
    with Node.js) is on the PATH; otherwise run <code>campaign graphiql install</code> where npm
    can reach its registry, or point <code>CAMPAIGN_GRAPHIQL_ASSETS_DIR</code> at a folder
    where that was done. Then reload this page.</p>
    <p>Meanwhile any GraphQL client can query this endpoint with the header
    <code>Authorization: Bearer &lt;token&gt;</code>.</p>
  </body>
</html>
"""
