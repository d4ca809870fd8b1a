"""The raw limit reading what the project maintains: "raw (maintained)".

    python -m bench.peers.raw_maintained --database-url URL --port 8102 --pool 10

The raw peer (bench/peers/raw.py) counts rows per request: a topic's live starters for
TopicFeed's ``totalCount``, a resource's for ResourcePerformance's, every post of a range for the
dashboards.  The project reads numbers it keeps instead: the maintained post counts
(``hashtag_post_count``, ``resource_post_count``: api/db/repositories/post_counts.py) and the
daily rollups (``rollup_day``, ``rollup_author_day``: api/analytics/rollups.py), whose whole UTC
days are read and whose partial edge windows are scanned.  This peer is the raw peer with the
same reads, one hand-written statement per operation still: the like-for-like floor.  Its
answers equal the raw peer's (and the project's) exactly; the other operations are the raw
peer's own statements.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from api.domain.periods import split
from bench.peers.raw import (
    CAMPAIGN_DASHBOARD,
    CONTENT_MIX,
    IN_CAMPAIGN,
    IN_TOPIC,
    MANAGER_LEADERBOARD,
    OPERATIONS,
    RESOURCE_PERFORMANCE,
    TOPIC_FEED,
    Build,
    _cursor,
    _span,
    main,
    totals,
)

FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)

# A feed's totalCount from the maintained counts: the sum of the key's delta rows.
TOPIC_TOTAL = "(SELECT coalesce(sum(starters), 0) FROM hashtag_post_count WHERE hashtag = $1)"
RESOURCE_TOTAL = (
    "(SELECT coalesce(sum(starters), 0) FROM resource_post_count WHERE resource_id = r.id)"
)

_LIVE_COUNT = "'totalCount', (SELECT count(*) FROM live),"
_RESOURCE_COUNT = """'totalCount', (SELECT count(*) FROM post p WHERE p.thread_starter_id IS NULL
                         AND p.deleted_at IS NULL AND p.id IN (
                           SELECT post_id FROM post_resource WHERE resource_id = r.id)),"""


def _replace(text: str, old: str, new: str) -> str:
    """``text`` with its one ``old`` replaced (a statement the raw peer changed fails here)."""
    if text.count(old) != 1:
        raise ValueError(f"expected one {old!r}")
    return text.replace(old, new)


TOPIC_FEED_MAINTAINED = _replace(TOPIC_FEED, _LIVE_COUNT, f"'totalCount', {TOPIC_TOTAL},")
RESOURCE_PERFORMANCE_MAINTAINED = _replace(
    RESOURCE_PERFORMANCE, _RESOURCE_COUNT, f"'totalCount', {RESOURCE_TOTAL},"
)


# -- the rollups --------------------------------------------------------------------------
# A range's SQL by name: since, until (timestamptz); first, end (dates: its whole UTC days,
# first = end when it has none); e0lo, e0hi, e1lo, e1hi (its partial edge windows, empty when
# lo = hi), as api.analytics.rollups splits it.
Range = dict[str, str]


def window(since: datetime, until: datetime) -> list[Any]:
    """[since, until, first, end, e0lo, e0hi, e1lo, e1hi] of a range (api.domain.periods.split);
    a range without a whole day is one edge window, scanned."""
    parts = split(since, until)
    if parts is None:
        day = since.astimezone(UTC).date()
        return [since, until, day, day, since, until, since, since]
    edges = [*parts.edges, (since, since), (since, since)]
    return [since, until, parts.first, parts.end, *edges[0], *edges[1]]


def params(at: int) -> Range:
    """The range of ``window`` bound from parameter $at on."""
    names = ("since", "until", "first", "end", "e0lo", "e0hi", "e1lo", "e1hi")
    types = ("timestamptz", "timestamptz", "date", "date") + ("timestamptz",) * 4
    return {n: f"${at + i}::{t}" for i, (n, t) in enumerate(zip(names, types, strict=True))}


def campaign_member(c: str) -> Callable[[str], str]:
    """Scope.CAMPAIGN: on one of its topics' hashtags, or in a group it tracks."""

    def member(p: str) -> str:
        return f"""(EXISTS (SELECT 1 FROM post_hashtag mh JOIN topic mt ON mt.hashtag = mh.hashtag
                     WHERE mh.post_id = {p}.id AND mt.campaign_id = {c})
             OR EXISTS (SELECT 1 FROM campaign_group mg
                        WHERE mg.group_id = {p}.group_id AND mg.campaign_id = {c}))"""

    return member


def topic_member(hashtag: str) -> Callable[[str], str]:
    """Scope.TOPIC, probed per post (an edge window holds few posts)."""

    def member(p: str) -> str:
        return (
            f"EXISTS (SELECT 1 FROM post_hashtag mh WHERE mh.post_id = {p}.id "
            f"AND mh.hashtag = {hashtag})"
        )

    return member


def _in_edges(column: str, w: Range) -> str:
    return (
        f"(({column} >= {w['e0lo']} AND {column} < {w['e0hi']})"
        f" OR ({column} >= {w['e1lo']} AND {column} < {w['e1hi']}))"
    )


def rolled(
    letter: str, key: str, member: Callable[[str], str], w: Range, authors: str = "all"
) -> str:
    """A one-row subquery (posts, likes, replies, authors) for one scope over a range: the
    rollups' whole days plus the edge windows' starters.  ``authors``: "all" counts active
    authors, "none" gives 0, or a condition under which they are counted (else 0)."""
    edge = f"""SELECT e.id, e.author_id, e.like_count, e.reply_count FROM post e
      WHERE e.thread_starter_id IS NULL AND e.deleted_at IS NULL
        AND {_in_edges("e.created_at", w)} AND {member("e")}"""
    whole_lo = f"({w['first']})::timestamp AT TIME ZONE 'UTC'"
    whole_hi = f"({w['end']})::timestamp AT TIME ZONE 'UTC'"
    # Distinct authors: contributions whose starter's and own days are both whole days; edge
    # starters and their replies within the range; replies in an edge window to starters of
    # the whole days.
    counted = f"""(SELECT count(*) FROM (
        SELECT a.author_id FROM rollup_author_day a
        WHERE a.scope = '{letter}' AND a.key = {key}
          AND a.day >= {w["first"]} AND a.day < {w["end"]}
          AND a.other_day >= {w["first"]} AND a.other_day < {w["end"]}
        UNION SELECT x.author_id FROM edge x
        UNION SELECT r.author_id FROM edge x JOIN post r ON r.thread_starter_id = x.id
          WHERE r.deleted_at IS NULL AND r.created_at >= {w["since"]}
            AND r.created_at < {w["until"]}
        UNION SELECT r.author_id FROM post r JOIN post s ON s.id = r.thread_starter_id
          WHERE r.thread_starter_id IS NOT NULL AND r.deleted_at IS NULL
            AND {_in_edges("r.created_at", w)}
            AND s.thread_starter_id IS NULL AND s.deleted_at IS NULL
            AND s.created_at >= {whole_lo} AND s.created_at < {whole_hi}
            AND {member("s")}) u)"""
    if authors == "none":
        counted = "0"
    elif authors != "all":
        counted = f"CASE WHEN {authors} THEN {counted} ELSE 0 END"
    return f"""(WITH edge AS ({edge})
      SELECT coalesce(sum(k.posts), 0) AS posts, coalesce(sum(k.likes), 0) AS likes,
             coalesce(sum(k.replies), 0) AS replies, {counted} AS authors
      FROM (SELECT d.posts, d.likes, d.replies FROM rollup_day d
            WHERE d.scope = '{letter}' AND d.key = {key}
              AND d.day >= {w["first"]} AND d.day < {w["end"]}
            UNION ALL SELECT 1, x.like_count, x.reply_count FROM edge x) k)"""


W = params(2)  # the dashboards' range: $2 since, $3 until, then the split from $4 on
CAMPAIGN = campaign_member("c.id")
CAMPAIGN_KEY = "(c.id)::text"
_GOALS_SINCE = "(c.starts_on::timestamp AT TIME ZONE 'UTC')"
_GOALS_UNTIL = f"'{FAR_FUTURE.isoformat()}'::timestamptz"
# Since the campaign started: whole days to the far future, no edge windows.
_GOALS_RANGE: Range = {
    "since": _GOALS_SINCE,
    "until": _GOALS_UNTIL,
    "first": "c.starts_on",
    "end": f"'{FAR_FUTURE.date().isoformat()}'::date",
    **{f"e{i}{end}": _GOALS_SINCE for i in (0, 1) for end in ("lo", "hi")},
}

_GOALS_AUTHORS = (
    "EXISTS (SELECT 1 FROM campaign_goal ga WHERE ga.campaign_id = c.id"
    " AND ga.metric = 'ACTIVE_AUTHORS')"
)


def _dashboard_sql() -> str:
    """The raw CampaignDashboard with its figures from the rollups.  Goals count active authors
    only when a goal asks for them, as the project does."""
    sql = _replace(
        CAMPAIGN_DASHBOARD,
        totals(IN_CAMPAIGN.format(c="c.id"), "$2", "$3"),
        rolled("C", CAMPAIGN_KEY, CAMPAIGN, W),
    )
    sql = _replace(
        sql,
        totals(IN_CAMPAIGN.format(c="c.id"), _GOALS_SINCE, _GOALS_UNTIL),
        f"(SELECT * FROM "
        f"{rolled('C', CAMPAIGN_KEY, CAMPAIGN, _GOALS_RANGE, authors=_GOALS_AUTHORS)}"
        f" t0 OFFSET 0)",
    )
    return _replace(
        sql,
        totals(IN_TOPIC.format(c="tp.hashtag"), "$2", "$3", authors=False),
        rolled("T", "tp.hashtag", topic_member("tp.hashtag"), W, authors="none"),
    )


CAMPAIGN_DASHBOARD_MAINTAINED = _dashboard_sql()

# The weeks overlapping [since, until): whole days, so the rollups answer them alone.
_WEEK_LO = "date_trunc('week', $2::timestamptz AT TIME ZONE 'UTC')::date"
_WEEK_HI = (
    "(date_trunc('week', $3::timestamptz AT TIME ZONE 'UTC' - interval '1 microsecond')"
    " + interval '7 days')::date"
)
_WEEK_OF = "date_trunc('week', ({c})::timestamp)::date"

TIMELINE = f"""coalesce((WITH tot AS (
        SELECT {_WEEK_OF.format(c="d.day")} AS bucket, sum(d.posts) AS posts,
               sum(d.likes) AS likes, sum(d.replies) AS replies
        FROM rollup_day d WHERE d.scope = 'C' AND d.key = {CAMPAIGN_KEY}
          AND d.day >= {_WEEK_LO} AND d.day < {_WEEK_HI}
        GROUP BY 1
      ), au AS (
        -- A contribution counts in its starter's week only.  As a CASE (count skips NULL),
        -- not a WHERE, whose guessed selectivity makes the planner sort 140,000 rows at
        -- 300,000 posts rather than hash them.
        SELECT bucket, count(author_id) AS authors FROM (
          SELECT DISTINCT {_WEEK_OF.format(c="a.day")} AS bucket,
                 CASE WHEN {_WEEK_OF.format(c="a.day")} = {_WEEK_OF.format(c="a.other_day")}
                      THEN a.author_id END AS author_id
          FROM rollup_author_day a WHERE a.scope = 'C' AND a.key = {CAMPAIGN_KEY}
            AND a.day >= {_WEEK_LO} AND a.day < {_WEEK_HI}
            AND a.other_day >= {_WEEK_LO} AND a.other_day < {_WEEK_HI}) x
        GROUP BY bucket
      )
      SELECT json_agg(json_build_object(
        'periodStart', w.start::date, 'posts', coalesce(tot.posts, 0),
        'likes', coalesce(tot.likes, 0), 'replies', coalesce(tot.replies, 0),
        'activeAuthors', coalesce(au.authors, 0)) ORDER BY w.start)
      FROM generate_series(date_trunc('week', $2 AT TIME ZONE 'UTC'),
                           $3 AT TIME ZONE 'UTC' - interval '1 microsecond',
                           interval '7 days') AS w(start)
      LEFT JOIN tot ON tot.bucket = w.start::date LEFT JOIN au ON au.bucket = w.start::date
      WHERE $2 < $3), '[]')"""

BY_KIND = f"""coalesce((
      SELECT json_agg(json_build_object('kind', k.kind, 'posts', k.posts, 'likes', k.likes,
                                        'replies', k.replies,
                                        'likesPerPost', k.likes::float8 / k.posts)
                      ORDER BY k.kind COLLATE "C")
      FROM (SELECT u.kind, sum(u.posts) AS posts, sum(u.likes) AS likes,
                   sum(u.replies) AS replies
            FROM (SELECT d.kind, d.posts, d.likes, d.replies FROM rollup_day d
                  WHERE d.scope = 'C' AND d.key = {CAMPAIGN_KEY}
                    AND d.day >= {W["first"]} AND d.day < {W["end"]}
                  UNION ALL
                  SELECT e.kind::text, 1, e.like_count, e.reply_count FROM post e
                  WHERE e.thread_starter_id IS NULL AND e.deleted_at IS NULL
                    AND {_in_edges("e.created_at", W)} AND {CAMPAIGN("e")}) u
            GROUP BY u.kind HAVING sum(u.posts) > 0) k), '[]')"""

_RAW_BY_KIND_START = "'performanceByKind', coalesce(("
_RAW_TIMELINE_START = "'timeline', "
_RAW_PROMOTIONS_START = "'promotions', "


def _content_mix_sql() -> str:
    """The raw ContentMix with its figures (by kind, timeline) from the rollups."""
    head, rest = CONTENT_MIX.split(_RAW_BY_KIND_START, 1)
    _figures, promotions = rest.split(_RAW_PROMOTIONS_START, 1)
    return (
        f"{head}'performanceByKind', {BY_KIND},\n    'timeline', {TIMELINE},\n"
        f"    {_RAW_PROMOTIONS_START}{promotions}"
    )


CONTENT_MIX_MAINTAINED = _content_mix_sql()

MANAGER_LEADERBOARD_MAINTAINED = _replace(
    MANAGER_LEADERBOARD,
    totals(IN_TOPIC.format(c="tp.hashtag"), "$2", "$3"),
    rolled("T", "tp.hashtag", topic_member("tp.hashtag"), W),
)


def _ranged(sql: str) -> Build:
    def build(variables: dict[str, Any], base_url: str) -> tuple[str, list[Any]]:
        since, until = _span(variables)
        return sql, [variables["slug"], *window(since, until)]

    return build


def _topic_feed(variables: dict[str, Any], base_url: str) -> tuple[str, list[Any]]:
    after_value, after_id = _cursor(variables.get("after"))
    first = variables.get("first", 20)
    return TOPIC_FEED_MAINTAINED, [variables["hashtag"], first, after_value, after_id, base_url]


def _resource_performance(variables: dict[str, Any], base_url: str) -> tuple[str, list[Any]]:
    _sql, args = OPERATIONS["ResourcePerformance"](variables, base_url)
    return RESOURCE_PERFORMANCE_MAINTAINED, args


MAINTAINED_OPERATIONS: dict[str, Build] = {
    **OPERATIONS,
    "TopicFeed": _topic_feed,
    "ResourcePerformance": _resource_performance,
    "CampaignDashboard": _ranged(CAMPAIGN_DASHBOARD_MAINTAINED),
    "ContentMix": _ranged(CONTENT_MIX_MAINTAINED),
    "ManagerLeaderboard": _ranged(MANAGER_LEADERBOARD_MAINTAINED),
}


if __name__ == "__main__":
    main(MAINTAINED_OPERATIONS)
