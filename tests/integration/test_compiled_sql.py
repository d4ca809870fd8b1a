"""The SQL a compiled plan renders values with gives what the resolvers' Python gives.

``excerpt`` (api/domain/text.excerpt) over any text, whitespace of every kind and any script
included, a relevance's cursor (``Cursor.encode`` of a ``real``) for any float32, and a
name's cursor (``Cursor.encode`` of a text, as ``json.dumps`` writes it) for any text.
"""

from __future__ import annotations

import math
import struct
import sys
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from api.db.compiled import sql
from api.db.pagination import Cursor
from api.db.session import asyncpg_connect_args
from api.domain.text import excerpt
from tests import dbs

SPACES = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())


def test_the_whitespace_class_is_pythons() -> None:
    listed = {chr(c) for first, last in sql.WHITESPACE for c in range(first, last + 1)}
    assert listed == set(SPACES)


@pytest.fixture(scope="module")
def url(pg_server: dbs.TestServer) -> Iterator[str]:
    url = pg_server.create()
    yield url
    pg_server.drop(url)


def _rows(url: str, statement: str, *args: Any) -> list[Any]:
    async def run() -> list[Any]:
        conn = await asyncpg.connect(**asyncpg_connect_args(url))
        try:
            return list(await conn.fetch(statement, *args))
        finally:
            await conn.close()

    return dbs.in_thread(run())


def _excerpts(url: str, bodies: list[str]) -> list[str]:
    statement = (
        f"SELECT {sql.excerpt('b.body')} FROM unnest($1::text[]) WITH ORDINALITY AS b(body, i) "
        "ORDER BY b.i"
    )
    return [row[0] for row in _rows(url, statement, bodies)]


# Words, punctuation the excerpt trims, and every kind of whitespace, so that cuts land on
# spaces, trimmed characters and long words alike; any other character too.
PIECES = st.one_of(
    st.text(alphabet="ab,;:- ", min_size=1, max_size=12),
    st.text(alphabet=SPACES + "\u200b\ufeff", min_size=1, max_size=4),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"], min_codepoint=1), max_size=8),
    st.sampled_from(["x" * 139, "y" * 140, "w" * 141, "é" * 70, "😀" * 50, "日本語" * 30]),
)
BODIES = st.lists(PIECES, max_size=40).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies=st.lists(BODIES, min_size=1, max_size=25))
@example(
    bodies=[
        "",
        " \u3000\u2028 ",
        "a" * 140,
        "a" * 141,
        "a" * 139 + " b",
        "a" * 140 + " b",
        " " + "a" * 141,
        "a" * 135 + ", " + "b" * 20,
        "a" * 130 + ", then -- " + "b" * 50,
        "word\u00a0\u1680\u2000\u200a\x1c\x85end " * 20,
        "zero\u200bwidth " * 30,
        "- " * 100,
    ]
)
def test_excerpt_in_sql_is_pythons(url: str, bodies: list[str]) -> None:
    assert _excerpts(url, bodies) == [excerpt(body) for body in bodies]


FLOAT32 = st.floats(width=32, allow_nan=False, allow_infinity=False).filter(
    lambda v: abs(v) < 1e15 or v == 0  # where ts_rank lives (see sql.float_text)
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(FLOAT32, min_size=1, max_size=50))
@example(values=[0.0, 1.0, 0.1, 1e-20, 0.0607927, 0.0991032, 1e-5, 123456.0, 2.5e-7])
def test_relevance_cursors_in_sql_are_pythons(url: str, values: list[float]) -> None:
    statement = (
        f"SELECT {sql.float_cursor('v.x', 'v.i')} FROM unnest($1::real[]) WITH ORDINALITY "
        "AS v(x, i) ORDER BY v.i"
    )
    rows = [row[0] for row in _rows(url, statement, values)]
    # asyncpg reads a real as the double nearest it, which the resolvers' cursors carry.
    doubles = [struct.unpack("f", struct.pack("f", v))[0] for v in values]
    assert all(math.isfinite(d) for d in doubles)
    assert rows == [Cursor(d, i).encode() for i, d in enumerate(doubles, start=1)]


# Names: ASCII (PostgreSQL's own JSON escapes), DEL, controls, quotes, backslashes and any
# other script (Python's \\uXXXX escapes, surrogate pairs beyond the BMP).
NAMES = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
    st.text(alphabet='"\\\x7f\t\n\x01 aZ', max_size=12),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"], min_codepoint=1), max_size=12),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=st.lists(NAMES, min_size=1, max_size=25))
@example(names=["", "Zoë O'Brien", 'Quote "Q" Back\\slash', "Del\x7f", "Emoji 😀", "日本 語"])
def test_text_cursors_in_sql_are_pythons(url: str, names: list[str]) -> None:
    statement = (
        f"SELECT {sql.text_cursor('v.x', 'v.i')} FROM unnest($1::text[]) WITH ORDINALITY "
        "AS v(x, i) ORDER BY v.i"
    )
    rows = [row[0] for row in _rows(url, statement, names)]
    assert rows == [Cursor(name, i).encode() for i, name in enumerate(names, start=1)]
