"""Domain errors, each with the code clients see in ``extensions.code``.

ApiError
├── BadUserInput      BAD_USER_INPUT   (with the input field at fault)
├── NotFound          NOT_FOUND
├── Unauthenticated   UNAUTHENTICATED
└── Forbidden         FORBIDDEN
"""

from __future__ import annotations


class ApiError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BadUserInput(ApiError):
    code = "BAD_USER_INPUT"


class NotFound(ApiError):
    code = "NOT_FOUND"


class Unauthenticated(ApiError):
    code = "UNAUTHENTICATED"


class Forbidden(ApiError):
    code = "FORBIDDEN"
