"""The raw limit: one hand-written SQL statement per operation behind Starlette + asyncpg.

    python -m bench.peers.raw --database-url URL --port 8101 --pool 10 [--base-url URL]

POST /graphql with the contract's ``operationName`` and ``variables``; PostgreSQL builds the
whole ``data`` JSON and the endpoint passes its text through.  No parsing, no validation, no
authentication: the floor a GraphQL server over this database cannot go below.  Operations it
has no statement for answer 404, and the benchmark leaves their column empty.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.db.session import asyncpg_connect_args

# Relay ids and the project's cursors ([value, id] as urlsafe base64 JSON, unpadded), in SQL.
GID = "replace(encode(convert_to({t} || ':' || {id}, 'UTF8'), 'base64'), E'\\n', '')"
ISO = "to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
# A cursor's instant as Python's isoformat writes it: no fraction when it has no microseconds.
CURSOR_ISO = (
    "to_char({c} AT TIME ZONE 'UTC', CASE WHEN date_trunc('second', {c}) = {c}"
    ' THEN \'YYYY-MM-DD"T"HH24:MI:SS"+00:00"\''
    ' ELSE \'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"\' END)'
)
CURSOR = (
    "rtrim(translate(encode(convert_to('[\"' || "
    + CURSOR_ISO
    + " || '\",' || {id} || ']', 'UTF8'),"
    " 'base64'), E'+/\\n', '-_'), '=')"
)


def gid(kind: str, column: str) -> str:
    return GID.format(t=f"'{kind}'", id=column)


TOPIC_FEED = f"""
WITH live AS (
  SELECT p.* FROM post p
  WHERE p.thread_starter_id IS NULL AND p.deleted_at IS NULL
    AND p.id IN (SELECT post_id FROM post_hashtag WHERE hashtag = $1)
), page AS (
  SELECT * FROM live
  WHERE $3::timestamptz IS NULL OR (created_at, id) < ($3, $4::bigint)
  ORDER BY created_at DESC, id DESC LIMIT $2::int + 1
), shown AS (
  SELECT * FROM page ORDER BY created_at DESC, id DESC LIMIT $2::int
)
SELECT json_build_object('topic', (
  SELECT json_build_object(
    'id', {gid("Topic", "t.id")}, 'hashtag', t.hashtag, 'name', t.name,
    'posts', json_build_object(
      'totalCount', (SELECT count(*) FROM live),
      'pageInfo', json_build_object(
        'hasNextPage', (SELECT count(*) > $2::int FROM page),
        'endCursor', (SELECT {CURSOR.format(c="created_at", id="id")} FROM shown
                      ORDER BY created_at, id LIMIT 1)),
      'edges', coalesce((
        SELECT json_agg(json_build_object(
          'cursor', {CURSOR.format(c="s.created_at", id="s.id")},
          'node', json_build_object(
            'id', {gid("Post", "s.id")}, 'kind', s.kind, 'body', s.body,
            'createdAt', {ISO.format(c="s.created_at")}, 'url', s.web_url,
            'author', (SELECT json_build_object('id', {gid("Person", "a.id")},
                              'fullName', a.full_name, 'avatarUrl', a.avatar_url)
                       FROM person a WHERE a.id = s.author_id),
            'group', (SELECT json_build_object('id', {gid("Group", "g.id")}, 'name', g.name)
                      FROM microblog_group g WHERE g.id = s.group_id),
            'topics', coalesce((
              SELECT json_agg(json_build_object('id', {gid("Topic", "tt.id")},
                                                'hashtag', tt.hashtag) ORDER BY tt.hashtag)
              FROM post_hashtag h JOIN topic tt ON tt.hashtag = h.hashtag
              WHERE h.post_id = s.id), '[]'),
            'resources', coalesce((
              SELECT json_agg(json_build_object('id', {gid("Resource", "r.id")}, 'kind', r.kind,
                                                'title', r.title,
                                                'trackedUrl', $5 || '/r/' || r.tracking_token)
                              ORDER BY r.id)
              FROM post_resource pr JOIN resource r ON r.id = pr.resource_id
              WHERE pr.post_id = s.id), '[]'),
            'metrics', json_build_object('likes', s.like_count, 'replies', s.reply_count)))
          ORDER BY s.created_at DESC, s.id DESC)
        FROM shown s), '[]')))
  FROM topic t WHERE t.hashtag = $1))::text
"""


PEOPLE = f"""
WITH page AS (
  SELECT * FROM person ORDER BY full_name, id LIMIT $1::int + 1
), shown AS (
  SELECT * FROM page ORDER BY full_name, id LIMIT $1::int
)
SELECT json_build_object('people', json_build_object(
  'totalCount', (SELECT count(*) FROM person),
  'pageInfo', json_build_object(
    'hasNextPage', (SELECT count(*) > $1::int FROM page),
    'endCursor', (SELECT rtrim(translate(encode(convert_to(
                   '[' || to_json(full_name)::text || ',' || id || ']', 'UTF8'), 'base64'),
                   E'+/\\n', '-_'), '=') FROM shown ORDER BY full_name DESC, id DESC LIMIT 1)),
  'nodes', coalesce((
    SELECT json_agg(json_build_object(
      'id', {gid("Person", "s.id")}, 'fullName', s.full_name, 'email', s.email,
      'jobTitle', s.job_title, 'department', s.department, 'followerCount', s.follower_count,
      'followerGrowth', (
        SELECT json_agg(json_build_object('periodStart', w.start::date, 'followers', coalesce(
          (SELECT f.followers FROM follower_snapshot f WHERE f.person_id = s.id
             AND f.observed_at < (w.start + interval '7 days') AT TIME ZONE 'UTC'
           ORDER BY f.observed_at DESC LIMIT 1),
          (SELECT f.followers FROM follower_snapshot f WHERE f.person_id = s.id
           ORDER BY f.observed_at LIMIT 1),
          s.follower_count)) ORDER BY w.start)
        FROM generate_series(date_trunc('week', $2::timestamptz AT TIME ZONE 'UTC'),
                             $3::timestamptz AT TIME ZONE 'UTC' - interval '1 microsecond',
                             interval '7 days') AS w(start)),
      'managedTopics', coalesce((
        SELECT json_agg(json_build_object('topic', json_build_object('hashtag', t.hashtag))
                        ORDER BY m.since, m.id)
        FROM topic_manager m JOIN topic t ON t.id = m.topic_id
        WHERE m.person_id = s.id AND m.since <= current_date
          AND (m.until IS NULL OR m.until > current_date)), '[]'))
      ORDER BY s.full_name, s.id)
    FROM shown s), '[]')))::text
"""

RESOURCE_LINKS = f"""
WITH found AS (
  SELECT r.* FROM resource r
  WHERE r.id IN (SELECT rt.resource_id FROM resource_topic rt JOIN topic t ON t.id = rt.topic_id
                 WHERE t.hashtag = $1)
    AND r.visibility = 'PUBLIC' AND r.series_id IS NULL
    AND ($2::text[] IS NULL OR r.kind = ANY($2::text[]))
)
SELECT json_build_object('resources', json_build_object(
  'totalCount', (SELECT count(*) FROM found),
  'nodes', coalesce((
    SELECT json_agg(json_build_object(
      'id', {gid("Resource", "s.id")}, 'kind', s.kind, 'title', s.title, 'url', s.url,
      'trackedUrl', $3 || '/r/' || s.tracking_token, 'provider', s.provider,
      'lmsCourseId', s.lms_course_id, 'description', s.description,
      'topics', coalesce((
        SELECT json_agg(json_build_object('hashtag', t.hashtag) ORDER BY t.id)
        FROM resource_topic rt JOIN topic t ON t.id = rt.topic_id
        WHERE rt.resource_id = s.id), '[]'),
      'episodes', coalesce((
        SELECT json_agg(json_build_object('id', {gid("Resource", "e.id")}, 'title', e.title,
                                          'url', e.url, 'position', e.position)
                        ORDER BY e.position, e.id)
        FROM resource e WHERE e.series_id = s.id AND e.visibility = 'PUBLIC'), '[]'))
      ORDER BY s.id)
    FROM (SELECT * FROM found ORDER BY id LIMIT 50) s), '[]')))::text
"""

POST_DETAIL = f"""
WITH target AS (SELECT * FROM post WHERE id = $1 AND deleted_at IS NULL),
replies AS (SELECT r.* FROM post r WHERE r.thread_starter_id = $1 AND r.deleted_at IS NULL),
page AS (
  SELECT * FROM replies WHERE $2::timestamptz IS NULL OR (created_at, id) > ($2, $3::bigint)
  ORDER BY created_at, id LIMIT 51
), shown AS (SELECT * FROM page ORDER BY created_at, id LIMIT 50)
SELECT json_build_object('node', (
  SELECT json_build_object(
    'id', {gid("Post", "p.id")}, 'body', p.body, 'createdAt', {ISO.format(c="p.created_at")},
    'url', p.web_url, 'kind', p.kind,
    'author', (SELECT json_build_object('id', {gid("Person", "a.id")}, 'fullName', a.full_name,
                                        'jobTitle', a.job_title, 'avatarUrl', a.avatar_url)
               FROM person a WHERE a.id = p.author_id),
    'metrics', json_build_object('likes', p.like_count, 'replies', p.reply_count,
                                 'shares', p.share_count),
    'metricsHistory', json_build_object('nodes', coalesce((
      SELECT json_agg(json_build_object('observedAt', {ISO.format(c="m.observed_at")},
                                        'likes', m.likes, 'replies', m.replies)
                      ORDER BY m.observed_at, m.id)
      FROM (SELECT * FROM post_metrics_snapshot WHERE post_id = p.id
            ORDER BY observed_at, id LIMIT 50) m), '[]')),
    'replies', json_build_object(
      'totalCount', (SELECT count(*) FROM replies),
      'pageInfo', json_build_object(
        'hasNextPage', (SELECT count(*) > 50 FROM page),
        'endCursor', (SELECT {CURSOR.format(c="created_at", id="id")} FROM shown
                      ORDER BY created_at DESC, id DESC LIMIT 1)),
      'nodes', coalesce((
        SELECT json_agg(json_build_object(
          'id', {gid("Post", "r.id")}, 'body', r.body,
          'createdAt', {ISO.format(c="r.created_at")},
          'author', (SELECT json_build_object('id', {gid("Person", "a.id")},
                                              'fullName', a.full_name)
                     FROM person a WHERE a.id = r.author_id))
          ORDER BY r.created_at, r.id)
        FROM shown r), '[]')))
  FROM target p))::text
"""


# The analytics (api/analytics/performance.py): thread starters created in [since, until), their
# likes and replies now; active authors are the starters' authors and those who replied within
# the range (within the same period for a timeline point), counted once.
EXCERPT_TEXT = "regexp_replace(regexp_replace({c}, '^\\s+|\\s+$', '', 'g'), '\\s+', ' ', 'g')"
# api/domain/text.excerpt: 140 characters at most, cut at the last space, trailing ' ,;:-' gone.
EXCERPT = (
    "(SELECT CASE WHEN length(x.n) <= 140 THEN x.n ELSE rtrim(coalesce(nullif("
    "substring(left(x.n, 141) from '^(.*) '), ''), left(x.n, 140)), ' ,;:-') END"
    " FROM (SELECT " + EXCERPT_TEXT + " AS n) x)"
)
IN_CAMPAIGN = """(EXISTS (SELECT 1 FROM post_hashtag h JOIN topic t ON t.hashtag = h.hashtag
                  WHERE h.post_id = p.id AND t.campaign_id = {c})
          OR EXISTS (SELECT 1 FROM campaign_group cg
                     WHERE cg.group_id = p.group_id AND cg.campaign_id = {c}))"""
IN_TOPIC = "p.id IN (SELECT post_id FROM post_hashtag WHERE hashtag = {c})"


def totals(scope: str, since: str, until: str, authors: bool = True) -> str:
    """A lateral row (posts, likes, replies, authors) for one scope over [since, until)."""
    starters = f"""SELECT p.id, p.author_id, p.like_count, p.reply_count FROM post p
      WHERE {scope} AND p.thread_starter_id IS NULL AND p.deleted_at IS NULL
        AND p.created_at >= {since} AND p.created_at < {until}"""
    counted = (
        f"""(SELECT count(*) FROM (SELECT author_id FROM s UNION
           SELECT r.author_id FROM post r JOIN s ON r.thread_starter_id = s.id
           WHERE r.deleted_at IS NULL AND r.created_at >= {since} AND r.created_at < {until}) a)"""
        if authors
        else "0"
    )
    return f"""(WITH s AS ({starters})
      SELECT count(*) AS posts, coalesce(sum(like_count), 0) AS likes,
             coalesce(sum(reply_count), 0) AS replies, {counted} AS authors FROM s)"""


def before(person: str, moment: str) -> str:
    """api/analytics/performance.followers_before: the last snapshot before the moment, else
    the first one, else the current count."""
    return f"""coalesce(
      (SELECT f.followers FROM follower_snapshot f WHERE f.person_id = {person}
         AND f.observed_at < {moment} ORDER BY f.observed_at DESC LIMIT 1),
      (SELECT f.followers FROM follower_snapshot f WHERE f.person_id = {person}
       ORDER BY f.observed_at LIMIT 1),
      (SELECT pp.follower_count FROM person pp WHERE pp.id = {person}), 0)"""


WEEKS = """generate_series(date_trunc('week', {since} AT TIME ZONE 'UTC'),
                           {until} AT TIME ZONE 'UTC' - interval '1 microsecond',
                           interval '7 days') AS w(start)"""


def growth(person: str, since: str, until: str) -> str:
    """Follower growth points: the count at each week's end (schema/resolvers.follower_growth)."""
    end = "((w.start + interval '7 days') AT TIME ZONE 'UTC')"
    return f"""CASE WHEN {person} IS NULL THEN '[]'::json ELSE coalesce((
      SELECT json_agg(json_build_object('periodStart', w.start::date,
                                        'followers', {before(person, end)}) ORDER BY w.start)
      FROM {WEEKS.format(since=since, until=until)} WHERE {since} < {until}), '[]') END"""


def timeline(scope: str, since: str, until: str) -> str:
    """Weekly points over the weeks overlapping [since, until): totals over whole weeks, a
    reply's author counted in its starter's week only when the reply falls in that week."""
    lo = f"(date_trunc('week', {since} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"
    hi = (
        f"((date_trunc('week', {until} AT TIME ZONE 'UTC' - interval '1 microsecond')"
        " + interval '7 days') AT TIME ZONE 'UTC')"
    )
    week = "date_trunc('week', {c} AT TIME ZONE 'UTC')::date"
    return f"""coalesce((WITH s AS (
        SELECT p.id, p.author_id, p.like_count, p.reply_count,
               {week.format(c="p.created_at")} AS bucket FROM post p
        WHERE {scope} AND p.thread_starter_id IS NULL AND p.deleted_at IS NULL
          AND p.created_at >= {lo} AND p.created_at < {hi}
      ), tot AS (
        SELECT bucket, count(*) AS posts, sum(like_count) AS likes, sum(reply_count) AS replies
        FROM s GROUP BY bucket
      ), au AS (
        SELECT bucket, count(*) AS authors FROM (
          SELECT bucket, author_id FROM s UNION
          SELECT s.bucket, r.author_id FROM post r JOIN s ON r.thread_starter_id = s.id
          WHERE r.deleted_at IS NULL AND r.created_at >= {lo} AND r.created_at < {hi}
            AND {week.format(c="r.created_at")} = s.bucket) a GROUP BY bucket
      )
      SELECT json_agg(json_build_object(
        'periodStart', w.start::date, 'posts', coalesce(tot.posts, 0),
        'likes', coalesce(tot.likes, 0), 'replies', coalesce(tot.replies, 0),
        'activeAuthors', coalesce(au.authors, 0)) ORDER BY w.start)
      FROM {WEEKS.format(since=since, until=until)}
      LEFT JOIN tot ON tot.bucket = w.start::date LEFT JOIN au ON au.bucket = w.start::date
      WHERE {since} < {until}), '[]')"""


POST_CARD = (
    "json_build_object('id', {gid}, 'url', {p}.web_url, 'excerpt', {excerpt}, 'kind', {p}.kind,"
    " 'createdAt', {iso}, 'metrics', json_build_object('likes', {p}.like_count,"
    " 'replies', {p}.reply_count), 'author', (SELECT json_build_object('id', {author},"
    " 'fullName', a.full_name) FROM person a WHERE a.id = {p}.author_id))"
)

CAMPAIGN_DASHBOARD = f"""
SELECT json_build_object('campaign', (
  SELECT json_build_object(
    'id', {gid("Campaign", "c.id")}, 'slug', c.slug, 'name', c.name,
    'description', c.description, 'startsOn', c.starts_on,
    'owner', (SELECT json_build_object('id', {gid("Person", "o.id")}, 'fullName', o.full_name,
                                       'followerCount', o.follower_count)
              FROM person o WHERE o.id = c.owner_id),
    'performance', (SELECT json_build_object(
        'posts', t.posts, 'replies', t.replies, 'likes', t.likes, 'activeAuthors', t.authors,
        'engagementRate', CASE WHEN t.posts = 0 THEN 0.0
                               ELSE (t.likes + t.replies)::float8 / t.posts END,
        'newFollowers', CASE WHEN c.owner_id IS NULL THEN 0
                             ELSE {before("c.owner_id", "$3")} - {before("c.owner_id", "$2")} END)
      FROM {totals(IN_CAMPAIGN.format(c="c.id"), "$2", "$3")} t),
    'followerGrowth', {growth("c.owner_id", "$2", "$3")},
    'goals', coalesce((
      SELECT json_agg(json_build_object(
        'metric', g.metric, 'target', g.target, 'dueOn', g.due_on, 'current', v.current,
        'progress', v.current::float8 / g.target) ORDER BY g.id)
      FROM campaign_goal g,
        LATERAL {
    totals(
        IN_CAMPAIGN.format(c="c.id"),
        "(c.starts_on::timestamp AT TIME ZONE 'UTC')",
        "'9999-01-01T00:00:00+00:00'::timestamptz",
    )
} t,
        LATERAL (SELECT CASE g.metric::text
          WHEN 'FOLLOWERS' THEN coalesce((SELECT follower_count FROM person WHERE id = c.owner_id), 0)
          WHEN 'POSTS' THEN t.posts WHEN 'LIKES' THEN t.likes WHEN 'REPLIES' THEN t.replies
          ELSE t.authors END AS current) v
      WHERE g.campaign_id = c.id), '[]'),
    'topics', json_build_object(
      'totalCount', (SELECT count(*) FROM topic WHERE campaign_id = c.id),
      'nodes', coalesce((
        SELECT json_agg(json_build_object(
          'id', {gid("Topic", "tp.id")}, 'hashtag', tp.hashtag, 'name', tp.name,
          'managers', coalesce((
            SELECT json_agg(json_build_object(
              'id', {gid("TopicManager", "m.id")},
              'person', (SELECT json_build_object('id', {gid("Person", "mp.id")},
                                                  'fullName', mp.full_name)
                         FROM person mp WHERE mp.id = m.person_id)) ORDER BY m.since, m.id)
            FROM topic_manager m WHERE m.topic_id = tp.id AND m.since <= current_date
              AND (m.until IS NULL OR m.until > current_date)), '[]'),
          'performance', (SELECT json_build_object('posts', t.posts, 'likes', t.likes,
                                                   'replies', t.replies)
            FROM {totals(IN_TOPIC.format(c="tp.hashtag"), "$2", "$3", authors=False)} t),
          'topPosts', json_build_object('nodes', coalesce((
            SELECT json_agg({
    POST_CARD.format(
        gid=gid("Post", "p.id"),
        p="p",
        excerpt=EXCERPT.format(c="p.body"),
        iso=ISO.format(c="p.created_at"),
        author=gid("Person", "a.id"),
    )
}
              ORDER BY p.like_count DESC, p.id DESC)
            FROM (SELECT p.* FROM post p WHERE {IN_TOPIC.format(c="tp.hashtag")}
                    AND p.thread_starter_id IS NULL AND p.deleted_at IS NULL
                  ORDER BY p.like_count DESC, p.id DESC LIMIT 3) p), '[]')))
          ORDER BY tp.id)
        FROM (SELECT * FROM topic WHERE campaign_id = c.id ORDER BY id LIMIT 20) tp), '[]')),
    'groups', json_build_object(
      'totalCount', (SELECT count(*) FROM campaign_group WHERE campaign_id = c.id),
      'nodes', coalesce((
        SELECT json_agg(json_build_object('id', {gid("Group", "g.id")}, 'name', g.name,
                                          'memberCount', g.member_count, 'joined', g.joined,
                                          'url', g.web_url) ORDER BY g.name, g.id)
        FROM (SELECT * FROM microblog_group WHERE id IN (
                SELECT group_id FROM campaign_group WHERE campaign_id = c.id)
              ORDER BY name, id LIMIT 20) g), '[]')))
  FROM campaign c WHERE c.slug = $1))::text
"""

CONTENT_MIX = f"""
SELECT json_build_object('campaign', (
  SELECT json_build_object(
    'id', {gid("Campaign", "c.id")},
    'performanceByKind', coalesce((
      SELECT json_agg(json_build_object('kind', k.kind, 'posts', k.posts, 'likes', k.likes,
                                        'replies', k.replies,
                                        'likesPerPost', k.likes::float8 / k.posts)
                      ORDER BY k.kind::text COLLATE "C")
      FROM (SELECT p.kind, count(*) AS posts, sum(p.like_count) AS likes,
                   sum(p.reply_count) AS replies
            FROM post p WHERE {IN_CAMPAIGN.format(c="c.id")}
              AND p.thread_starter_id IS NULL AND p.deleted_at IS NULL
              AND p.created_at >= $2 AND p.created_at < $3
            GROUP BY p.kind) k), '[]'),
    'timeline', {timeline(IN_CAMPAIGN.format(c="c.id"), "$2", "$3")},
    'promotions', json_build_object('nodes', coalesce((
      SELECT json_agg(json_build_object(
        'id', {gid("Promotion", "pr.id")}, 'kind', pr.kind, 'title', pr.title,
        'heldOn', pr.held_on, 'audienceSize', pr.audience_size,
        'followersGainedWithin7Days', CASE WHEN c.owner_id IS NULL THEN NULL ELSE
          {before("c.owner_id", "((pr.held_on + 7)::timestamp AT TIME ZONE 'UTC')")}
          - {before("c.owner_id", "(pr.held_on::timestamp AT TIME ZONE 'UTC')")} END)
        ORDER BY pr.held_on DESC, pr.id DESC)
      FROM (SELECT * FROM promotion WHERE campaign_id = c.id
            ORDER BY held_on DESC, id DESC LIMIT 50) pr), '[]')))
  FROM campaign c WHERE c.slug = $1))::text
"""

MANAGER_LEADERBOARD = f"""
SELECT json_build_object('campaign', (
  SELECT json_build_object(
    'id', {gid("Campaign", "c.id")},
    'topicManagers', coalesce((
      SELECT json_agg(json_build_object(
        'id', {gid("TopicManager", "m.id")}, 'since', m.since,
        'person', (SELECT json_build_object('id', {gid("Person", "mp.id")},
                                            'fullName', mp.full_name, 'jobTitle', mp.job_title,
                                            'followerCount', mp.follower_count)
                   FROM person mp WHERE mp.id = m.person_id),
        'topic', json_build_object('id', {gid("Topic", "tp.id")}, 'hashtag', tp.hashtag),
        'performance', (SELECT json_build_object('posts', t.posts, 'likes', t.likes,
                                                 'replies', t.replies, 'activeAuthors', t.authors)
                        FROM {totals(IN_TOPIC.format(c="tp.hashtag"), "$2", "$3")} t))
        ORDER BY m.since, m.id)
      FROM topic_manager m JOIN topic tp ON tp.id = m.topic_id
      WHERE tp.campaign_id = c.id AND m.since <= current_date
        AND (m.until IS NULL OR m.until > current_date)), '[]'))
  FROM campaign c WHERE c.slug = $1))::text
"""

SEARCH = f"""
WITH found AS (
  SELECT p.* FROM post p WHERE p.thread_starter_id IS NULL AND p.deleted_at IS NULL
    AND ($1 = '' OR p.search @@ websearch_to_tsquery('english', $1))
), people AS (
  SELECT * FROM person
  WHERE $3::text IS NULL OR search @@ to_tsquery('simple', $3::text)
  ORDER BY full_name, id LIMIT $2::int
)
SELECT json_build_object(
  'posts', json_build_object(
    'totalCount', (SELECT count(*) FROM found),
    'nodes', coalesce((
      SELECT json_agg(json_build_object(
        'id', {gid("Post", "s.id")}, 'excerpt', {EXCERPT.format(c="s.body")},
        'createdAt', {ISO.format(c="s.created_at")},
        'author', (SELECT json_build_object('fullName', a.full_name)
                   FROM person a WHERE a.id = s.author_id))
        ORDER BY s.created_at DESC, s.id DESC)
      FROM (SELECT * FROM found ORDER BY created_at DESC, id DESC LIMIT $2::int) s), '[]')),
  'people', json_build_object('nodes', coalesce((
    SELECT json_agg(json_build_object('id', {gid("Person", "x.id")}, 'fullName', x.full_name,
                                      'jobTitle', x.job_title, 'department', x.department)
                    ORDER BY x.full_name, x.id)
    FROM people x), '[]')))::text
"""

RESOURCE_PERFORMANCE = f"""
SELECT json_build_object('nodes', coalesce((
  SELECT json_agg((
    SELECT json_build_object(
      'id', {gid("Resource", "r.id")}, 'title', r.title,
      'clickCount', (SELECT count(*) FROM resource_click k WHERE k.resource_id = r.id),
      'promotingPosts', json_build_object(
        'totalCount', (SELECT count(*) FROM post p WHERE p.thread_starter_id IS NULL
                         AND p.deleted_at IS NULL AND p.id IN (
                           SELECT post_id FROM post_resource WHERE resource_id = r.id)),
        'nodes', coalesce((
          SELECT json_agg(json_build_object(
            'id', {gid("Post", "p.id")}, 'url', p.web_url,
            'metrics', json_build_object('likes', p.like_count, 'replies', p.reply_count))
            ORDER BY p.created_at DESC, p.id DESC)
          FROM (SELECT p.* FROM post p WHERE p.thread_starter_id IS NULL
                  AND p.deleted_at IS NULL AND p.id IN (
                    SELECT post_id FROM post_resource WHERE resource_id = r.id)
                ORDER BY p.created_at DESC, p.id DESC LIMIT 5) p), '[]')))
    FROM resource r WHERE r.id = i.id AND r.visibility = 'PUBLIC') ORDER BY i.n)
  FROM unnest($1::bigint[]) WITH ORDINALITY AS i(id, n)), '[]'))::text
"""


def _cursor(text: str | None) -> tuple[Any, Any]:
    if not text:
        return None, None
    value, id_ = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    return datetime.fromisoformat(value), id_


def _topic_feed(variables: dict[str, Any], base_url: str) -> tuple[str, list[Any]]:
    after_value, after_id = _cursor(variables.get("after"))
    first = variables.get("first", 20)
    return TOPIC_FEED, [variables["hashtag"], first, after_value, after_id, base_url]


def _people(variables: dict[str, Any], base_url: str) -> tuple[str, list[Any]]:
    # First pages only: the benchmark sends no `after` or `search` to People.
    since, until = (datetime.fromisoformat(variables[k]) for k in ("since", "until"))
    return PEOPLE, [variables.get("first", 20), since, until]


def _resource_links(variables: dict[str, Any], base_url: str) -> tuple[str, list[Any]]:
    return RESOURCE_LINKS, [variables["hashtag"], variables.get("kinds"), base_url]


def _post_detail(variables: dict[str, Any], base_url: str) -> tuple[str, list[Any]]:
    _kind, id_ = base64.b64decode(variables["id"]).decode().split(":", 1)
    after_value, after_id = _cursor(variables.get("repliesAfter"))
    return POST_DETAIL, [int(id_), after_value, after_id]


def _span(variables: dict[str, Any]) -> list[Any]:
    return [datetime.fromisoformat(variables[k]) for k in ("since", "until")]


def _campaign_dashboard(variables: dict[str, Any], base_url: str) -> tuple[str, list[Any]]:
    return CAMPAIGN_DASHBOARD, [variables["slug"], *_span(variables)]


def _content_mix(variables: dict[str, Any], base_url: str) -> tuple[str, list[Any]]:
    return CONTENT_MIX, [variables["slug"], *_span(variables)]


def _manager_leaderboard(variables: dict[str, Any], base_url: str) -> tuple[str, list[Any]]:
    return MANAGER_LEADERBOARD, [variables["slug"], *_span(variables)]


def _search(variables: dict[str, Any], base_url: str) -> tuple[str, list[Any]]:
    # api/db/repositories/people.people_search: a prefix match on every word.
    text = variables["text"]
    words = re.findall(r"\w+", text)
    people = " & ".join(f"{w.lower()}:*" for w in words) or None
    return SEARCH, [text, variables.get("first", 10), people]


def _resource_performance(variables: dict[str, Any], base_url: str) -> tuple[str, list[Any]]:
    ids = []
    for global_id in variables["ids"]:
        kind, _, id_ = base64.b64decode(global_id).decode().partition(":")
        ids.append(int(id_) if kind == "Resource" and id_.isdigit() else None)
    return RESOURCE_PERFORMANCE, [ids]


Build = Callable[[dict[str, Any], str], tuple[str, list[Any]]]

OPERATIONS: dict[str, Build] = {
    "TopicFeed": _topic_feed,
    "People": _people,
    "ResourceLinks": _resource_links,
    "PostDetail": _post_detail,
    "CampaignDashboard": _campaign_dashboard,
    "ContentMix": _content_mix,
    "ManagerLeaderboard": _manager_leaderboard,
    "Search": _search,
    "ResourcePerformance": _resource_performance,
}


def make_app(
    database_url: str, pool_size: int, base_url: str, operations: dict[str, Build] = OPERATIONS
) -> Starlette:
    """The endpoint answering ``operations`` (raw (maintained) passes its own statements:
    bench/peers/raw_maintained.py)."""
    pool: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The project's session settings (api/db/session.py): UTC, and no JIT, whose
        # compilation costs the analytics statements far more than it saves.
        connect = asyncpg_connect_args(database_url)
        connect["server_settings"] = {**connect["server_settings"], "jit": "off"}
        pool["p"] = await asyncpg.create_pool(**connect, min_size=pool_size, max_size=pool_size)
        yield
        await pool["p"].close()

    async def graphql(request: Request) -> Response:
        body = await request.json()
        build = operations.get(body.get("operationName") or "")
        if build is None:
            return JSONResponse({"errors": [{"message": "not in the raw set"}]}, status_code=404)
        sql, args = build(body.get("variables") or {}, base_url)
        data = await pool["p"].fetchval(sql, *args)
        return Response(b'{"data":' + data.encode() + b"}", media_type="application/json")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["POST"]), Route("/healthz", healthz)],
        lifespan=lifespan,
    )


def main(operations: dict[str, Build] = OPERATIONS) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pool", type=int, default=10)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    args = parser.parse_args()
    app = make_app(args.database_url, args.pool, args.base_url.rstrip("/"), operations)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
