"""How errors reach clients and the log.

Every error gets ``extensions.code``. A client's mistake (a domain error, a refused document, a
variable that does not coerce) is shown as it is and logged at INFO without a traceback; anything
else is a defect: masked as INTERNAL_SERVER_ERROR with the request id, logged at ERROR with its
traceback and the same id, so a report from a client finds its log line.
"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError
from graphql.error import GraphQLSyntaxError
from strawberry.extensions import MaskErrors

from api.errors import ApiError

log = logging.getLogger(__name__)

INTERNAL = "INTERNAL_SERVER_ERROR"
# What graphql-core says when a document has more tokens than the parser was allowed.
_TOKEN_LIMIT = "tokens. Parsing aborted"


def _api_error(error: GraphQLError) -> ApiError | None:
    original = error.original_error
    while isinstance(original, GraphQLError):
        original = original.original_error
    return original if isinstance(original, ApiError) else None


def classify(error: GraphQLError) -> str:
    """The code of an error; INTERNAL_SERVER_ERROR only for defects."""
    api_error = _api_error(error)
    if api_error is not None:
        return api_error.code
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    if _TOKEN_LIMIT in error.message:
        return "QUERY_TOO_COMPLEX"
    if isinstance(error, GraphQLSyntaxError) or isinstance(
        error.original_error, GraphQLSyntaxError
    ):
        return "GRAPHQL_PARSE_FAILED"
    if error.original_error is None:
        return "GRAPHQL_VALIDATION_FAILED"
    if error.path is None and error.nodes:
        # graphql-core's validation of the document (a literal a scalar refuses, such as
        # `"2026-02-30"` for a Date) keeps the scalar's exception as the original error.
        return "GRAPHQL_VALIDATION_FAILED"
    return INTERNAL


def request_id(execution_context: Any) -> str | None:
    request = getattr(getattr(execution_context, "context", None), "request", None)
    state = getattr(request, "state", None)
    return getattr(state, "request_id", None)


def log_errors(errors: list[GraphQLError], execution_context: Any) -> None:
    """Log each error once, at the level its kind deserves (replaces Strawberry's logging,
    which logs every error, a refused permission included, at ERROR with a traceback)."""
    rid = request_id(execution_context)
    for error in errors:
        code = classify(error)
        if code == INTERNAL:
            log.error(
                "unexpected error at %s (request %s)",
                error.path,
                rid,
                exc_info=error.original_error or error,
            )
        else:
            log.info("%s at %s (request %s): %s", code, error.path, rid, error.message)


class ErrorCodes(MaskErrors):
    """Give every error a code; replace defects by a generic message with the request id."""

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        out = []
        for error in errors:
            code = classify(error)
            if code == INTERNAL:
                masked = self.anonymise_error(error)
                masked.extensions = {"code": INTERNAL}
                rid = request_id(self.execution_context)
                if rid:
                    masked.extensions["requestId"] = rid
                out.append(masked)
                continue
            extensions = {**(error.extensions or {}), "code": code}
            api_error = _api_error(error)
            if api_error is not None and api_error.field:
                extensions["field"] = api_error.field
            error.extensions = extensions
            out.append(error)
        return out
