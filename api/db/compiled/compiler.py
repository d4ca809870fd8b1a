"""Compile a validated query into one SQL statement that builds its ``data`` as JSON text.

The compiler walks the operation as graphql-core's executor would (fields grouped by response
key, named and inline fragments where their type condition applies, ``@skip``/``@include``
with the request's values) over a fixed set of types and fields, and writes what the
resolvers do for each field as SQL: the same rows, order, page rules, cursors, ids, DateTime
text and role rules.  Anything outside that set raises ``Unsupported``: the operation then
has no plan and runs on the resolver path, which answers every query.

A plan is compiled for one role: a field the role may not read (a field error on the resolver
path) makes the operation ``Unsupported`` for that role, so a plan never has to produce
errors.  Arguments and the principal's data are bind parameters, computed per request by the
plan's getters; a getter that meets a value the resolver path would refuse (a bad cursor, an
out-of-range ``first``, an id of a type the plan does not cover) raises ``Fallback``, and that
request runs on the resolver path, which reports the error as it always has.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from functools import partial
from typing import Any

import sqlalchemy as sa
from graphql import (
    BooleanValueNode,
    DocumentNode,
    EnumValueNode,
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NamedTypeNode,
    NullValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
)
from sqlalchemy.dialects import postgresql

from api.db.compiled import search, sql
from api.db.compiled.analytics import SCALARS as ANALYTICS_SCALARS
from api.db.compiled.analytics import AnalyticsFields
from api.db.pagination import Direction, Page
from api.db.repositories import post_counts
from api.db.repositories.people import maintained_total, search_query
from api.db.repositories.scopes import Scope
from api.domain.enums import ResourceKind, Role
from api.domain.periods import Interval, periods
from api.domain.text import InvalidHashtag, normalise_hashtag
from api.errors import ApiError


class Unsupported(Exception):
    """The operation (for this role) has no plan: it runs on the resolver path."""


class Fallback(Exception):
    """This request's values need the resolver path (which reports what is wrong with them)."""


@dataclass
class Bindings:
    """What a plan's parameters are computed from, per request."""

    variables: dict[str, Any]  # coerced, defaults applied (graphql-core's get_variable_values)
    base_url: str
    # ``schema.types.node.decode_id``: (type name, pk), raising BadUserInput.
    decode_id: Callable[[str], tuple[str, int]]
    memo: dict[Hashable, Any] = field(default_factory=dict)

    def once(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]


Getter = Callable[[Bindings], Any]


@dataclass(frozen=True)
class Plan:
    sql: str
    params: tuple[Getter, ...]

    def bind(self, bindings: Bindings) -> list[Any]:
        """The statement's parameters; raises ``Fallback``."""
        try:
            return [get(bindings) for get in self.params]
        except (ApiError, InvalidHashtag, KeyError, TypeError, ValueError) as exc:
            raise Fallback(str(exc)) from exc


STAFF = frozenset({Role.ADMIN, Role.MANAGER, Role.MEMBER})  # schema.permissions.STAFF, PEOPLE
EMAILS = frozenset({Role.ADMIN, Role.MANAGER})
# Every type the compiler knows implements Node; the root does not.
NODE_TYPES = ("Post", "Person", "Topic", "Resource", "Group", "TopicManager")
_DIALECT = postgresql.dialect()
MAX_PAIRS = 50  # json_build_object takes at most 100 arguments

# Columns read from each table (never post.search, the tsvector only the database needs).
POST_COLUMNS = (
    "id, thread_starter_id, replied_to_id, author_id, group_id, body, web_url, created_at, "
    "message_type, like_count, reply_count, share_count, kind, kind_set_by_hand"
)

# Plain columns: GraphQL field -> SQL (``{a}`` is the row's alias).
SCALARS: dict[str, dict[str, str]] = {
    "Post": {
        "id": sql.global_id("Post", "{a}.id"),
        "body": "{a}.body",
        "createdAt": sql.iso("{a}.created_at"),
        "url": "{a}.web_url",
        "kind": "{a}.kind",
        "kindSetByHand": "{a}.kind_set_by_hand",
        "messageType": "{a}.message_type",
        "isReply": "({a}.thread_starter_id IS NOT NULL)",
    },
    "PostMetrics": {
        "likes": "{a}.like_count",
        "replies": "{a}.reply_count",
        "shares": "{a}.share_count",
    },
    "MetricsSnapshot": {
        "observedAt": sql.iso("{a}.observed_at"),
        "likes": "{a}.likes",
        "replies": "{a}.replies",
        "shares": "{a}.shares",
    },
    "Person": {
        "id": sql.global_id("Person", "{a}.id"),
        "fullName": "{a}.full_name",
        "jobTitle": "{a}.job_title",
        "department": "{a}.department",
        "avatarUrl": "{a}.avatar_url",
        "url": "{a}.web_url",
        "followerCount": "{a}.follower_count",
        "followingCount": "{a}.following_count",
    },
    "Group": {
        "id": sql.global_id("Group", "{a}.id"),
        "name": "{a}.name",
        "description": "{a}.description",
        "privacy": "{a}.privacy",
        "memberCount": "{a}.member_count",
        "joined": "{a}.joined",
        "url": "{a}.web_url",
    },
    "TopicManager": {
        "id": sql.global_id("TopicManager", "{a}.id"),
        "since": "{a}.since",
        "until": "{a}.until",
    },
    "Topic": {
        "id": sql.global_id("Topic", "{a}.id"),
        "hashtag": "{a}.hashtag",
        "name": "{a}.name",
        "description": "{a}.description",
    },
    "Resource": {
        "id": sql.global_id("Resource", "{a}.id"),
        "kind": "{a}.kind",
        "title": "{a}.title",
        "url": "{a}.url",
        "provider": "{a}.provider",
        "lmsCourseId": "{a}.lms_course_id",
        "description": "{a}.description",
        "visibility": "{a}.visibility",
        "position": "{a}.position",
    },
}
SCALARS.update(ANALYTICS_SCALARS)
INTERFACES = {name: ("Node",) for name in (*NODE_TYPES, "Campaign", "Promotion")}
# schema.queries.nodes: each type's table, and which of its rows the loader finds.
NODE_TABLES = {
    "Post": ("post", "{a}.deleted_at IS NULL"),
    "Person": ("person", "true"),
    "Topic": ("topic", "true"),
    "Resource": ("resource", "true"),
    "Group": ("microblog_group", "true"),
    "TopicManager": ("topic_manager", "true"),
}
MAX_IDS = 100  # schema.queries.nodes.MAX_IDS
KNOWN_TYPES = frozenset({*NODE_TYPES, "Node", "Query", "Campaign", "Promotion"})


def _enum_name(value: Any) -> str:
    return value.name if isinstance(value, Enum) else str(value)


def _member(obj: Any, name: str) -> Any:
    """A field of an input object, coerced (a Strawberry input) or literal (a dict)."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _const(value: Any) -> Getter:
    return lambda _b: value


def _page(first: Any, after: Any, direction: Direction, value_type: type) -> Page:
    return Page.build(first, after, direction=direction, value_type=value_type)


@dataclass(frozen=True)
class _Connection:
    """A keyset page of ``table`` (rows matching ``where(alias)``), as the resolvers page it."""

    node_type: str
    table: str
    columns: str
    where: Callable[[str], list[str]]
    sort: str  # a column of the table (or the name of ``sort_sql`` in the page's rows)
    direction: Direction
    value_type: type  # the cursor's sort value: datetime, int, str or float
    first: Getter
    after: Getter
    # An expression over the row's alias to sort by, in place of the column ``sort``.
    sort_sql: Callable[[str], str] | None = None
    # ``totalCount`` read elsewhere than by counting the rows (a maintained count).
    total: str | None = None


def _people_total() -> str:
    """``totalCount`` of everyone, as the resolvers read it (``people.count_people``)."""
    return str(maintained_total().compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))


def _maintained_total(scope: Scope, key: str) -> str:
    """``totalCount`` of an unfiltered topic, group or resource feed, as the resolvers read it
    (``posts.count_by_parent``): the repository's own expression over the maintained counts,
    rendered once per plan, keyed by the parent row's column ``key``."""
    stmt = post_counts.total(scope, sa.literal_column(key))
    return str(stmt.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))


class _Compiler(AnalyticsFields):
    def __init__(
        self, document: DocumentNode, role: Role, variables: dict[str, Any], base_url_key: str
    ) -> None:
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.role = role
        self.variables = variables
        self.params: list[Getter] = []
        self.param_keys: dict[Hashable, int] = {}
        self.names = itertools.count(1)
        self.base_url_key = base_url_key

    # -- parameters and aliases --------------------------------------------------------
    def param(self, get: Getter, cast: str, key: Hashable | None = None) -> str:
        if key is not None and key in self.param_keys:
            number = self.param_keys[key]
        else:
            self.params.append(get)
            number = len(self.params)
            if key is not None:
                self.param_keys[key] = number
        return f"${number}::{cast}"

    def alias(self, prefix: str) -> str:
        return f"{prefix}{next(self.names)}"

    def require(self, roles: frozenset[Role]) -> None:
        if self.role not in roles:
            raise Unsupported(f"a field the {self.role.value} role may not read")

    # -- fields, as graphql-core's collect_fields groups them ---------------------------
    def collect(
        self, type_name: str, sets: Sequence[SelectionSetNode]
    ) -> dict[str, list[FieldNode]]:
        out: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()
        for selection_set in sets:
            self._collect(type_name, selection_set, out, visited)
        if len(out) > MAX_PAIRS:
            raise Unsupported("too many fields in one selection")
        return out

    def _collect(
        self,
        type_name: str,
        selection_set: SelectionSetNode,
        out: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                out.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self._applies(type_name, selection.type_condition):
                    self._collect(type_name, selection.selection_set, out, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = self.fragments[name]
                if self._applies(type_name, fragment.type_condition):
                    self._collect(type_name, fragment.selection_set, out, visited)

    @staticmethod
    def _applies(type_name: str, condition: NamedTypeNode | None) -> bool:
        if condition is None:
            return True
        name = condition.name.value
        if name == type_name or name in INTERFACES.get(type_name, ()):
            return True
        if type_name in KNOWN_TYPES and name in KNOWN_TYPES:
            return False
        # A fragment on a type the compiler does not model (a connection, an edge...).
        raise Unsupported(f"a fragment on {name}")

    def _included(self, selection: Any) -> bool:
        for directive in selection.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                raise Unsupported(f"@{name}")
            value = directive.arguments[0].value
            if isinstance(value, BooleanValueNode):
                flag = value.value
            elif isinstance(value, VariableNode):
                flag = bool(self.variables.get(value.name.value))
            else:
                raise Unsupported("a directive argument")
            if flag == (name == "skip"):
                return False
        return True

    # -- arguments --------------------------------------------------------------------
    def arguments(self, node: FieldNode, allowed: set[str]) -> None:
        for argument in node.arguments or ():
            if argument.name.value not in allowed:
                raise Unsupported(f"argument {argument.name.value}")

    def argument(self, node: FieldNode, name: str, default: Any) -> Getter:
        found = next((a for a in node.arguments or () if a.name.value == name), None)
        if found is None:
            return _const(default)
        value = found.value
        if isinstance(value, VariableNode):
            # An argument whose variable was not given is absent: the schema's default.
            variable = value.name.value
            return lambda b: b.variables.get(variable, default)
        return self.value(value)

    def value(self, node: ValueNode) -> Getter:
        if isinstance(node, VariableNode):
            variable = node.name.value
            return lambda b: b.variables.get(variable)
        if isinstance(node, IntValueNode):
            return _const(int(node.value))
        if isinstance(node, FloatValueNode):
            return _const(float(node.value))
        if isinstance(node, StringValueNode):
            return _const(node.value)
        if isinstance(node, BooleanValueNode):
            return _const(node.value)
        if isinstance(node, NullValueNode):
            return _const(None)
        if isinstance(node, EnumValueNode):
            return _const(node.value)
        if isinstance(node, ListValueNode):
            items = [self.value(v) for v in node.values]
            return lambda b: [get(b) for get in items]
        if isinstance(node, ObjectValueNode):
            members = {f.name.value: self.value(f.value) for f in node.fields}
            return lambda b: {name: get(b) for name, get in members.items()}
        raise Unsupported("an argument value")

    # -- objects ----------------------------------------------------------------------
    def object(self, type_name: str, alias: str, sets: Sequence[SelectionSetNode]) -> str:
        pairs = []
        for key, nodes in self.collect(type_name, sets).items():
            pairs.append((key, self.field(type_name, alias, nodes)))
        return sql.json_object(pairs)

    def field(self, type_name: str, alias: str, nodes: list[FieldNode]) -> str:
        node = nodes[0]
        name = node.name.value
        sets = [n.selection_set for n in nodes if n.selection_set is not None]
        if name == "__typename":
            return f"'{type_name}'"
        scalar = SCALARS.get(type_name, {}).get(name)
        if scalar is not None:
            return scalar.format(a=alias)
        handler = getattr(self, f"_{type_name}_{name}", None)
        if handler is None:
            raise Unsupported(f"{type_name}.{name}")
        self.arguments(node, set(getattr(handler, "arguments", ())))
        return str(handler(alias, node, sets))

    def one(self, type_name: str, table: str, where: str, sets: Sequence[SelectionSetNode]) -> str:
        """A nullable single object: the row of ``table`` matching ``where`` ({a}: its alias)."""
        a = self.alias("o")
        return (
            f"(SELECT {self.object(type_name, a, sets)} FROM {table} {a} WHERE {where.format(a=a)})"
        )

    def many(
        self, type_name: str, from_: str, where: str, order: str, sets: Sequence[SelectionSetNode]
    ) -> str:
        """A list in a fixed order; ``from_`` names the item's row ``{a}``."""
        a = self.alias("l")
        item = self.object(type_name, a, sets)
        return (
            f"coalesce((SELECT json_agg({item} ORDER BY {order.format(a=a)}) "
            f"FROM {from_.format(a=a)} WHERE {where.format(a=a)}), '[]')"
        )

    def shown(self, alias: str) -> str:
        """``schema.permissions.shown_resources``: INTERNAL resources never reach the LMS."""
        return f"{alias}.visibility = 'PUBLIC'" if self.role is Role.LMS else "true"

    # -- connections ------------------------------------------------------------------
    def connection(self, spec: _Connection, sets: Sequence[SelectionSetNode]) -> str:
        key = ("page", next(self.names))
        value_type = spec.value_type

        def page(b: Bindings) -> Page:
            return b.once(
                key,
                lambda: _page(spec.first(b), spec.after(b), spec.direction, value_type),
            )

        first = self.param(lambda b: page(b).first, "int")
        cast = {datetime: "timestamptz", date: "date", int: "bigint", str: "text", float: "real"}[
            value_type
        ]
        after = self.param(lambda b: (c := page(b).after) and c.value, cast)
        after_id = self.param(lambda b: (c := page(b).after) and c.id, "bigint")
        x, q, s = self.alias("c"), self.alias("q"), self.alias("s")
        descending = spec.direction is Direction.DESC
        way, cmp = ("DESC", "<") if descending else ("ASC", ">")
        conditions = " AND ".join(spec.where(x))
        columns = ", ".join(f"{x}.{c.strip()}" for c in spec.columns.split(","))
        sort = f"{x}.{spec.sort}"
        if spec.sort_sql is not None:
            sort = spec.sort_sql(x)
            columns += f", {sort} AS {spec.sort}"
        rows = (
            f"(SELECT {q}.*, row_number() OVER (ORDER BY {q}.{spec.sort} {way}, {q}.id {way}) "
            f"AS _rn FROM (SELECT {columns}"
            f" FROM {spec.table} {x} WHERE {conditions} AND ({after} IS NULL OR "
            f"({sort}, {x}.id) {cmp} ({after}, {after_id})) "
            f"ORDER BY {sort} {way}, {x}.id {way} LIMIT {first} + 1) {q}) {s}"
        )
        shown = f"FILTER (WHERE {s}._rn <= {first})"
        encode = {
            datetime: sql.timestamp_cursor,
            date: sql.date_cursor,
            int: sql.integer_cursor,
            str: sql.text_cursor,
            float: sql.float_cursor,
        }
        cursor = encode[value_type](f"{s}.{spec.sort}", f"{s}.id")

        def edge_cursor(way: str) -> str:
            # The cursor of the first (ASC) or last (DESC) row shown, encoded once: the sort
            # value and the id are picked first (identical aggregates are computed once).
            def pick(column: str) -> str:
                return f"(array_agg({s}.{column} ORDER BY {s}._rn {way}) {shown})[1]"

            return str(encode[value_type](pick(spec.sort), pick("id")))

        pairs = []
        for key_name, nodes in self.collect("Connection", sets).items():
            name = nodes[0].name.value
            subsets = [n.selection_set for n in nodes if n.selection_set is not None]
            if name == "totalCount" and spec.total is not None:
                pairs.append((key_name, spec.total))
            elif name == "totalCount":
                y = self.alias("n")
                where = " AND ".join(spec.where(y))
                pairs.append((key_name, f"(SELECT count(*) FROM {spec.table} {y} WHERE {where})"))
            elif name == "pageInfo":
                info = []
                for info_key, info_nodes in self.collect("PageInfo", subsets).items():
                    info_name = info_nodes[0].name.value
                    if info_name == "hasNextPage":
                        info.append((info_key, f"(count(*) > {first})"))
                    elif info_name == "hasPreviousPage":
                        info.append((info_key, f"({after_id} IS NOT NULL)"))
                    elif info_name == "startCursor":
                        info.append((info_key, edge_cursor("ASC")))
                    elif info_name == "endCursor":
                        info.append((info_key, edge_cursor("DESC")))
                    elif info_name == "__typename":
                        info.append((info_key, "'PageInfo'"))
                    else:
                        raise Unsupported(f"PageInfo.{info_name}")
                pairs.append((key_name, sql.json_object(info)))
            elif name == "edges":
                edge = []
                for edge_key, edge_nodes in self.collect("Edge", subsets).items():
                    edge_name = edge_nodes[0].name.value
                    edge_sets = [n.selection_set for n in edge_nodes if n.selection_set]
                    if edge_name == "cursor":
                        edge.append((edge_key, cursor))
                    elif edge_name == "node":
                        edge.append((edge_key, self.object(spec.node_type, s, edge_sets)))
                    else:
                        raise Unsupported(f"Edge.{edge_name}")
                items = sql.json_object(edge)
                pairs.append(
                    (key_name, f"coalesce(json_agg({items} ORDER BY {s}._rn) {shown}, '[]')")
                )
            elif name == "nodes":
                item = self.object(spec.node_type, s, subsets)
                pairs.append(
                    (key_name, f"coalesce(json_agg({item} ORDER BY {s}._rn) {shown}, '[]')")
                )
            else:
                raise Unsupported(f"Connection.{name}")
        return f"(SELECT {sql.json_object(pairs)} FROM {rows})"

    def page_spec(self, **fields: Any) -> _Connection:
        return _Connection(**fields)

    def unsupported(self, reason: str) -> None:
        raise Unsupported(reason)

    def post_page(
        self,
        node: FieldNode,
        where: Callable[[str], list[str]],
        direction: Direction,
        total: str | None = None,
    ) -> _Connection:
        return _Connection(
            node_type="Post",
            table="post",
            columns=POST_COLUMNS,
            where=where,
            sort="created_at",
            direction=direction,
            value_type=datetime,
            first=self.argument(node, "first", 20),
            after=self.argument(node, "after", None),
            total=total,
        )

    def ordered_posts(
        self,
        node: FieldNode,
        sets: Sequence[SelectionSetNode],
        where: Callable[[str], list[str]],
        default: Direction,
        filtered: bool = False,
        total: str | None = None,
    ) -> str:
        """A post list with ``orderBy`` (and, when ``filtered``, ``filter``), as
        ``schema.resolvers.posts_connection`` reads it: one page per order the document
        allows (api/db/compiled/search.py), the request's chosen by a bound CASE.  ``total``,
        given only for lists that take no filter, is their ``totalCount``."""
        found = next((a for a in node.arguments or () if a.name.value == "orderBy"), None)
        try:
            order = search.static_order(found.value if found else None)
        except search.NotStatic as exc:
            raise Unsupported(str(exc)) from exc
        raw = self.argument(node, "filter", None) if filtered else _const(None)
        key = ("post-filter", next(self.names))

        def flt(b: Bindings) -> Any:
            return b.once(key, lambda: search.post_filter(raw(b), b.decode_id))

        written = next((a for a in node.arguments or () if a.name.value == "filter"), None)
        members = search.given_members(written.value if written and filtered else None)

        # Parameters only for what a request may set: PostgreSQL cannot type a parameter the
        # statement never uses, and plans best without conditions that cannot apply.
        def member_of(member: str) -> Getter:
            return lambda b: search.bound(flt(b), member)

        params = {
            member: self.param(member_of(member), cast)
            for member, cast in search.MEMBERS.items()
            if member in members
        }
        may_search = "text" in members
        text = self.param(lambda b: flt(b).text, "text") if may_search else None

        def mode(b: Bindings) -> search.Mode:
            return search.mode_of(order, flt(b).text, default)

        first = self.argument(node, "first", 20)
        after = self.argument(node, "after", None)
        choices = search.modes(order, may_search, default)
        pages = []
        for choice in choices:

            def after_in(b: Bindings, choice: search.Mode = choice) -> Any:
                if mode(b) != choice:
                    return None  # another branch's page: this one is not read
                cursor = after(b)
                if cursor and not choice.takes_cursors:
                    # The resolvers refuse it (or fail on it): theirs to report.
                    raise Fallback("a cursor for relevance without a search text")
                if cursor and choice.value_type is int:
                    search.check_count_cursor(choice.sort, cursor)
                return cursor

            searched = text if choice.searched else None

            def conditions(x: str, searched: str | None = searched) -> list[str]:
                return [*where(x), *search.conditions(x, searched, params)]

            spec = _Connection(
                node_type="Post",
                table="post",
                columns=POST_COLUMNS,
                where=conditions,
                sort="_rank" if choice.ranked else choice.column,
                direction=choice.direction,
                value_type=choice.value_type,
                first=first,
                after=after_in,
                sort_sql=partial(search.rank, text=str(text)) if choice.ranked else None,
                total=total,
            )
            pages.append(self.connection(spec, sets))
        if len(pages) == 1:
            return pages[0]
        chosen = self.param(lambda b: choices.index(mode(b)), "int")
        cases = " ".join(f"WHEN {i} THEN {page}" for i, page in enumerate(pages))
        return f"(CASE {chosen} {cases} END)"

    # -- Query ------------------------------------------------------------------------
    def _Query_topic(self, _a: str, node: FieldNode, sets: list[SelectionSetNode]) -> str:
        get = self.argument(node, "hashtag", None)
        hashtag = self.param(lambda b: normalise_hashtag(get(b)), "text")
        return self.one("Topic", "topic", f"{{a}}.hashtag = {hashtag}", sets)

    _Query_topic.arguments = ("hashtag",)  # type: ignore[attr-defined]

    def node_branches(
        self, pk: Callable[[], str], sets: Sequence[SelectionSetNode]
    ) -> dict[str, str]:
        """The object of each type a global id may name, as SQL; ``pk()`` gives its key.

        A type whose selection the compiler cannot cover is left out (its ids fall back).
        The LMS refetches topics and resources here (an INTERNAL one is null, as if unknown);
        its other rules (posts only when they promote a resource, no people) stay with the
        resolvers, so its ids of other types fall back.
        """
        allowed = ("Resource", "Topic") if self.role is Role.LMS else NODE_TYPES
        branches = {}
        for type_name in allowed:
            table, live = NODE_TABLES[type_name]
            if type_name == "Resource":
                live = self.shown("{a}")
            saved = (len(self.params), dict(self.param_keys))
            try:
                where = f"{{a}}.id = {pk()} AND {live}"
                branches[type_name] = self.one(type_name, table, where, sets)
            except Unsupported:
                # Forget this branch's parameters.
                del self.params[saved[0] :]
                self.param_keys = saved[1]
        if not branches:
            raise Unsupported("no type a global id may name is covered")
        return branches

    def _Query_node(self, _a: str, node: FieldNode, sets: list[SelectionSetNode]) -> str:
        get = self.argument(node, "id", None)
        field_key = next(self.names)
        branches = self.node_branches(
            lambda: self.param(
                lambda b: b.decode_id(get(b))[1], "bigint", key=("node-pk", field_key)
            ),
            sets,
        )
        covered = frozenset(branches)

        def type_of(b: Bindings) -> str:
            type_name = b.decode_id(get(b))[0]
            if type_name not in covered:
                raise Fallback(f"node of type {type_name}")
            return type_name

        kind = self.param(type_of, "text", key=("node-type", field_key))
        cases = " ".join(f"WHEN '{t}' THEN {expr}" for t, expr in branches.items())
        return f"(CASE {kind} {cases} END)"

    _Query_node.arguments = ("id",)  # type: ignore[attr-defined]

    def _Query_nodes(self, _a: str, node: FieldNode, sets: list[SelectionSetNode]) -> str:
        get = self.argument(node, "ids", None)
        field_key = next(self.names)
        k = self.alias("k")
        branches = self.node_branches(lambda: f"{k}.pk", sets)
        covered = frozenset(branches)

        def decoded(b: Bindings) -> list[tuple[str, int]]:
            def compute() -> list[tuple[str, int]]:
                ids = get(b)
                if len(ids) > MAX_IDS:
                    raise Fallback("too many ids")
                found = [b.decode_id(i) for i in ids]
                if any(type_name not in covered for type_name, _ in found):
                    raise Fallback("an id of a type not covered")
                return found

            return b.once(("ids", field_key), compute)

        types = self.param(lambda b: [t for t, _ in decoded(b)], "text[]")
        keys = self.param(lambda b: [pk for _, pk in decoded(b)], "bigint[]")
        cases = " ".join(f"WHEN '{t}' THEN {expr}" for t, expr in branches.items())
        # Unknown ids are nulls in their places.
        return (
            f"coalesce((SELECT json_agg(CASE {k}.type {cases} END ORDER BY {k}.i) "
            f"FROM unnest({types}, {keys}) WITH ORDINALITY AS {k}(type, pk, i)), '[]')"
        )

    _Query_nodes.arguments = ("ids",)  # type: ignore[attr-defined]

    def _Query_resources(self, _a: str, node: FieldNode, sets: list[SelectionSetNode]) -> str:
        filter_ = self.argument(node, "filter", None)

        def hashtag(b: Bindings) -> str | None:
            raw = _member(filter_(b), "hashtag")
            return normalise_hashtag(raw) if raw else None

        def kinds(b: Bindings) -> list[str]:
            return [_enum_name(k) for k in _member(filter_(b), "kinds") or ()]

        tag = self.param(hashtag, "text")
        kind_list = self.param(kinds, "text[]")
        episodes = self.param(lambda b: ResourceKind.PODCAST_EPISODE.name in kinds(b), "boolean")

        def where(x: str) -> list[str]:
            # api.db.repositories.resources.ResourceFilter.conditions
            return [
                f"({tag} IS NULL OR {x}.id IN (SELECT rt.resource_id FROM resource_topic rt "
                f"JOIN topic t ON t.id = rt.topic_id WHERE t.hashtag = {tag}))",
                f"(cardinality({kind_list}) = 0 OR {x}.kind::text = ANY({kind_list}))",
                self.shown(x),
                f"({episodes} OR {x}.series_id IS NULL)",
            ]

        spec = _Connection(
            node_type="Resource",
            table="resource",
            columns="id, kind, title, url, provider, lms_course_id, description, series_id, "
            "position, visibility, tracking_token",
            where=where,
            sort="id",
            direction=Direction.ASC,
            value_type=int,
            first=self.argument(node, "first", 20),
            after=self.argument(node, "after", None),
        )
        return self.connection(spec, sets)

    _Query_resources.arguments = ("first", "after", "filter")  # type: ignore[attr-defined]

    def _Query_posts(self, _a: str, node: FieldNode, sets: list[SelectionSetNode]) -> str:
        self.require(STAFF)
        # Scope.ALL: every live thread starter
        return self.ordered_posts(
            node,
            sets,
            lambda x: [f"{x}.deleted_at IS NULL", f"{x}.thread_starter_id IS NULL"],
            Direction.DESC,
            filtered=True,
        )

    _Query_posts.arguments = ("first", "after", "filter", "orderBy")  # type: ignore[attr-defined]

    def _Query_people(self, _a: str, node: FieldNode, sets: list[SelectionSetNode]) -> str:
        self.require(STAFF)
        search = self.argument(node, "search", None)
        query = self.param(lambda b: search_query(search(b)), "text")
        spec = _Connection(
            node_type="Person",
            table="person",
            columns="id, full_name, email, job_title, department, avatar_url, web_url, "
            "follower_count, following_count",
            # api.db.repositories.people.people_search
            where=lambda x: [
                f"({query} IS NULL OR {x}.search @@ to_tsquery('simple'::regconfig, {query}))"
            ],
            sort="full_name",
            direction=Direction.ASC,
            value_type=str,
            first=self.argument(node, "first", 20),
            after=self.argument(node, "after", None),
            # Everyone from the maintained count; a search counts its matches.
            total=f"(CASE WHEN {query} IS NULL THEN {_people_total()} ELSE (SELECT count(*) "
            f"FROM person n WHERE n.search @@ to_tsquery('simple'::regconfig, {query})) END)",
        )
        return self.connection(spec, sets)

    _Query_people.arguments = ("search", "first", "after")  # type: ignore[attr-defined]

    # -- Topic ------------------------------------------------------------------------
    def _Topic_posts(self, a: str, node: FieldNode, sets: list[SelectionSetNode]) -> str:
        self.require(STAFF)

        def where(x: str) -> list[str]:
            # api.db.repositories.scopes: Scope.TOPIC, live thread starters
            return [
                f"{x}.id IN (SELECT h.post_id FROM post_hashtag h WHERE h.hashtag = {a}.hashtag)",
                f"{x}.deleted_at IS NULL",
                f"{x}.thread_starter_id IS NULL",
            ]

        total = _maintained_total(Scope.TOPIC, f"{a}.hashtag")
        return self.ordered_posts(node, sets, where, Direction.DESC, total=total)

    _Topic_posts.arguments = ("first", "after", "orderBy")  # type: ignore[attr-defined]

    def _Topic_resources(self, a: str, _node: FieldNode, sets: list[SelectionSetNode]) -> str:
        return self.many(
            "Resource",
            "resource_topic rt JOIN resource {a} ON {a}.id = rt.resource_id",
            f"rt.topic_id = {a}.id AND {{a}}.series_id IS NULL AND {self.shown('{a}')}",
            "{a}.id",
            sets,
        )

    # -- Post -------------------------------------------------------------------------
    def _Post_excerpt(self, a: str, _node: FieldNode, _sets: list[SelectionSetNode]) -> str:
        return sql.excerpt(f"{a}.body")

    def _Post_metrics(self, a: str, _node: FieldNode, sets: list[SelectionSetNode]) -> str:
        return self.object("PostMetrics", a, sets)

    def _Post_author(self, a: str, _node: FieldNode, sets: list[SelectionSetNode]) -> str:
        self.require(STAFF)
        return self.one("Person", "person", f"{{a}}.id = {a}.author_id", sets)

    def _Post_group(self, a: str, _node: FieldNode, sets: list[SelectionSetNode]) -> str:
        self.require(STAFF)
        return self.one("Group", "microblog_group", f"{{a}}.id = {a}.group_id", sets)

    def _Post_topics(self, a: str, _node: FieldNode, sets: list[SelectionSetNode]) -> str:
        return self.many(
            "Topic",
            "post_hashtag h JOIN topic {a} ON {a}.hashtag = h.hashtag",
            f"h.post_id = {a}.id",
            "{a}.hashtag",
            sets,
        )

    def _Post_hashtags(self, a: str, _node: FieldNode, _sets: list[SelectionSetNode]) -> str:
        return (
            f"coalesce((SELECT json_agg(h.hashtag ORDER BY h.hashtag) FROM post_hashtag h "
            f"WHERE h.post_id = {a}.id), '[]')"
        )

    def _Post_resources(self, a: str, _node: FieldNode, sets: list[SelectionSetNode]) -> str:
        return self.many(
            "Resource",
            "post_resource pr JOIN resource {a} ON {a}.id = pr.resource_id",
            f"pr.post_id = {a}.id AND {self.shown('{a}')}",
            "{a}.id",
            sets,
        )

    def _Post_thread(self, a: str, _node: FieldNode, sets: list[SelectionSetNode]) -> str:
        self.require(STAFF)
        where = f"{{a}}.id = {a}.thread_starter_id AND {{a}}.deleted_at IS NULL"
        return self.one("Post", "post", where, sets)

    def _Post_repliedTo(self, a: str, _node: FieldNode, sets: list[SelectionSetNode]) -> str:
        self.require(STAFF)
        where = f"{{a}}.id = {a}.replied_to_id AND {{a}}.deleted_at IS NULL"
        return self.one("Post", "post", where, sets)

    def _Post_replies(self, a: str, node: FieldNode, sets: list[SelectionSetNode]) -> str:
        self.require(STAFF)

        def where(x: str) -> list[str]:
            # Scope.THREAD: the thread's live replies, oldest first
            return [
                f"{x}.thread_starter_id = {a}.id",
                f"{x}.deleted_at IS NULL",
                f"{x}.thread_starter_id IS NOT NULL",
            ]

        return self.connection(self.post_page(node, where, Direction.ASC), sets)

    _Post_replies.arguments = ("first", "after")  # type: ignore[attr-defined]

    def _Post_metricsHistory(self, a: str, node: FieldNode, sets: list[SelectionSetNode]) -> str:
        spec = _Connection(
            node_type="MetricsSnapshot",
            table="post_metrics_snapshot",
            columns="id, post_id, observed_at, likes, replies, shares",
            where=lambda x: [f"{x}.post_id = {a}.id"],
            sort="observed_at",
            direction=Direction.ASC,
            value_type=datetime,
            first=self.argument(node, "first", 20),
            after=self.argument(node, "after", None),
        )
        return self.connection(spec, sets)

    _Post_metricsHistory.arguments = ("first", "after")  # type: ignore[attr-defined]

    # -- Person -----------------------------------------------------------------------
    def _Person_email(self, a: str, _node: FieldNode, _sets: list[SelectionSetNode]) -> str:
        self.require(EMAILS)
        return f"{a}.email"

    def _Person_managedTopics(self, a: str, _node: FieldNode, sets: list[SelectionSetNode]) -> str:
        # api.db.repositories.topics.current_managers_by / current_assignment (UTC dates)
        return self.many(
            "TopicManager",
            "topic_manager {a}",
            f"{{a}}.person_id = {a}.id AND {{a}}.since <= current_date "
            "AND ({a}.until IS NULL OR {a}.until > current_date)",
            "{a}.since, {a}.id",
            sets,
        )

    def _Person_followerGrowth(self, a: str, node: FieldNode, sets: list[SelectionSetNode]) -> str:
        since = self.argument(node, "since", None)
        until = self.argument(node, "until", None)
        interval = self.argument(node, "interval", Interval.WEEK)
        key = ("spans", next(self.names))

        def spans(b: Bindings) -> list[Any]:
            def compute() -> list[Any]:
                step = interval(b)
                step = step if isinstance(step, Interval) else Interval[str(step)]
                return periods(since(b), until(b), step)

            return b.once(key, compute)

        starts = self.param(lambda b: [start for start, _, _ in spans(b)], "date[]")
        ends = self.param(lambda b: [end for _, _, end in spans(b)], "timestamptz[]")
        k = self.alias("k")
        # api.analytics.performance.followers_before: the last snapshot before the period's
        # end; before the first snapshot, the first; with none, the current count.
        followers = (
            f"coalesce((SELECT f.followers FROM follower_snapshot f WHERE f.person_id = {a}.id "
            f"AND f.observed_at < {k}.moment ORDER BY f.observed_at DESC LIMIT 1), "
            f"(SELECT f.followers FROM follower_snapshot f WHERE f.person_id = {a}.id "
            f"ORDER BY f.observed_at LIMIT 1), {a}.follower_count, 0)"
        )
        pairs = []
        for point_key, nodes in self.collect("FollowerPoint", sets).items():
            name = nodes[0].name.value
            if name == "periodStart":
                pairs.append((point_key, f"{k}.start"))
            elif name == "followers":
                pairs.append((point_key, followers))
            elif name == "__typename":
                pairs.append((point_key, "'FollowerPoint'"))
            else:
                raise Unsupported(f"FollowerPoint.{name}")
        return (
            f"coalesce((SELECT json_agg({sql.json_object(pairs)} ORDER BY {k}.i) "
            f"FROM unnest({starts}, {ends}) WITH ORDINALITY AS {k}(start, moment, i)), '[]')"
        )

    _Person_followerGrowth.arguments = ("since", "until", "interval")  # type: ignore[attr-defined]

    def _Person_posts(self, a: str, node: FieldNode, sets: list[SelectionSetNode]) -> str:
        # Scope.PERSON: the live thread starters they wrote
        return self.ordered_posts(
            node,
            sets,
            lambda x: [
                f"{x}.author_id = {a}.id",
                f"{x}.deleted_at IS NULL",
                f"{x}.thread_starter_id IS NULL",
            ],
            Direction.DESC,
        )

    _Person_posts.arguments = ("first", "after", "orderBy")  # type: ignore[attr-defined]

    # -- Group ------------------------------------------------------------------------
    def _Group_posts(self, a: str, node: FieldNode, sets: list[SelectionSetNode]) -> str:
        # Scope.GROUP: the live thread starters posted in the group
        return self.ordered_posts(
            node,
            sets,
            lambda x: [
                f"{x}.group_id = {a}.id",
                f"{x}.deleted_at IS NULL",
                f"{x}.thread_starter_id IS NULL",
            ],
            Direction.DESC,
            total=_maintained_total(Scope.GROUP, f"{a}.id"),
        )

    _Group_posts.arguments = ("first", "after", "orderBy")  # type: ignore[attr-defined]

    # -- TopicManager -----------------------------------------------------------------
    def _TopicManager_topic(self, a: str, _node: FieldNode, sets: list[SelectionSetNode]) -> str:
        return self.one("Topic", "topic", f"{{a}}.id = {a}.topic_id", sets)

    def _TopicManager_person(self, a: str, _node: FieldNode, sets: list[SelectionSetNode]) -> str:
        self.require(STAFF)
        return self.one("Person", "person", f"{{a}}.id = {a}.person_id", sets)

    # -- Resource ---------------------------------------------------------------------
    def _Resource_trackedUrl(self, a: str, _node: FieldNode, _sets: list[SelectionSetNode]) -> str:
        base = self.param(lambda b: b.base_url, "text", key=self.base_url_key)
        return f"({base} || '/r/' || {a}.tracking_token)"

    def _Resource_topics(self, a: str, _node: FieldNode, sets: list[SelectionSetNode]) -> str:
        return self.many(
            "Topic",
            "resource_topic rt JOIN topic {a} ON {a}.id = rt.topic_id",
            f"rt.resource_id = {a}.id",
            "{a}.id",
            sets,
        )

    def _Resource_episodes(self, a: str, _node: FieldNode, sets: list[SelectionSetNode]) -> str:
        return self.many(
            "Resource",
            "resource {a}",
            f"{{a}}.series_id = {a}.id AND {self.shown('{a}')}",
            "{a}.position, {a}.id",
            sets,
        )

    def _Resource_series(self, a: str, _node: FieldNode, sets: list[SelectionSetNode]) -> str:
        where = f"{{a}}.id = {a}.series_id AND {self.shown('{a}')}"
        return self.one("Resource", "resource", where, sets)

    def _Resource_promotingPosts(
        self, a: str, node: FieldNode, sets: list[SelectionSetNode]
    ) -> str:
        def where(x: str) -> list[str]:
            # Scope.RESOURCE: live thread starters linking the resource, newest first
            return [
                f"{x}.id IN (SELECT pr.post_id FROM post_resource pr "
                f"WHERE pr.resource_id = {a}.id)",
                f"{x}.deleted_at IS NULL",
                f"{x}.thread_starter_id IS NULL",
            ]

        total = _maintained_total(Scope.RESOURCE, f"{a}.id")
        return self.connection(self.post_page(node, where, Direction.DESC, total), sets)

    _Resource_promotingPosts.arguments = ("first", "after")  # type: ignore[attr-defined]

    def _Resource_clickCount(self, a: str, _node: FieldNode, _sets: list[SelectionSetNode]) -> str:
        return f"(SELECT count(*) FROM resource_click k WHERE k.resource_id = {a}.id)"


def compile_operation(
    document: DocumentNode,
    operation: OperationDefinitionNode,
    role: Role,
    variables: dict[str, Any],
) -> Plan:
    """The plan of a validated query for ``role``; ``variables`` decide @skip/@include only.

    Raises ``Unsupported``.
    """
    if operation.operation is not OperationType.QUERY:
        raise Unsupported("not a query")
    compiler = _Compiler(document, role, variables, base_url_key="base-url")
    data = compiler.object("Query", "root", [operation.selection_set])
    statement = (
        f"/* compiled {operation.name.value if operation.name else ''} */ SELECT ({data})::text"
    )
    return Plan(sql=statement, params=tuple(compiler.params))
