"""The dashboards' fields for compiled plans: ``campaign(slug)``, its analytics, promotions
and topic managers, as SQL over the daily rollups (migrations r8a1, c7w2).

A mixin of the compiler (``api.db.compiled.compiler``), which dispatches ``_Type_field``
methods: these use only its helpers (``param``, ``alias``, ``object``, ``one``, ``many``,
``connection``, ``argument``, ``require``, ``collect``), so this module imports nothing of it.

Figures are ``api.analytics.rollups.totals`` written as SQL, one correlated subquery per
field: the range's whole UTC days read ``rollup_day`` / ``rollup_author_bits``, its partial edge
windows are scanned (a range without a whole day is all edge, which is the scan of
``api.analytics.performance``).  Split, periods and range checks run per request in the
getters (``api.domain.periods``, as the resolvers call them); a range the resolvers refuse
makes the getter raise, and that request runs on the resolvers, which report it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from graphql import FieldNode, SelectionSetNode

from api.db.compiled import sql
from api.db.pagination import Direction
from api.domain.enums import Role
from api.domain.periods import Interval, check_range, periods, split

# ``compiler.Bindings`` (what getters read per request); not imported: the compiler imports
# this module.
Bindings = Any

STAFF = frozenset({Role.ADMIN, Role.MANAGER, Role.MEMBER})  # schema.permissions.STAFF, PEOPLE
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)  # schema.resolvers.FAR_FUTURE

SCALARS: dict[str, dict[str, str]] = {
    "Campaign": {
        "id": sql.global_id("Campaign", "{a}.id"),
        "slug": "{a}.slug",
        "name": "{a}.name",
        "description": "{a}.description",
        "startsOn": "{a}.starts_on",
        "endsOn": "{a}.ends_on",
    },
    "Goal": {
        "metric": "{a}.metric",
        "target": "{a}.target",
        "dueOn": "{a}.due_on",
        "current": "{a}.current",
    },
    "Promotion": {
        "id": sql.global_id("Promotion", "{a}.id"),
        "kind": "{a}.kind",
        "title": "{a}.title",
        "heldOn": "{a}.held_on",
        "audienceSize": "{a}.audience_size",
        "notes": "{a}.notes",
    },
    # Rows of the figures' subqueries (``_totals``): posts, likes, replies, authors.
    "Performance": {
        "posts": "{a}.posts",
        "likes": "{a}.likes",
        "replies": "{a}.replies",
        "activeAuthors": "{a}.authors",
    },
    "KindPerformance": {
        "kind": "{a}.kind",
        "posts": "{a}.posts",
        "likes": "{a}.likes",
        "replies": "{a}.replies",
    },
    "TimelinePoint": {
        "periodStart": "{a}.start",
        "posts": "{a}.posts",
        "likes": "{a}.likes",
        "replies": "{a}.replies",
        "activeAuthors": "{a}.authors",
    },
}


def python_float(expr: str) -> str:
    """A float8 as JSON that Python reads back as a float: PostgreSQL writes 3.0 as ``3``,
    which ``json.loads`` would make an int (and the answer would say ``3``, not ``3.0``)."""
    return (
        f"(CASE WHEN ({expr})::text ~ '^-?[0-9]+$' THEN (({expr})::text || '.0')::json "
        f"ELSE to_json({expr}) END)"
    )


def _ratio(numerator: str, denominator: str) -> str:
    # Python's int / int: both exact in a float8 (< 2**53), so one correctly rounded division.
    return python_float(
        f"CASE WHEN {denominator} = 0 THEN 0::float8 "
        f"ELSE ({numerator})::float8 / ({denominator})::float8 END"
    )


@dataclass(frozen=True)
class Window:
    """A range's parameters, as ``rollups.totals`` splits it: whole UTC days [first, end)
    (empty when first = end) and up to two partial edge windows (empty: lo = hi)."""

    since: datetime
    until: datetime
    first: date
    end: date
    edges: tuple[tuple[datetime, datetime], tuple[datetime, datetime]]


def window(since: datetime, until: datetime) -> Window:
    parts = split(since, until)
    if parts is None:  # no whole day: all of it is scanned
        day = since.astimezone(UTC).date()
        return Window(since, until, day, day, ((since, until), (since, since)))
    edges = [*parts.edges, (since, since), (since, since)]
    return Window(since, until, parts.first, parts.end, (edges[0], edges[1]))


class _RangeParams:
    """A range's bind parameters by name, registered on first use (a parameter the statement
    never reads would have no type)."""

    def __init__(self, param: Callable[..., str], get: Callable[[Bindings], Window], key: str):
        self._param, self._get, self._key = param, get, key
        self._made: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        if name not in self._made:
            self._made[name] = self._make(name)
        return self._made[name]

    def _make(self, name: str) -> str:
        get = self._get
        if name in ("first", "end"):
            return self._param(lambda b: getattr(get(b), name), "date")
        if name in ("since", "until"):
            return self._param(lambda b: getattr(get(b), name), "timestamptz")
        i, j = int(name[1]), 0 if name.endswith("lo") else 1  # e0lo, e0hi, e1lo, e1hi
        return self._param(lambda b: get(b).edges[i][j], "timestamptz")


@dataclass(frozen=True)
class ScopeSql:
    """A rolled-up scope for one parent row: its letter and text key in the rollups, and
    ``member(p)``, api.db.repositories.scopes' condition (live starters of the parent)."""

    letter: str
    key: str
    member: Callable[[str], str]


def _probe(select: str) -> str:
    """A scalar ``LIMIT 1`` probe, as ``rollups.probed``: an EXISTS would let the planner turn
    the test into a hashed semi-join over every post of the campaign's topics or the topic's
    hashtag (241,000 rows for a campaign at 300,000 posts), where an edge window or a reply's
    starter needs a few index probes."""
    return f"(({select} LIMIT 1) IS NOT NULL)"


def campaign_scope(c: str) -> ScopeSql:
    def member(p: str) -> str:
        # Scope.CAMPAIGN: on one of its topics' hashtags, or in a group it tracks.
        on_topic = _probe(
            f"SELECT 1 FROM post_hashtag mh JOIN topic mt ON mt.hashtag = mh.hashtag "
            f"WHERE mh.post_id = {p}.id AND mt.campaign_id = {c}.id"
        )
        in_group = _probe(
            f"SELECT 1 FROM campaign_group mg WHERE mg.group_id = {p}.group_id "
            f"AND mg.campaign_id = {c}.id"
        )
        return f"({on_topic} OR {in_group})"

    return ScopeSql("C", f"({c}.id)::text", member)


def topic_scope(hashtag: str) -> ScopeSql:
    def member(p: str) -> str:
        # Scope.TOPIC, probed per post (an edge window holds few) rather than by hashtag.
        return _probe(
            f"SELECT 1 FROM post_hashtag mh WHERE mh.post_id = {p}.id AND mh.hashtag = {hashtag}"
        )

    return ScopeSql("T", hashtag, member)


class AnalyticsFields:
    """Compiler methods for the dashboards' types (mixed into ``_Compiler``)."""

    if TYPE_CHECKING:
        role: Role

        def param(self, get: Callable[[Bindings], Any], cast: str, key: Any = None) -> str: ...
        def alias(self, prefix: str) -> str: ...
        def require(self, roles: frozenset[Role]) -> None: ...
        def argument(self, node: FieldNode, name: str, default: Any) -> Any: ...
        def object(self, type_name: str, alias: str, sets: Sequence[SelectionSetNode]) -> str: ...
        def field(self, type_name: str, alias: str, nodes: list[FieldNode]) -> str: ...
        def collect(
            self, type_name: str, sets: Sequence[SelectionSetNode]
        ) -> dict[str, list[FieldNode]]: ...
        def one(
            self, type_name: str, table: str, where: str, sets: Sequence[SelectionSetNode]
        ) -> str: ...
        def many(
            self,
            type_name: str,
            from_: str,
            where: str,
            order: str,
            sets: Sequence[SelectionSetNode],
        ) -> str: ...
        def page_spec(self, **fields: Any) -> Any: ...
        def unsupported(self, reason: str) -> None: ...
        def connection(self, spec: Any, sets: Sequence[SelectionSetNode]) -> str: ...

    # -- parameters of a range ---------------------------------------------------------
    def range_params(self, get: Callable[[Bindings], Window]) -> _RangeParams:
        return _RangeParams(self.param, get, self.alias("w"))

    def since_until(self, node: FieldNode) -> tuple[Callable[[Bindings], Any], ...]:
        return self.argument(node, "since", None), self.argument(node, "until", None)

    # -- figures ------------------------------------------------------------------------
    def totals(
        self,
        scope: ScopeSql,
        w: Any,  # _RangeParams, or SQL by name for a range the row decides
        *,
        unit: str | None,
        authors: bool,
        by_kind: bool = False,
    ) -> str:
        """Rows (bucket, [kind,] posts, likes, replies[, authors]) with posts > 0, as
        ``rollups.totals`` (``unit``: date_trunc's unit of the periods, None: one row) and
        ``rollups.totals_by_kind`` (``by_kind``)."""

        def bucket(column: str) -> str:
            if unit is None:
                return "NULL::date"
            return f"date_trunc({unit}, timezone('UTC', {column}))::date"

        def day_bucket(column: str) -> str:
            if unit is None:
                return "NULL::date"
            return f"date_trunc({unit}, ({column})::timestamp)::date"

        def in_edges(column: str) -> str:
            return (
                f"(({column} >= {w['e0lo']} AND {column} < {w['e0hi']}) OR "
                f"({column} >= {w['e1lo']} AND {column} < {w['e1hi']}))"
            )

        e, d = self.alias("e"), self.alias("d")
        edge = (
            f"SELECT {e}.id, {e}.author_id, {e}.like_count, {e}.reply_count, {e}.kind, "
            f"{bucket(f'{e}.created_at')} AS b FROM post {e} "
            f"WHERE {e}.thread_starter_id IS NULL AND {e}.deleted_at IS NULL "
            f"AND {in_edges(f'{e}.created_at')} AND {scope.member(e)}"
        )
        rolled = (
            f"{d}.scope = '{scope.letter}' AND {d}.key = {scope.key} "
            f"AND {d}.day >= {w['first']} AND {d}.day < {w['end']}"
        )
        kind_rolled, kind_edge = (f"{d}.kind, ", "x.kind::text, ") if by_kind else ("", "")
        counts = (
            f"SELECT {day_bucket(f'{d}.day')} AS b, {kind_rolled}{d}.posts, {d}.likes, "
            f"{d}.replies FROM rollup_day {d} WHERE {rolled} "
            f"UNION ALL SELECT x.b, {kind_edge}1, x.like_count, x.reply_count FROM edge x"
        )
        group = "b, kind" if by_kind else "b"
        figures = (
            f"SELECT {group}, sum(posts) AS posts, sum(likes) AS likes, sum(replies) AS replies "
            f"FROM ({counts}) k(b, {'kind, ' if by_kind else ''}posts, likes, replies) "
            f"GROUP BY {group} HAVING sum(posts) > 0"
        )
        if not authors:
            return f"WITH edge AS ({edge}) {figures}"
        a, r, s = self.alias("a"), self.alias("r"), self.alias("s")
        whole_lo = f"({w['first']})::timestamp AT TIME ZONE 'UTC'"
        whole_hi = f"({w['end']})::timestamp AT TIME ZONE 'UTC'"
        r_at, s_at = f"{r}.created_at", f"{s}.created_at"
        in_period = "" if unit is None else f" AND {bucket(r_at)} = x.b"
        in_starter_period = "" if unit is None else f" AND {bucket(r_at)} = {bucket(s_at)}"
        # Per period, a contribution counts only within its starter's period.
        same_period = (
            ""
            if unit is None
            else f" AND {day_bucket(f'{a}.day')} = {day_bucket(f'{a}.other_day')}"
        )
        scanned = (
            # Edge starters, and their replies within the range (and period).
            f"SELECT x.b, x.author_id FROM edge x "
            f"UNION ALL SELECT x.b, {r}.author_id FROM edge x JOIN post {r} "
            f"ON {r}.thread_starter_id = x.id WHERE {r}.deleted_at IS NULL "
            f"AND {r}.created_at >= {w['since']} AND {r}.created_at < {w['until']}"
            f"{in_period} "
            # Replies written in an edge window to starters of the whole days.
            f"UNION ALL SELECT {bucket(f'{s}.created_at')}, {r}.author_id FROM post {r} "
            f"JOIN post {s} ON {s}.id = {r}.thread_starter_id "
            f"WHERE {r}.thread_starter_id IS NOT NULL AND {r}.deleted_at IS NULL "
            f"AND {in_edges(f'{r}.created_at')} "
            f"AND {s}.thread_starter_id IS NULL AND {s}.deleted_at IS NULL "
            f"AND {s}.created_at >= {whole_lo} AND {s}.created_at < {whole_hi} "
            f"AND {scope.member(s)}"
            f"{in_starter_period}"
        )
        bitmaps = (
            # Contributions whose starter's and own days are both whole days of the range, as
            # bitmaps of authors per chunk of ids (migration c7w2): a few rows per day pair.
            f"SELECT {day_bucket(f'{a}.day')} AS b, {a}.chunk, {a}.bits "
            f"FROM rollup_author_bits {a} "
            f"WHERE {a}.scope = '{scope.letter}' AND {a}.key = {scope.key} "
            f"AND {a}.day >= {w['first']} AND {a}.day < {w['end']} "
            f"AND {a}.other_day >= {w['first']} AND {a}.other_day < {w['end']}{same_period} "
            # The edges' authors (few), each its own bit.
            f"UNION ALL SELECT u0.b, u0.author_id >> 12, "
            f"B'1'::bit(4096) >> (u0.author_id & 4095)::int "
            f"FROM ({scanned}) u0(b, author_id)"
        )
        return (
            # One bitmap per period and chunk (bit_or), then its bits counted: each author once.
            f"WITH edge AS ({edge}), f AS ({figures}), au AS (SELECT b, "
            f"sum(bit_count(m))::bigint AS authors FROM (SELECT b, bit_or(bits) AS m "
            f"FROM ({bitmaps}) u(b, chunk, bits) GROUP BY b, chunk) v GROUP BY b) "
            f"SELECT f.*, coalesce(au.authors, 0) AS authors FROM f "
            f"LEFT JOIN au ON au.b IS NOT DISTINCT FROM f.b"
        )

    def performance(
        self,
        scope: ScopeSql,
        node: FieldNode,
        sets: list[SelectionSetNode],
        followers: Callable[[str, str], str],
    ) -> str:
        """A ``Performance`` of one range; ``followers(since, until)``: newFollowers' SQL."""
        since, until = self.since_until(node)
        memo = ("window", self.alias("w"))

        def get(b: Bindings) -> Window:
            def compute() -> Window:
                check_range(since(b), until(b))
                return window(since(b), until(b))

            return b.once(memo, compute)

        w = self.range_params(get)
        fields = self.collect("Performance", sets)
        authors = any(nodes[0].name.value == "activeAuthors" for nodes in fields.values())
        t = self.alias("t")
        pairs = []
        for key, nodes in fields.items():
            if nodes[0].name.value == "newFollowers":
                pairs.append((key, followers(w["since"], w["until"])))
            else:
                pairs.append((key, self.field("Performance", t, nodes)))
        totals = self.totals(scope, w, unit=None, authors=authors)
        authors_sql = "coalesce(z.authors, 0)" if authors else "0"
        # One row, zeros when the range has no posts (rollups.totals gives none then).
        return (
            f"(SELECT {sql.json_object(pairs)} FROM (SELECT coalesce(z.posts, 0) AS posts, "
            f"coalesce(z.likes, 0) AS likes, coalesce(z.replies, 0) AS replies, "
            f"{authors_sql} AS authors FROM (SELECT 1) o LEFT JOIN ({totals}) z ON true) {t})"
        )

    def _Performance_engagementRate(
        self, a: str, _node: FieldNode, _sets: list[SelectionSetNode]
    ) -> str:
        return _ratio(f"{a}.likes + {a}.replies", f"{a}.posts")

    def _KindPerformance_likesPerPost(
        self, a: str, _node: FieldNode, _sets: list[SelectionSetNode]
    ) -> str:
        return _ratio(f"{a}.likes", f"{a}.posts")

    # -- Query ------------------------------------------------------------------------
    def _Query_campaign(self, _a: str, node: FieldNode, sets: list[SelectionSetNode]) -> str:
        self.require(STAFF)
        slug = self.param(self.argument(node, "slug", None), "text")
        return self.one("Campaign", "campaign", f"{{a}}.slug = {slug}", sets)

    _Query_campaign.arguments = ("slug",)  # type: ignore[attr-defined]

    # -- Campaign ---------------------------------------------------------------------
    def _Campaign_performanceByKind(
        self, a: str, node: FieldNode, sets: list[SelectionSetNode]
    ) -> str:
        since, until = self.since_until(node)
        memo = ("window", self.alias("w"))

        def get(b: Bindings) -> Window:
            def compute() -> Window:
                periods(since(b), until(b), Interval.MONTH)  # validates, as the resolver
                return window(since(b), until(b))

            return b.once(memo, compute)

        w = self.range_params(get)
        t = self.alias("t")
        item = self.object("KindPerformance", t, sets)
        totals = self.totals(campaign_scope(a), w, unit=None, authors=False, by_kind=True)
        # Sorted by the kind's value, as Python sorts text.
        return (
            f"coalesce((SELECT json_agg({item} "
            f"ORDER BY {t}.kind COLLATE \"C\") FROM ({totals}) {t}), '[]')"
        )

    _Campaign_performanceByKind.arguments = ("since", "until")  # type: ignore[attr-defined]

    def _Campaign_timeline(self, a: str, node: FieldNode, sets: list[SelectionSetNode]) -> str:
        since, until = self.since_until(node)
        interval = self.argument(node, "interval", Interval.WEEK)
        key, memo = ("timeline", self.alias("w")), ("window", self.alias("w"))

        def spans(b: Bindings) -> tuple[Interval, list[Any]]:
            def compute() -> tuple[Interval, list[Any]]:
                step = interval(b)
                step = step if isinstance(step, Interval) else Interval[str(step)]
                return step, periods(since(b), until(b), step)

            return b.once(key, compute)

        def get(b: Bindings) -> Window:
            def compute() -> Window:
                found = spans(b)[1]
                if not found:  # an empty range: nothing is read
                    moment = since(b)
                    return window(moment, moment)
                return window(found[0][1], found[-1][2])

            return b.once(memo, compute)

        w = self.range_params(get)
        unit = self.param(lambda b: spans(b)[0].value.lower(), "text")
        starts = self.param(lambda b: [start for start, _, _ in spans(b)[1]], "date[]")
        fields = self.collect("TimelinePoint", sets)
        authors = any(nodes[0].name.value == "activeAuthors" for nodes in fields.values())
        k, t = self.alias("k"), self.alias("t")
        point = self.alias("p")
        item = self.object("TimelinePoint", point, sets)
        totals = self.totals(campaign_scope(a), w, unit=unit, authors=authors)
        figures = "posts, likes, replies, " + ("authors" if authors else "0::bigint AS authors")
        return (
            f"coalesce((SELECT json_agg({item} ORDER BY {point}.i) FROM "
            f"(SELECT {k}.start, {k}.i, coalesce({t}.posts, 0) AS posts, "
            f"coalesce({t}.likes, 0) AS likes, coalesce({t}.replies, 0) AS replies, "
            f"coalesce({t}.authors, 0) AS authors "
            f"FROM unnest({starts}) WITH ORDINALITY AS {k}(start, i) LEFT JOIN "
            f"(SELECT b, {figures} FROM ({totals}) z) {t} ON {t}.b = {k}.start) {point}), '[]')"
        )

    _Campaign_timeline.arguments = ("since", "until", "interval")  # type: ignore[attr-defined]

    def _Campaign_topicManagers(
        self, a: str, _node: FieldNode, sets: list[SelectionSetNode]
    ) -> str:
        self.require(STAFF)
        # api.db.repositories.topics.current_managers_by("campaign_id") / current_assignment
        mt = self.alias("mt")
        return self.many(
            "TopicManager",
            f"topic_manager {{a}} JOIN topic {mt} ON {mt}.id = {{a}}.topic_id",
            f"{mt}.campaign_id = {a}.id AND {{a}}.since <= current_date "
            "AND ({a}.until IS NULL OR {a}.until > current_date)",
            "{a}.since, {a}.id",
            sets,
        )

    def _Campaign_promotions(self, a: str, node: FieldNode, sets: list[SelectionSetNode]) -> str:
        # api.db.repositories.campaigns.page_promotions_by_campaign: most recent first
        spec = self.page_spec(
            node_type="Promotion",
            table="promotion",
            columns="id, campaign_id, kind, title, held_on, audience_size, notes",
            where=lambda x: [f"{x}.campaign_id = {a}.id"],
            sort="held_on",
            direction=Direction.DESC,
            value_type=date,
            first=self.argument(node, "first", 20),
            after=self.argument(node, "after", None),
        )
        return self.connection(spec, sets)

    _Campaign_promotions.arguments = ("first", "after")  # type: ignore[attr-defined]

    # -- Promotion --------------------------------------------------------------------
    def _Promotion_followersGainedWithin7Days(
        self, a: str, _node: FieldNode, _sets: list[SelectionSetNode]
    ) -> str:
        # The campaign owner's change over [held_on, held_on + 7 days), null without an owner.
        start = f"(({a}.held_on)::timestamp AT TIME ZONE 'UTC')"
        end = f"((({a}.held_on) + 7)::timestamp AT TIME ZONE 'UTC')"
        owner = f"(SELECT pc.owner_id FROM campaign pc WHERE pc.id = {a}.campaign_id)"
        return (
            f"(SELECT CASE WHEN po.owner_id IS NULL THEN NULL ELSE "
            f"{followers_before('po.owner_id', end)} - {followers_before('po.owner_id', start)}"
            f" END FROM (SELECT {owner} AS owner_id) po)"
        )

    # -- TopicManager -----------------------------------------------------------------
    def _TopicManager_performance(
        self, a: str, node: FieldNode, sets: list[SelectionSetNode]
    ) -> str:
        hashtag = f"(SELECT pt.hashtag FROM topic pt WHERE pt.id = {a}.topic_id)"

        def followers(since: str, until: str) -> str:
            return (
                f"({followers_before(f'{a}.person_id', until)} - "
                f"{followers_before(f'{a}.person_id', since)})"
            )

        return self.performance(topic_scope(hashtag), node, sets, followers)

    _TopicManager_performance.arguments = ("since", "until")  # type: ignore[attr-defined]

    # -- CampaignDashboard ------------------------------------------------------------
    def _Campaign_owner(self, a: str, _node: FieldNode, sets: list[SelectionSetNode]) -> str:
        self.require(STAFF)
        return self.one("Person", "person", f"{{a}}.id = {a}.owner_id", sets)

    def _Campaign_performance(self, a: str, node: FieldNode, sets: list[SelectionSetNode]) -> str:
        def followers(since: str, until: str) -> str:  # the owner's; 0 without one
            owner = f"{a}.owner_id"
            return (
                f"(CASE WHEN {owner} IS NULL THEN 0 ELSE {followers_before(owner, until)} - "
                f"{followers_before(owner, since)} END)"
            )

        return self.performance(campaign_scope(a), node, sets, followers)

    _Campaign_performance.arguments = ("since", "until")  # type: ignore[attr-defined]

    def _Campaign_followerGrowth(
        self, a: str, node: FieldNode, sets: list[SelectionSetNode]
    ) -> str:
        # schema.resolvers.follower_growth: the owner's count at each period's end.
        since, until = self.since_until(node)
        interval = self.argument(node, "interval", Interval.WEEK)
        key = ("spans", self.alias("w"))

        def spans(b: Bindings) -> list[Any]:
            def compute() -> list[Any]:
                step = interval(b)
                step = step if isinstance(step, Interval) else Interval[str(step)]
                return periods(since(b), until(b), step)

            return b.once(key, compute)

        starts = self.param(lambda b: [start for start, _, _ in spans(b)], "date[]")
        ends = self.param(lambda b: [end for _, _, end in spans(b)], "timestamptz[]")
        k = self.alias("k")
        pairs = []
        for point_key, nodes in self.collect("FollowerPoint", sets).items():
            name = nodes[0].name.value
            if name == "periodStart":
                pairs.append((point_key, f"{k}.start"))
            elif name == "followers":
                pairs.append((point_key, followers_before(f"{a}.owner_id", f"{k}.moment")))
            elif name == "__typename":
                pairs.append((point_key, "'FollowerPoint'"))
            else:
                self.unsupported(f"FollowerPoint.{name}")
        return (
            f"(CASE WHEN {a}.owner_id IS NULL THEN '[]'::json ELSE "
            f"coalesce((SELECT json_agg({sql.json_object(pairs)} ORDER BY {k}.i) "
            f"FROM unnest({starts}, {ends}) WITH ORDINALITY AS {k}(start, moment, i)), '[]') END)"
        )

    _Campaign_followerGrowth.arguments = ("since", "until", "interval")  # type: ignore[attr-defined]

    def _Campaign_goals(self, a: str, _node: FieldNode, sets: list[SelectionSetNode]) -> str:
        # schema.types.campaign.Goal.current: the campaign's totals since it started (active
        # authors only when a goal counts them), or the owner's followers.
        since = f"(({a}.starts_on)::timestamp AT TIME ZONE 'UTC')"
        w = {
            "first": f"{a}.starts_on",
            "end": f"'{FAR_FUTURE.date().isoformat()}'::date",
            "since": since,
            "until": f"'{FAR_FUTURE.isoformat()}'::timestamptz",
            **{f"e{i}{end}": since for i in (0, 1) for end in ("lo", "hi")},
        }
        scope = campaign_scope(a)
        figures = self.totals(scope, w, unit=None, authors=False)
        authors = self.totals(scope, w, unit=None, authors=True)
        t, g = self.alias("t"), self.alias("g")
        counted = (
            f"SELECT coalesce(z.posts, 0) AS posts, coalesce(z.likes, 0) AS likes, "
            f"coalesce(z.replies, 0) AS replies, CASE WHEN EXISTS (SELECT 1 FROM campaign_goal ga "
            f"WHERE ga.campaign_id = {a}.id AND ga.metric = 'ACTIVE_AUTHORS') THEN coalesce(("
            f"SELECT y.authors FROM ({authors}) y), 0) ELSE 0 END AS authors "
            # OFFSET 0: computed once, not pulled up into a CASE per goal row.
            f"FROM (SELECT 1) o LEFT JOIN ({figures}) z ON true OFFSET 0"
        )
        current = (
            f"CASE {{a}}.metric WHEN 'FOLLOWERS' THEN coalesce((SELECT gp.follower_count "
            f"FROM person gp WHERE gp.id = {a}.owner_id), 0) WHEN 'POSTS' THEN {t}.posts "
            f"WHEN 'LIKES' THEN {t}.likes WHEN 'REPLIES' THEN {t}.replies ELSE {t}.authors END"
        )
        return self.many(
            "Goal",
            f"(SELECT {g}.*, {current.format(a=g)} AS current FROM campaign_goal {g}, "
            f"({counted}) {t} WHERE {g}.campaign_id = {a}.id) {{a}}",
            "true",
            "{a}.id",
            sets,
        )

    def _Goal_progress(self, a: str, _node: FieldNode, _sets: list[SelectionSetNode]) -> str:
        return _ratio(f"{a}.current", f"{a}.target")

    def _Campaign_topics(self, a: str, node: FieldNode, sets: list[SelectionSetNode]) -> str:
        # api.db.repositories.topics.page_topics_by_campaign: by id
        spec = self.page_spec(
            node_type="Topic",
            table="topic",
            columns="id, campaign_id, hashtag, name, description",
            where=lambda x: [f"{x}.campaign_id = {a}.id"],
            sort="id",
            direction=Direction.ASC,
            value_type=int,
            first=self.argument(node, "first", 20),
            after=self.argument(node, "after", None),
        )
        return self.connection(spec, sets)

    _Campaign_topics.arguments = ("first", "after")  # type: ignore[attr-defined]

    def _Campaign_groups(self, a: str, node: FieldNode, sets: list[SelectionSetNode]) -> str:
        # api.db.repositories.people.page_groups_by_campaign: the groups it tracks, by name
        spec = self.page_spec(
            node_type="Group",
            table="microblog_group",
            columns="id, name, description, privacy, member_count, joined, web_url",
            where=lambda x: [
                f"{x}.id IN (SELECT cg.group_id FROM campaign_group cg "
                f"WHERE cg.campaign_id = {a}.id)"
            ],
            sort="name",
            direction=Direction.ASC,
            value_type=str,
            first=self.argument(node, "first", 20),
            after=self.argument(node, "after", None),
        )
        return self.connection(spec, sets)

    _Campaign_groups.arguments = ("first", "after")  # type: ignore[attr-defined]

    # -- Topic ------------------------------------------------------------------------
    def _Topic_managers(self, a: str, _node: FieldNode, sets: list[SelectionSetNode]) -> str:
        self.require(STAFF)
        # api.db.repositories.topics.current_managers_by("topic_id")
        return self.many(
            "TopicManager",
            "topic_manager {a}",
            f"{{a}}.topic_id = {a}.id AND {{a}}.since <= current_date "
            "AND ({a}.until IS NULL OR {a}.until > current_date)",
            "{a}.since, {a}.id",
            sets,
        )

    def _Topic_performance(self, a: str, node: FieldNode, sets: list[SelectionSetNode]) -> str:
        self.require(STAFF)

        def followers(since: str, until: str) -> str:  # the current managers' together
            return (
                f"coalesce((SELECT sum({followers_before('tm.person_id', until)} - "
                f"{followers_before('tm.person_id', since)}) FROM topic_manager tm "
                f"WHERE tm.topic_id = {a}.id AND tm.since <= current_date "
                f"AND (tm.until IS NULL OR tm.until > current_date)), 0)"
            )

        return self.performance(topic_scope(f"{a}.hashtag"), node, sets, followers)

    _Topic_performance.arguments = ("since", "until")  # type: ignore[attr-defined]


def followers_before(person: str, moment: str) -> str:
    """api.analytics.performance.followers_before: the last snapshot before the moment; before
    the first snapshot, the first; with none, the current count; 0 for nobody."""
    return (
        f"coalesce((SELECT f.followers FROM follower_snapshot f WHERE f.person_id = {person} "
        f"AND f.observed_at < {moment} ORDER BY f.observed_at DESC LIMIT 1), "
        f"(SELECT f.followers FROM follower_snapshot f WHERE f.person_id = {person} "
        f"ORDER BY f.observed_at LIMIT 1), "
        f"(SELECT fp.follower_count FROM person fp WHERE fp.id = {person}), 0)"
    )
