"""How errors reach clients: domain errors with ``extensions.code``; unexpected ones masked."""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from api.errors import ApiError

log = logging.getLogger(__name__)


def _api_error(error: GraphQLError) -> ApiError | None:
    original = error.original_error
    while isinstance(original, GraphQLError):
        original = original.original_error
    return original if isinstance(original, ApiError) else None


# What Strawberry's depth and alias limiters and graphql-core's token limit say (a test
# notices when a new version words them differently).
_LIMITS = ("exceeds maximum operation depth", "aliases found. Allowed", "tokens. Parsing aborted")


def _too_complex(error: GraphQLError) -> bool:
    return any(limit in error.message for limit in _LIMITS)


class ErrorCodes(MaskErrors):
    """Give every error a code; replace unexpected ones by a generic message (and log them)."""

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        out = []
        for error in errors:
            api_error = _api_error(error)
            if api_error is not None:
                error.extensions = {**(error.extensions or {}), "code": api_error.code}
                if api_error.field:
                    error.extensions["field"] = api_error.field
                out.append(error)
            elif error.original_error is None or _too_complex(error):
                # Parse and validation errors: about the query, safe to show as they are.
                code = "QUERY_TOO_COMPLEX" if _too_complex(error) else "GRAPHQL_VALIDATION_FAILED"
                error.extensions = {"code": code, **(error.extensions or {})}
                out.append(error)
            else:
                log.error("unexpected error in %s", error.path, exc_info=error.original_error)
                masked = self.anonymise_error(error)
                masked.extensions = {"code": "INTERNAL_SERVER_ERROR"}
                out.append(masked)
        return out
