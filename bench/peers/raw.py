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
from collections.abc import AsyncIterator
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
CURSOR = (
    "rtrim(translate(encode(convert_to('[\"' || " + ISO + " || '\",' || {id} || ']', 'UTF8'),"
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


OPERATIONS = {
    "TopicFeed": _topic_feed,
    "People": _people,
    "ResourceLinks": _resource_links,
    "PostDetail": _post_detail,
}


def make_app(database_url: str, pool_size: int, base_url: str) -> Starlette:
    pool: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool["p"] = await asyncpg.create_pool(
            **asyncpg_connect_args(database_url), min_size=pool_size, max_size=pool_size
        )
        yield
        await pool["p"].close()

    async def graphql(request: Request) -> Response:
        body = await request.json()
        build = OPERATIONS.get(body.get("operationName") or "")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pool", type=int, default=10)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    args = parser.parse_args()
    app = make_app(args.database_url, args.pool, args.base_url.rstrip("/"))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
