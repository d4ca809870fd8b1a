"""SQL expressions that render values exactly as the resolver path serialises them.

Each takes SQL text (a column reference) and returns SQL text; none takes user input, which
always travels as a bind parameter.
"""

from __future__ import annotations


def global_id(type_name: str, pk: str) -> str:
    """``schema.types.node.encode_id``: standard base64 of ``Type:pk``, padded."""
    return f"replace(encode(convert_to('{type_name}:' || {pk}, 'UTF8'), 'base64'), E'\\n', '')"


def iso(column: str) -> str:
    """Python's ``datetime.isoformat()`` of a UTC timestamp (how Strawberry writes DateTime):
    microseconds only when there are some, and ``+00:00``."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"(to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
        f"CASE WHEN date_trunc('second', {utc}) = {utc} THEN '' ELSE to_char({utc}, '.US') END"
        " || '+00:00')"
    )


def _urlsafe_unpadded(text: str) -> str:
    return f"rtrim(translate(encode(convert_to({text}, 'UTF8'), 'base64'), E'+/\\n', '-_'), '=')"


def timestamp_cursor(value: str, pk: str) -> str:
    """``api.db.pagination.Cursor.encode`` for a timestamp sort value: ``["iso",id]``."""
    return _urlsafe_unpadded(f"'[\"' || {iso(value)} || '\",' || {pk} || ']'")


def date_cursor(value: str, pk: str) -> str:
    """``Cursor.encode`` for a date sort value: ``["YYYY-MM-DD",id]``."""
    return _urlsafe_unpadded(f"'[\"' || to_char({value}, 'YYYY-MM-DD') || '\",' || {pk} || ']'")


def json_ascii(text: str) -> str:
    """The inside of Python's ``json.dumps`` of a string (``ensure_ascii``): PostgreSQL's JSON
    escapes for printable ASCII and control characters, ``\\uXXXX`` for DEL and anything beyond
    ASCII (a surrogate pair beyond the BMP)."""
    escaped = (
        "CASE WHEN c.cp < 127 THEN substr(to_json(c.ch)::text, 2, length(to_json(c.ch)::text) - 2)"
        " WHEN c.cp < 65536 THEN '\\u' || lpad(to_hex(c.cp), 4, '0')"
        " ELSE '\\u' || to_hex(55296 + ((c.cp - 65536) >> 10))"
        " || '\\u' || to_hex(56320 + ((c.cp - 65536) & 1023)) END"
    )
    slow = (
        f"coalesce((SELECT string_agg({escaped}, '' ORDER BY c.i) FROM (SELECT r.ch, ascii(r.ch)"
        f" AS cp, r.i FROM regexp_split_to_table({text}, '') WITH ORDINALITY AS r(ch, i)) c), '')"
    )
    # A text of ASCII alone (one byte a character: the database is UTF-8) without DEL is
    # written by PostgreSQL's JSON as by Python's: no character split out, no subquery.
    whole = f"to_json({text})::text"
    return (
        f"(CASE WHEN octet_length({text}) = length({text}) AND strpos({text}, chr(127)) = 0 "
        f"THEN substr({whole}, 2, length({whole}) - 2) ELSE {slow} END)"
    )


def text_cursor(value: str, pk: str) -> str:
    """``Cursor.encode`` for a text sort value: ``["value",id]``, as ``json.dumps`` writes it."""
    return _urlsafe_unpadded(f"'[\"' || {json_ascii(value)} || '\",' || {pk} || ']'")


def integer_cursor(value: str, pk: str) -> str:
    """``Cursor.encode`` for an integer sort value: ``[value,id]``."""
    return _urlsafe_unpadded(f"'[' || {value} || ',' || {pk} || ']'")


def float_text(value: str) -> str:
    """``repr`` of a float (how ``json.dumps`` writes one) for a ``real`` or ``double``:
    PostgreSQL's shortest round-trip digits, which are Python's, with the ``.0`` Python adds
    to a whole number.  (The two differ also from 1e15 to 1e16, which PostgreSQL writes with
    an exponent; the relevance this serves is a ts_rank, far below.)"""
    text = f"({value})::float8::text"
    return f"(CASE WHEN {text} ~ '^-?[0-9]+$' THEN {text} || '.0' ELSE {text} END)"


def float_cursor(value: str, pk: str) -> str:
    """``Cursor.encode`` for a float sort value (a relevance): ``[value,id]``."""
    return _urlsafe_unpadded(f"'[' || {float_text(value)} || ',' || {pk} || ']'")


# Every character ``str.split()`` splits at (``str.isspace``), as first/last code points of
# runs; tests/unit/test_compiled_sql.py holds it to Python's own.
WHITESPACE = (
    (0x09, 0x0D),
    (0x1C, 0x20),
    (0x85, 0x85),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
)
_SPACE_CLASS = (
    "["
    + "".join(
        f"\\\\u{first:04x}" + (f"-\\\\u{last:04x}" if last != first else "")
        for first, last in WHITESPACE
    )
    + "]+"
)
EXCERPT_LIMIT = 140  # api.domain.text.excerpt's default


def excerpt(body: str) -> str:
    """``api.domain.text.excerpt``: the words of the body joined by single spaces; when
    longer than 140 characters, its first 141 cut before their last space (or its first 140
    when that space would be the first character), then ``' ,;:-'`` trimmed from the end."""
    limit = EXCERPT_LIMIT
    words = f"btrim(regexp_replace({body}, E'{_SPACE_CLASS}', ' ', 'g'), ' ')"
    cut = f"left(e.t, {limit + 1})"
    return (
        f"(SELECT CASE WHEN length(e.t) <= {limit} THEN e.t ELSE rtrim(CASE "
        f"WHEN e.r > 0 AND {limit + 1} - e.r > 0 THEN left(e.t, {limit + 1} - e.r) "
        f"ELSE left(e.t, {limit}) END, ' ,;:-') END "
        f"FROM (SELECT w.t, strpos(reverse({cut.replace('e.t', 'w.t')}), ' ') AS r "
        f"FROM (SELECT {words} AS t) w) e)"
    )


def json_object(pairs: list[tuple[str, str]]) -> str:
    """``json_build_object`` keeps keys in order (``json``, not ``jsonb``); response keys are
    GraphQL names (letters, digits, ``_``), so quoting them as literals is safe."""
    inner = ", ".join(f"'{key}', {expr}" for key, expr in pairs)
    return f"json_build_object({inner})"
