"""Which web origins may use the API from a browser: CORS for HTTP, and the WebSocket check.

A browser sends ``Origin`` with every cross-origin request and every WebSocket handshake. Tokens
travel in headers, never in cookies, so a foreign page cannot borrow a user's session; the lists
still keep the API to the pages an operator chose (CAMPAIGN_CORS_ORIGINS, CAMPAIGN_WS_ORIGINS).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from api.settings import Settings

ANY = "*"
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def normalize_origin(origin: str) -> str | None:
    """``scheme://host[:port]`` in lower case, the scheme's default port left out; None for
    anything that is not an http(s) origin (``null``, a path, garbage)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def cors_origins(settings: Settings) -> list[str]:
    """The CORS allow-list as CORSMiddleware wants it (normalized; ``*`` kept)."""
    return _normalized(settings.cors_origins)


def ws_origins(settings: Settings) -> list[str]:
    """Origins whose pages may open a WebSocket: CAMPAIGN_WS_ORIGINS, else the CORS origins,
    and always this service's own public origin (GraphiQL's page)."""
    listed = settings.ws_origins if settings.ws_origins is not None else settings.cors_origins
    origins = _normalized(listed)
    own = normalize_origin(settings.public_url) if settings.public_url else None
    if own and own not in origins:
        origins.append(own)
    return origins


def allowed_ws_origin(settings: Settings, origin: str | None) -> bool:
    """Whether a WebSocket handshake carrying this ``Origin`` header may proceed.

    No header means no browser (browsers always send it), so no page to distrust: allowed. A
    same-host handshake is the caller's to allow first (it knows the Host header)."""
    if origin is None:
        return True
    allowed = ws_origins(settings)
    if ANY in allowed:
        return True
    normalized = normalize_origin(origin)
    return normalized is not None and normalized in allowed


def _normalized(origins: list[str]) -> list[str]:
    out: list[str] = []
    for origin in origins:
        value = ANY if origin.strip() == ANY else normalize_origin(origin)
        if value is None:
            raise ValueError(f"not a web origin (scheme://host[:port]): {origin!r}")
        if value not in out:
            out.append(value)
    return out
