"""Post lists with ``filter`` and ``orderBy`` for compiled plans: the resolvers' rules.

``schema.resolvers.posts_connection`` decides a post list's order per request: ``orderBy``
when given, else ranked by relevance when ``filter.text`` is, else newest first.  A plan's SQL
is fixed per document, so the compiler writes one page per order the document allows
(``modes``) and picks one per request with a bound ``CASE`` (PostgreSQL evaluates only the
branch taken).  ``post_filter`` is ``schema.inputs.PostFilterInput.to_filter`` over the raw
argument (a coerced input object, or a literal's dict); ``conditions`` is
``api.db.repositories.posts.PostFilter.conditions`` with each value a bind parameter.
Errors here are ``ValueError``/``TypeError``: the plan's ``bind`` turns them into a fallback,
and the resolvers report what is wrong with the value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from graphql import EnumValueNode, NullValueNode, ObjectValueNode, ValueNode

from api.db.pagination import Cursor, Direction, Page
from api.db.repositories.posts import PostFilter, PostSort, check_cursor
from api.domain.enums import PostKind
from api.domain.text import normalise_hashtag


class NotStatic(Exception):
    """An ``orderBy`` whose value is known only per request (a variable)."""


def tsquery(text: str) -> str:
    """``api.db.repositories.posts._query``."""
    return f"websearch_to_tsquery('english'::regconfig, {text})"


def rank(alias: str, text: str) -> str:
    """``_sort_expression`` for RELEVANCE with text: a ``real``."""
    return f"ts_rank({alias}.search, {tsquery(text)})"


@dataclass(frozen=True)
class Mode:
    """One way a post list may be read: its order, and whether a search text narrows it.

    Each is its own branch of the plan, so none carries ``$text IS NULL OR ...``: PostgreSQL
    plans the search (or its absence) as the resolvers' statement has it."""

    sort: PostSort
    direction: Direction
    searched: bool = False

    @property
    def ranked(self) -> bool:
        # RELEVANCE with a search text ranks by ts_rank; without one it sorts by created_at
        # while its cursors must decode as floats, so no cursor it gives out is taken back.
        return self.sort is PostSort.RELEVANCE and self.searched

    @property
    def column(self) -> str:
        return {PostSort.LIKES: "like_count", PostSort.REPLIES: "reply_count"}.get(
            self.sort, "created_at"
        )

    @property
    def value_type(self) -> type:
        """The sort value's type: how cursors are written and an ``after`` is compared."""
        if self.ranked:
            return float
        return int if self.sort in (PostSort.LIKES, PostSort.REPLIES) else datetime

    @property
    def takes_cursors(self) -> bool:
        return self.ranked or self.sort is not PostSort.RELEVANCE


def check_count_cursor(sort: PostSort, text: str) -> None:
    """``check_cursor`` of a likes or replies cursor; raises BadUserInput."""
    check_cursor(sort, Page(first=0, after=Cursor.decode(text, value_type=int)))


def _name(value: Any) -> str:
    return value.name if isinstance(value, Enum) else str(value)


def static_order(node: ValueNode | None) -> tuple[PostSort, Direction] | None:
    """An ``orderBy`` written in the document: (field, direction), or None when absent.

    Raises ``NotStatic`` when a variable decides it."""
    if node is None or isinstance(node, NullValueNode):
        return None
    if not isinstance(node, ObjectValueNode):
        raise NotStatic("orderBy from a variable")
    fields = {f.name.value: f.value for f in node.fields}
    direction = Direction.DESC  # PostOrder's default
    if "direction" in fields:
        value = fields["direction"]
        if not isinstance(value, EnumValueNode):
            raise NotStatic("orderBy.direction from a variable")
        direction = Direction[value.value]
    sort = fields.get("field")
    if not isinstance(sort, EnumValueNode):
        raise NotStatic("orderBy.field from a variable")
    return PostSort[sort.value], direction


def modes(
    order: tuple[PostSort, Direction] | None, may_search: bool, default: Direction
) -> list[Mode]:
    """Every way a list may be read: ``may_search`` when a search text may be given."""
    searched = [True, False] if may_search else [False]
    return [mode_of(order, "text" if s else None, default) for s in searched]


def mode_of(order: tuple[PostSort, Direction] | None, text: str | None, default: Direction) -> Mode:
    """``posts_connection``'s choice for this request."""
    if order is None:
        if text:
            return Mode(PostSort.RELEVANCE, Direction.DESC, True)
        return Mode(PostSort.CREATED_AT, default)
    sort, direction = order
    return Mode(sort, direction, bool(text))


def _member(obj: Any, graphql_name: str, python_name: str) -> Any:
    """A field of an input object: a coerced Strawberry input, or a literal's dict."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(graphql_name)
    return getattr(obj, python_name, None)


def _listed(value: Any) -> list[Any]:
    # A literal list of one may be written without brackets (input coercion).
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _id(value: Any, expect: str, decode_id: Callable[[str], tuple[str, int]]) -> int | None:
    if not value:
        return None
    type_name, pk = decode_id(str(value))
    if type_name != expect:
        raise ValueError(f"not the id of a {expect}")
    return pk


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):  # a literal's text: Strawberry parses it; not here
        raise TypeError("a DateTime literal")
    return value


def post_filter(raw: Any, decode_id: Callable[[str], tuple[str, int]]) -> PostFilter:
    """``PostFilterInput.to_filter`` of the ``filter`` argument; raises ValueError/TypeError."""
    if raw is None:
        return PostFilter()
    text = (_member(raw, "text", "text") or "").strip() or None
    if text is not None:
        # PostgreSQL takes neither; the resolvers' error for them is theirs to give.
        if "\x00" in text:
            raise ValueError("NUL in a search text")
        text.encode()  # UnicodeEncodeError (a ValueError) for a lone surrogate
    return PostFilter(
        text=text,
        hashtags=tuple(normalise_hashtag(t) for t in _listed(_member(raw, "hashtags", "hashtags"))),
        kinds=tuple(PostKind[_name(k)] for k in _listed(_member(raw, "kinds", "kinds"))),
        author_id=_id(_member(raw, "authorId", "author_id"), "Person", decode_id),
        group_id=_id(_member(raw, "groupId", "group_id"), "Group", decode_id),
        since=_moment(_member(raw, "since", "since")),
        until=_moment(_member(raw, "until", "until")),
    )


# ``filter``'s members besides ``text``, and the type of their bind parameters.
MEMBERS = {
    "hashtags": "text[]",
    "kinds": "text[]",
    "authorId": "bigint",
    "groupId": "bigint",
    "since": "timestamptz",
    "until": "timestamptz",
}


def bound(flt: PostFilter, member: str) -> Any:
    """A member of the filter as its bind parameter."""
    if member == "hashtags":
        return list(flt.hashtags)
    if member == "kinds":
        return [k.name for k in flt.kinds]
    return {
        "authorId": flt.author_id,
        "groupId": flt.group_id,
        "since": flt.since,
        "until": flt.until,
    }[member]


def given_members(node: ValueNode | None) -> set[str]:
    """The filter's members a request may set: those a literal object names, or any."""
    if node is None or isinstance(node, NullValueNode):
        return set()
    if isinstance(node, ObjectValueNode):
        return {f.name.value for f in node.fields}
    return {"text", *MEMBERS}


def conditions(x: str, text: str | None, params: dict[str, str]) -> list[str]:
    """``PostFilter.conditions`` on the row ``x``: ``text`` when the branch searches, and
    each member that may be set (``params``: member -> parameter), none when unset."""
    out = [f"{x}.search @@ {tsquery(text)}"] if text is not None else []
    for member, p in params.items():
        out.append(
            {
                "hashtags": f"(cardinality({p}) = 0 OR {x}.id IN (SELECT h.post_id FROM "
                f"post_hashtag h WHERE h.hashtag = ANY({p})))",
                "kinds": f"(cardinality({p}) = 0 OR {x}.kind::text = ANY({p}))",
                "authorId": f"({p} IS NULL OR {x}.author_id = {p})",
                "groupId": f"({p} IS NULL OR {x}.group_id = {p})",
                "since": f"({p} IS NULL OR {x}.created_at >= {p})",
                "until": f"({p} IS NULL OR {x}.created_at < {p})",
            }[member]
        )
    return out
