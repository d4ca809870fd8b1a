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


def integer_cursor(value: str, pk: str) -> str:
    """``Cursor.encode`` for an integer sort value: ``[value,id]``."""
    return _urlsafe_unpadded(f"'[' || {value} || ',' || {pk} || ']'")


def json_object(pairs: list[tuple[str, str]]) -> str:
    """``json_build_object`` keeps keys in order (``json``, not ``jsonb``); response keys are
    GraphQL names (letters, digits, ``_``), so quoting them as literals is safe."""
    inner = ", ".join(f"'{key}', {expr}" for key, expr in pairs)
    return f"json_build_object({inner})"
