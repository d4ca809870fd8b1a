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
    return (
        f"coalesce((SELECT string_agg({escaped}, '' ORDER BY c.i) FROM (SELECT r.ch, ascii(r.ch)"
        f" AS cp, r.i FROM regexp_split_to_table({text}, '') WITH ORDINALITY AS r(ch, i)) c), '')"
    )


def text_cursor(value: str, pk: str) -> str:
    """``Cursor.encode`` for a text sort value: ``["value",id]``, as ``json.dumps`` writes it."""
    return _urlsafe_unpadded(f"'[\"' || {json_ascii(value)} || '\",' || {pk} || ']'")


def integer_cursor(value: str, pk: str) -> str:
    """``Cursor.encode`` for an integer sort value: ``[value,id]``."""
    return _urlsafe_unpadded(f"'[' || {value} || ',' || {pk} || ']'")


def json_object(pairs: list[tuple[str, str]]) -> str:
    """``json_build_object`` keeps keys in order (``json``, not ``jsonb``); response keys are
    GraphQL names (letters, digits, ``_``), so quoting them as literals is safe."""
    inner = ", ".join(f"'{key}', {expr}" for key, expr in pairs)
    return f"json_build_object({inner})"
