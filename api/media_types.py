"""Which media type a GraphQL answer is sent as (GraphQL over HTTP)."""

from __future__ import annotations

from functools import lru_cache

GRAPHQL_RESPONSE = "application/graphql-response+json"


@lru_cache(maxsize=256)  # clients send the same few Accept headers: each parsed once
def prefers_graphql_response(accept: str | None) -> bool:
    """Whether ``Accept`` prefers application/graphql-response+json to application/json
    (GraphQL over HTTP); ``*/*`` and no Accept at all mean application/json."""
    wanted = {GRAPHQL_RESPONSE: 0.0, "application/json": 0.0}
    for part in (accept or "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        key = "application/json" if media in ("*/*", "application/*") else media
        if key in wanted:
            wanted[key] = max(wanted[key], quality)
    return wanted[GRAPHQL_RESPONSE] > 0 and wanted[GRAPHQL_RESPONSE] >= wanted["application/json"]


def content_type(graphql_response: bool) -> str:
    """The Content-Type of a GraphQL answer."""
    return f"{GRAPHQL_RESPONSE}; charset=utf-8" if graphql_response else "application/json"
