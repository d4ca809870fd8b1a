"""The microblog's scalar quirks, as pydantic types used by ``api.sync.payloads``.

- ``YammerId``: 64-bit ids. JSON numbers today (about 4e15, still below 2**53), but parsed so
  that a server sending them as strings (the usual fix once they pass 2**53) keeps working.
- ``YammerTime``: ``"2023/05/16 18:42:34 +0000"``, which is not ISO-8601 despite the old docs
  saying RFC3339. The offset is validated, never assumed, and the result is aware and in UTC.
- ``StrBool``: flags such as ``show_in_directory`` and ``admin`` arrive as ``"true"``/``"false"``.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_INT64_MAX = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(value: Any) -> int:
    # bool is an int subclass; True as an id is a shape error, not id 1.
    if isinstance(value, bool):
        raise ValueError("an id must be a number, not a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
    elif isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        # A JSON encoder that went through doubles; exact below 2**53, so still the same id.
        number = int(value)
    else:
        raise ValueError(f"not a 64-bit id: {value!r}")
    if not 0 < number <= _INT64_MAX:
        raise ValueError(f"id out of the positive 64-bit range: {number}")
    return number


# "2023/05/16 18:42:34 +0000"; the offset is [+-]HHMM and must be a real one.
_YAMMER_TIME = re.compile(
    r"(\d{4})/(\d{2})/(\d{2}) (\d{2}):(\d{2}):(\d{2}) ?([+-])(\d{2}):?(\d{2})"
)
# Real-world UTC offsets run from -12:00 to +14:00.
_MAX_OFFSET = timedelta(hours=14)


def parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        moment = _parse_time_text(value.strip())
    else:
        raise ValueError(f"not a timestamp: {value!r}")
    if moment.tzinfo is UTC:
        return moment  # already aware and in UTC: astimezone would return an equal copy
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timestamp has no UTC offset")
    return moment.astimezone(UTC)


def _parse_time_text(text: str) -> datetime:
    match = _YAMMER_TIME.fullmatch(text)
    if match is None:
        return _parse_iso(text)
    year, month, day, hour, minute, second, sign, off_h, off_m = match.groups()
    try:
        zone = _zone(sign, off_h, off_m)
    except ValueError as exc:
        raise ValueError(f"{exc} in {text!r}") from None
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=zone
        )
    except ValueError as exc:  # 2023/02/30, 25:00:00, ...
        raise ValueError(f"invalid timestamp {text!r}: {exc}") from None


@functools.lru_cache(maxsize=256)
def _zone(sign: str, off_h: str, off_m: str) -> timezone:
    """The zone of an offset's text (``UTC`` itself for +0000).

    Cached: a feed's timestamps share a handful of offsets (nearly always +0000), and a zone
    built afresh for each, then converted to UTC, was a measurable share of parsing a page.
    """
    if int(off_m) >= 60:
        raise ValueError("invalid UTC offset")
    offset = timedelta(hours=int(off_h), minutes=int(off_m))
    if offset > _MAX_OFFSET:
        raise ValueError("UTC offset out of range")
    if not offset:
        return UTC
    return timezone(-offset if sign == "-" else offset)


def _parse_iso(text: str) -> datetime:
    # Tolerated because the legacy docs promise RFC3339; an explicit offset is still required.
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a Yammer timestamp: {text!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"timestamp has no UTC offset: {text!r}")
    if abs(moment.utcoffset() or timedelta()) > _MAX_OFFSET:
        raise ValueError(f"UTC offset out of range in {text!r}")
    return moment


def format_time(moment: datetime) -> str:
    """The inverse of ``parse_time``, in UTC (used to write fixtures and by tests)."""
    return moment.astimezone(UTC).strftime("%Y/%m/%d %H:%M:%S +0000")


_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(f"not a boolean: {value!r}")


def _blank_to_none(value: Any) -> Any:
    # Graph-report style "" for "unknown"; only used where the field is optional.
    return None if isinstance(value, str) and not value.strip() else value


YammerId = Annotated[int, BeforeValidator(parse_id)]
YammerTime = Annotated[
    datetime, BeforeValidator(parse_time), PlainSerializer(format_time, return_type=str)
]
StrBool = Annotated[bool, BeforeValidator(parse_bool)]
OptionalStrBool = Annotated[StrBool | None, BeforeValidator(_blank_to_none)]
