"""The GraphiQL page: the pinned assets, by local URL and with their integrity, around our
script (``page.html``); or, while they are not installed, a page that says how to get them."""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from api.graphiql.assets import ASSETS, missing

_STYLESHEETS = "<!-- STYLESHEETS -->"
_SCRIPTS = "<!-- SCRIPTS -->"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


@dataclass(frozen=True)
class Page:
    status: int
    html: str
    headers: dict[str, str] = field(default_factory=dict)


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


@functools.cache
def _page() -> Page:
    template = (resources.files("api.graphiql") / "page.html").read_text(encoding="utf-8")
    text = template.replace(_STYLESHEETS, _tags("stylesheet")).replace(_SCRIPTS, _tags("script"))
    inline = [
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in _INLINE_SCRIPT.findall(text)
    ]
    # The browser itself keeps the page to this service: scripts only from here (and our own
    # inline one, by its hash), requests only to here. GraphiQL and CodeMirror set inline
    # styles, and GraphiQL's stylesheet carries its fonts as data: URLs.
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' {' '.join(inline)}",
            "style-src 'self' 'unsafe-inline'",
            "font-src data:",
            "img-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return Page(200, text, {"Content-Security-Policy": policy})


def render(folder: Path) -> Page:
    """The page: 200, or 503 while assets are missing from ``folder``."""
    return _UNAVAILABLE if missing(folder) else _page()


_UNAVAILABLE = Page(
    503,
    """<!doctype html>
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
""",
)
