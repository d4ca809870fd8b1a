"""Keyset pagination: page arguments, opaque cursors, and the SQL that applies them.

A cursor holds the sort value and the id of the last row seen, so the next page starts
strictly after it (``(value, id) < (v, i)`` for descending order).  That stays correct while
rows are inserted, and it uses the (value, id) indexes instead of an OFFSET scan.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import struct
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute

from api.errors import BadUserInput

# A sort or key column: a Core column expression or an ORM attribute.
ColumnLike = sa.ColumnElement[Any] | QueryableAttribute[Any]

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
# Ids and integer sort values are PostgreSQL bigints.
_BIGINT = range(-(2**63), 2**63)


class Direction(Enum):
    ASC = "ASC"
    DESC = "DESC"


def _beyond_float32(value: float) -> bool:
    """A relevance is a PostgreSQL real: asyncpg refuses a finite value that rounds to an
    infinite float32, and the statement would fail."""
    if math.isinf(value) or math.isnan(value):
        return False
    try:
        return math.isinf(struct.unpack("f", struct.pack("f", value))[0])
    except OverflowError:  # Python versions that refuse to pack it
        return True


@dataclass(frozen=True, slots=True)
class Cursor:
    value: Any
    id: int

    def encode(self) -> str:
        value = self.value.isoformat() if isinstance(self.value, date) else self.value
        raw = json.dumps([value, self.id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, *, value_type: type | None = None) -> Cursor:
        try:
            padded = text + "=" * (-len(text) % 4)
            value, id_ = json.loads(base64.urlsafe_b64decode(padded.encode()))
            if value_type is datetime:
                value = datetime.fromisoformat(value)
                if value.tzinfo is None:  # ours always carry one
                    raise ValueError("naive timestamp")
            elif value_type is date:
                value = date.fromisoformat(value)
            elif value_type is not None and not isinstance(value, value_type):
                raise TypeError("value")
            if isinstance(value, int) and value not in _BIGINT:
                raise ValueError("value out of range")
            if value_type is float and _beyond_float32(value):
                raise ValueError("value out of range")
            if isinstance(value, str) and "\x00" in value:
                raise ValueError("NUL in text")
            if not isinstance(id_, int) or isinstance(id_, bool) or id_ not in _BIGINT:
                raise TypeError("id")
        except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
            raise BadUserInput(
                "The cursor is not one this service gave out.", field="after"
            ) from exc
        return cls(value, id_)


@dataclass(frozen=True, slots=True)
class Page:
    """How many rows to take and where to start; hashable so loaders can group by it."""

    first: int
    after: Cursor | None = None
    direction: Direction = Direction.DESC

    @classmethod
    def build(
        cls,
        first: int | None,
        after: str | None,
        *,
        direction: Direction = Direction.DESC,
        value_type: type | None = None,
    ) -> Page:
        if first is None:
            first = DEFAULT_PAGE_SIZE
        if first < 0 or first > MAX_PAGE_SIZE:
            raise BadUserInput(
                f"`first` must be between 0 and {MAX_PAGE_SIZE}, got {first}.", field="first"
            )
        cursor = Cursor.decode(after, value_type=value_type) if after else None
        return cls(first=first, after=cursor, direction=direction)


@dataclass(frozen=True, slots=True)
class PageResult:
    rows: list[Any]
    has_next_page: bool
    has_previous_page: bool
    cursors: list[str]


def keyset_where(sort: ColumnLike, id_col: ColumnLike, page: Page) -> Any:
    """The condition that starts a page after its cursor (true when there is none)."""
    if page.after is None:
        return sa.true()
    left = sa.tuple_(sort, id_col)
    right = sa.tuple_(
        sa.literal(page.after.value, sort.type), sa.literal(page.after.id, id_col.type)
    )
    return left < right if page.direction is Direction.DESC else left > right


def keyset_order(sort: ColumnLike, id_col: ColumnLike, page: Page) -> list[Any]:
    if page.direction is Direction.DESC:
        return [sort.desc(), id_col.desc()]
    return [sort.asc(), id_col.asc()]


def to_page_result(rows: list[Any], page: Page, sort_key: str) -> PageResult:
    """Trim the one extra row fetched to learn whether another page exists."""
    has_next = len(rows) > page.first
    rows = rows[: page.first]
    cursors = [Cursor(getattr(row, sort_key), row.id).encode() for row in rows]
    return PageResult(rows, has_next, page.after is not None, cursors)
