"""Errors raised by the microblog client, one class per thing the worker does differently.

MicroblogError               any failure talking to the microblog (other 4xx land here as-is)
├── MicroblogUnavailable     5xx, timeouts, connection errors, still failing after bounded retries
│                            -> mark the feed failed, move on, try again next pass
├── RateLimited              429 still answered after retries (or a Retry-After too long to wait)
│                            -> stop spending the budget; ``retry_after`` says for how long
├── AuthFailed               401 (Yammer code 16 "Token not found.")
│                            -> stop the run: every further call would fail the same way
├── Forbidden                403 (private group the token's user is not in, DM, ...)
│                            -> record the feed/object as inaccessible, do not retry forever
├── NotFound                 404 (deleted message or thread, or no access)
│                            -> tombstone (``deleted_at``), never a silent drop
└── PayloadError             2xx whose body is not JSON, or not the documented shape
                             -> record the page as failed; retry or skip it

Every error carries the request ``path`` (with its query, never the token: the token travels
only in the Authorization header) and the HTTP ``status`` where there was one, and ``code``,
Yammer's ``response.code`` from the error body when it sent one.
"""

from __future__ import annotations


class MicroblogError(Exception):
    """A failed call to the microblog."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        status: int | None = None,
        code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.status = status
        self.code = code

    def __str__(self) -> str:
        where = f" on GET {self.path}" if self.path else ""
        status = f" (HTTP {self.status})" if self.status is not None else ""
        return f"{self.message}{where}{status}"


class MicroblogUnavailable(MicroblogError):
    """5xx, timeouts or connection errors that outlasted the retries."""


class RateLimited(MicroblogError):
    """429 that outlasted the retries; ``retry_after`` is the last wait the server asked for."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        status: int | None = 429,
        code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, path=path, status=status, code=code)
        self.retry_after = retry_after


class AuthFailed(MicroblogError):
    """401: the token is missing, expired or revoked."""


class Forbidden(MicroblogError):
    """403: the token's user may not see this (private group, someone else's DM)."""


class NotFound(MicroblogError):
    """404: deleted, or invisible to this token (the microblog does not say which)."""


class PayloadError(MicroblogError):
    """A successful response whose body is not the documented JSON shape."""


class IncompleteWalk(MicroblogError):
    """Paging stopped before the end (the server ignored the cursor, a page bound): what was
    read is kept, but nothing may be concluded from what was not read."""


class Interrupted(Exception):
    """A wait on the microblog (rate budget, retry back-off) ended because the worker is
    stopping or lost its polling lock. Not a ``MicroblogError``: no feed failed; the pass
    ends where it is, and what it committed stays committed."""
