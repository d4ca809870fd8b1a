"""Keyset pagination (api.db.pagination): opaque cursors and page arguments."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from api.db.pagination import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Cursor,
    Direction,
    Page,
    keyset_order,
    keyset_where,
    to_page_result,
)
from api.errors import BadUserInput


def forged(payload: Any) -> str:
    """A cursor-shaped string this service never gave out."""
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


# -- cursors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "value_type"),
    [
        (datetime(2024, 11, 13, 15, 30, 12, 345678, tzinfo=UTC), datetime),
        (datetime(2024, 11, 13, 15, 30, tzinfo=timezone(timedelta(hours=-5))), datetime),
        (date(2024, 2, 29), date),
        (0, int),
        (17, int),
        (-3, int),
        (2**63 - 1, int),
        ("", str),
        ("The Carrot Principle", str),
        ('Führung — リーダー "quoted" / + =', str),
        (0.06079271, float),
        (1e-20, float),
    ],
)
def test_cursor_round_trip(value: Any, value_type: type) -> None:
    cursor = Cursor(value, 123456789012)
    decoded = Cursor.decode(cursor.encode(), value_type=value_type)
    assert decoded == cursor
    assert type(decoded.value) is type(value)


def test_datetime_cursor_keeps_its_time_zone() -> None:
    value = datetime(2024, 11, 13, 15, 30, tzinfo=timezone(timedelta(hours=2)))
    decoded = Cursor.decode(Cursor(value, 1).encode(), value_type=datetime)
    assert decoded.value.utcoffset() == timedelta(hours=2)
    assert decoded.value == datetime(2024, 11, 13, 13, 30, tzinfo=UTC)


def test_cursor_without_a_type_gives_back_the_json_value() -> None:
    assert Cursor.decode(Cursor(5, 1).encode()) == Cursor(5, 1)
    assert Cursor.decode(Cursor(None, 1).encode()) == Cursor(None, 1)
    assert Cursor.decode(Cursor(date(2024, 1, 2), 1).encode()) == Cursor("2024-01-02", 1)


def test_cursor_is_opaque_and_url_safe() -> None:
    text = Cursor("a/b+c?d=e & f", 7).encode()
    assert text.isascii()
    assert not set(text) & set("=+/?& \n")
    assert "a/b" not in text


def test_equal_cursors_encode_equally_and_different_ones_differently() -> None:
    moment = datetime(2024, 5, 6, tzinfo=UTC)
    assert Cursor(moment, 1).encode() == Cursor(moment, 1).encode()
    assert Cursor(moment, 1).encode() != Cursor(moment, 2).encode()
    assert Cursor(moment, 1).encode() != Cursor(moment + timedelta(microseconds=1), 1).encode()


@pytest.mark.parametrize(
    "text",
    [
        "a",
        "not-a-cursor",
        "!!!!",
        "é",
        "Zm9v",  # base64 of 'foo'
        base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
        forged(5),
        forged(None),
        forged([]),
        forged([1]),
        forged([1, 2, 3]),
        forged("ab"),
        forged({"value": 1, "id": 2}),
        forged([1, "2"]),
        forged([1, 2.5]),
        forged([1, None]),
    ],
)
def test_garbage_cursors_are_bad_user_input(text: str) -> None:
    for value_type in (None, datetime, date, int, str):
        with pytest.raises(BadUserInput) as info:
            Cursor.decode(text, value_type=value_type)
        assert info.value.field == "after"
        assert info.value.code == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("payload", "value_type"),
    [
        (["yesterday", 1], datetime),
        (["2024-13-01", 1], date),
        ([20240101, 1], datetime),
        ([None, 1], date),
        (["2024-01-01T10:00:00+00:00", 1], date),
        (["17", 1], int),
        ([17, 1], str),
        ([1.5, 1], int),
        ([3, 1], float),
        (["0.5", 1], float),
        # A relevance is a PostgreSQL real: beyond float32's range it is no cursor of ours.
        ([1e300, 1], float),
        ([-3.5e38, 1], float),
    ],
)
def test_cursor_of_the_wrong_type_is_bad_user_input(payload: Any, value_type: type) -> None:
    with pytest.raises(BadUserInput) as info:
        Cursor.decode(forged(payload), value_type=value_type)
    assert info.value.field == "after"


def test_cursor_for_another_sort_is_refused() -> None:
    # A cursor from a connection sorted by likes is no use to one sorted by time.
    by_likes = Cursor(42, 7).encode()
    with pytest.raises(BadUserInput):
        Cursor.decode(by_likes, value_type=datetime)
    with pytest.raises(BadUserInput):
        Cursor.decode(by_likes, value_type=str)


# -- page arguments ---------------------------------------------------------------------------


def test_first_defaults_to_20() -> None:
    page = Page.build(None, None)
    assert page.first == DEFAULT_PAGE_SIZE == 20
    assert page.after is None
    assert page.direction is Direction.DESC


@pytest.mark.parametrize("first", [0, 1, 20, 99, 100])
def test_first_up_to_100_is_accepted(first: int) -> None:
    assert Page.build(first, None).first == first
    assert MAX_PAGE_SIZE == 100


@pytest.mark.parametrize("first", [101, 1000, -1, -20])
def test_first_out_of_range_is_bad_user_input(first: int) -> None:
    with pytest.raises(BadUserInput, match=str(first)) as info:
        Page.build(first, None)
    assert info.value.field == "first"


def test_page_after_a_cursor() -> None:
    moment = datetime(2024, 11, 13, 9, tzinfo=UTC)
    page = Page.build(5, Cursor(moment, 9).encode(), direction=Direction.ASC, value_type=datetime)
    assert page == Page(first=5, after=Cursor(moment, 9), direction=Direction.ASC)


def test_page_with_a_garbage_cursor_is_bad_user_input() -> None:
    with pytest.raises(BadUserInput) as info:
        Page.build(10, "garbage", value_type=datetime)
    assert info.value.field == "after"


def test_pages_are_hashable_so_loaders_can_group_by_them() -> None:
    after = Cursor(3, 1).encode()
    assert len({Page.build(10, after, value_type=int), Page.build(10, after, value_type=int)}) == 1


# -- SQL and results --------------------------------------------------------------------------

posts = sa.table(
    "post",
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("id", sa.BigInteger),
)


def sql(clause: Any) -> str:
    return str(clause.compile(dialect=postgresql.dialect()))


def test_no_cursor_means_no_condition() -> None:
    page = Page.build(10, None)
    assert sql(keyset_where(posts.c.created_at, posts.c.id, page)) == "true"


def test_keyset_condition_follows_the_direction() -> None:
    after = Cursor(datetime(2024, 1, 1, tzinfo=UTC), 5).encode()
    desc = Page.build(10, after, value_type=datetime)
    asc = Page.build(10, after, direction=Direction.ASC, value_type=datetime)
    assert "(post.created_at, post.id) <" in sql(keyset_where(posts.c.created_at, posts.c.id, desc))
    assert "(post.created_at, post.id) >" in sql(keyset_where(posts.c.created_at, posts.c.id, asc))
    assert [sql(c) for c in keyset_order(posts.c.created_at, posts.c.id, desc)] == [
        "post.created_at DESC",
        "post.id DESC",
    ]
    assert [sql(c) for c in keyset_order(posts.c.created_at, posts.c.id, asc)] == [
        "post.created_at ASC",
        "post.id ASC",
    ]


def rows(n: int) -> list[SimpleNamespace]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return [SimpleNamespace(id=100 - i, created_at=start - timedelta(hours=i)) for i in range(n)]


def test_page_result_trims_the_extra_row() -> None:
    page = Page.build(3, None)
    result = to_page_result(rows(4), page, "created_at")
    assert [row.id for row in result.rows] == [100, 99, 98]
    assert result.has_next_page
    assert not result.has_previous_page
    last = Cursor.decode(result.cursors[-1], value_type=datetime)
    assert last == Cursor(result.rows[-1].created_at, 98)


def test_last_page() -> None:
    after = Cursor(datetime(2024, 1, 2, tzinfo=UTC), 101).encode()
    result = to_page_result(rows(3), Page.build(3, after, value_type=datetime), "created_at")
    assert len(result.rows) == len(result.cursors) == 3
    assert not result.has_next_page
    assert result.has_previous_page


def test_empty_page() -> None:
    result = to_page_result([], Page.build(None, None), "created_at")
    assert result.rows == result.cursors == []
    assert not result.has_next_page
