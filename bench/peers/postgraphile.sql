-- What PostGraphile needs to answer the contract's simpler operations like the project does,
-- in a schema of the benchmark's own (created on its scratch database, never by migrations).
-- A topic's feed is a view of live thread starters by hashtag; smart comments give it a key
-- and the relations PostGraphile cannot infer through a view, and two computed columns list
-- a post's campaign topics and resources.
CREATE SCHEMA IF NOT EXISTS bench;

CREATE OR REPLACE VIEW bench.topic_post AS
  SELECT h.hashtag, p.id, p.author_id, p.group_id, p.kind, p.body, p.created_at, p.web_url,
         p.like_count, p.reply_count
  FROM public.post p JOIN public.post_hashtag h ON h.post_id = p.id
  WHERE p.thread_starter_id IS NULL AND p.deleted_at IS NULL;

COMMENT ON VIEW bench.topic_post IS E'@primaryKey hashtag,id\n@foreignKey (author_id) references public.person (id)\n@foreignKey (group_id) references public.microblog_group (id)';

CREATE OR REPLACE FUNCTION bench.topic_post_topics(p bench.topic_post) RETURNS SETOF public.topic
  LANGUAGE sql STABLE AS $$
    SELECT t.* FROM public.post_hashtag h JOIN public.topic t ON t.hashtag = h.hashtag
    WHERE h.post_id = p.id ORDER BY t.hashtag
  $$;

CREATE OR REPLACE FUNCTION bench.topic_post_resources(p bench.topic_post)
  RETURNS SETOF public.resource LANGUAGE sql STABLE AS $$
    SELECT r.* FROM public.post_resource pr JOIN public.resource r ON r.id = pr.resource_id
    WHERE pr.post_id = p.id ORDER BY r.id
  $$;

-- People (admin): a view of person so the computed columns can live in this schema; a week's
-- followers are the last snapshot before its end (else the first, else the current count),
-- as api/analytics/performance.followers_before reads them.
CREATE OR REPLACE VIEW bench.person_card AS
  SELECT id, full_name, email, job_title, department, follower_count FROM public.person;
COMMENT ON VIEW bench.person_card IS E'@primaryKey id';

DROP TYPE IF EXISTS bench.follower_point CASCADE;
CREATE TYPE bench.follower_point AS (period_start date, followers integer);

CREATE OR REPLACE FUNCTION bench.person_card_follower_growth(
    p bench.person_card, since timestamptz, until timestamptz)
  RETURNS SETOF bench.follower_point LANGUAGE sql STABLE AS $$
    SELECT w.start::date, coalesce(
      (SELECT s.followers FROM public.follower_snapshot s WHERE s.person_id = p.id
         AND s.observed_at < (w.start + interval '7 days') AT TIME ZONE 'UTC'
       ORDER BY s.observed_at DESC LIMIT 1),
      (SELECT s.followers FROM public.follower_snapshot s WHERE s.person_id = p.id
       ORDER BY s.observed_at LIMIT 1),
      p.follower_count)
    FROM generate_series(date_trunc('week', since AT TIME ZONE 'UTC'),
                         until AT TIME ZONE 'UTC' - interval '1 microsecond',
                         interval '7 days') AS w(start)
    ORDER BY w.start
  $$;

CREATE OR REPLACE FUNCTION bench.person_card_managed_topics(p bench.person_card)
  RETURNS SETOF public.topic_manager LANGUAGE sql STABLE AS $$
    SELECT m.* FROM public.topic_manager m
    WHERE m.person_id = p.id AND m.since <= current_date
      AND (m.until IS NULL OR m.until > current_date)
    ORDER BY m.since, m.id
  $$;

-- ResourceLinks (LMS): public resources by topic hashtag, episodes under their series.
CREATE OR REPLACE VIEW bench.lms_resource AS
  SELECT t.hashtag, r.id, r.kind, r.title, r.url, r.tracking_token, r.provider,
         r.lms_course_id, r.description
  FROM public.resource r
  JOIN public.resource_topic rt ON rt.resource_id = r.id
  JOIN public.topic t ON t.id = rt.topic_id
  WHERE r.visibility = 'PUBLIC' AND r.series_id IS NULL;
COMMENT ON VIEW bench.lms_resource IS E'@primaryKey hashtag,id';

CREATE OR REPLACE FUNCTION bench.lms_resource_topics(r bench.lms_resource)
  RETURNS SETOF public.topic LANGUAGE sql STABLE AS $$
    SELECT t.* FROM public.resource_topic rt JOIN public.topic t ON t.id = rt.topic_id
    WHERE rt.resource_id = r.id ORDER BY t.id
  $$;

CREATE OR REPLACE FUNCTION bench.lms_resource_episodes(r bench.lms_resource)
  RETURNS SETOF public.resource LANGUAGE sql STABLE AS $$
    SELECT e.* FROM public.resource e
    WHERE e.series_id = r.id AND e.visibility = 'PUBLIC' ORDER BY e.position, e.id
  $$;

-- PostDetail: a post with its live replies (oldest first) and metric snapshots.
CREATE OR REPLACE VIEW bench.post_detail AS
  SELECT id, body, created_at, web_url, kind, author_id, like_count, reply_count, share_count
  FROM public.post WHERE deleted_at IS NULL;
COMMENT ON VIEW bench.post_detail IS E'@primaryKey id\n@foreignKey (author_id) references public.person (id)';

CREATE OR REPLACE FUNCTION bench.post_detail_replies(p bench.post_detail)
  RETURNS SETOF bench.post_detail LANGUAGE sql STABLE AS $$
    SELECT d.* FROM bench.post_detail d JOIN public.post r ON r.id = d.id
    WHERE r.thread_starter_id = p.id ORDER BY d.created_at, d.id
  $$;

CREATE OR REPLACE FUNCTION bench.post_detail_metrics_history(p bench.post_detail)
  RETURNS SETOF public.post_metrics_snapshot LANGUAGE sql STABLE AS $$
    SELECT s.* FROM public.post_metrics_snapshot s WHERE s.post_id = p.id
    ORDER BY s.observed_at, s.id
  $$;

-- The analytics operations (CampaignDashboard, ContentMix, ManagerLeaderboard) as functions,
-- faithful to api/analytics/performance.py: thread starters created in [since, until), their
-- likes and replies now; active authors are the starters' authors and whoever replied to them
-- within the range, counted once; new followers are follower_snapshot differences between the
-- range's ends (followers_before below).  PostGraphile exposes each as a field: a function of a
-- row is a computed column, a set-returning one a connection.

-- api/analytics/performance.followers_before: the last snapshot before the moment, else the
-- first one, else the current count.
CREATE OR REPLACE FUNCTION bench.followers_before(who bigint, moment timestamptz)
  RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT coalesce(
      (SELECT f.followers FROM public.follower_snapshot f WHERE f.person_id = who
         AND f.observed_at < moment ORDER BY f.observed_at DESC LIMIT 1),
      (SELECT f.followers FROM public.follower_snapshot f WHERE f.person_id = who
       ORDER BY f.observed_at LIMIT 1),
      (SELECT p.follower_count FROM public.person p WHERE p.id = who), 0)
  $$;

-- api/domain/text.excerpt: whitespace collapsed, at most 140 characters cut at the last space,
-- trailing ' ,;:-' dropped.
CREATE OR REPLACE FUNCTION bench.excerpt(body text) RETURNS text
  LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN length(n) <= 140 THEN n ELSE rtrim(coalesce(nullif(
             substring(left(n, 141) from '^(.*) '), ''), left(n, 140)), ' ,;:-') END
    FROM (SELECT regexp_replace(regexp_replace(body, '^\s+|\s+$', '', 'g'), '\s+', ' ', 'g')) x(n)
  $$;

-- A campaign's posts: on its topics' hashtags, or in the groups it tracks.
CREATE OR REPLACE FUNCTION bench.campaign_starters(campaign bigint, since timestamptz,
                                                   until timestamptz)
  RETURNS SETOF public.post LANGUAGE sql STABLE AS $$
    SELECT p.* FROM public.post p
    WHERE p.thread_starter_id IS NULL AND p.deleted_at IS NULL
      AND p.created_at >= since AND p.created_at < until
      AND (EXISTS (SELECT 1 FROM public.post_hashtag h JOIN public.topic t ON t.hashtag = h.hashtag
                   WHERE h.post_id = p.id AND t.campaign_id = campaign)
           OR EXISTS (SELECT 1 FROM public.campaign_group cg
                      WHERE cg.group_id = p.group_id AND cg.campaign_id = campaign))
  $$;

CREATE OR REPLACE FUNCTION bench.topic_starters(tag text, since timestamptz, until timestamptz)
  RETURNS SETOF public.post LANGUAGE sql STABLE AS $$
    SELECT p.* FROM public.post p
    WHERE p.thread_starter_id IS NULL AND p.deleted_at IS NULL
      AND p.created_at >= since AND p.created_at < until
      AND p.id IN (SELECT h.post_id FROM public.post_hashtag h WHERE h.hashtag = tag)
  $$;

DROP TYPE IF EXISTS bench.totals CASCADE;
CREATE TYPE bench.totals AS (posts integer, likes integer, replies integer);
DROP TYPE IF EXISTS bench.performance CASCADE;
CREATE TYPE bench.performance AS (posts integer, likes integer, replies integer,
  active_authors integer, engagement_rate float8, new_followers integer);

-- Totals of a set of starters (their ids), with active authors over [since, until).
CREATE OR REPLACE FUNCTION bench.performance_of(ids bigint[], since timestamptz,
                                                until timestamptz, followers integer)
  RETURNS bench.performance LANGUAGE sql STABLE AS $$
    SELECT count(*)::int, coalesce(sum(p.like_count), 0)::int,
           coalesce(sum(p.reply_count), 0)::int,
           (SELECT count(*) FROM (
              SELECT s.author_id FROM public.post s WHERE s.id = ANY(ids) UNION
              SELECT r.author_id FROM public.post r WHERE r.thread_starter_id = ANY(ids)
                AND r.deleted_at IS NULL AND r.created_at >= since AND r.created_at < until
            ) a)::int,
           CASE WHEN count(*) = 0 THEN 0.0
                ELSE (coalesce(sum(p.like_count), 0) + coalesce(sum(p.reply_count), 0))::float8
                     / count(*) END,
           followers
    FROM public.post p WHERE p.id = ANY(ids)
  $$;

CREATE OR REPLACE VIEW bench.campaign_card AS
  SELECT id, slug, name, description, starts_on, ends_on, owner_id FROM public.campaign;
COMMENT ON VIEW bench.campaign_card IS E'@primaryKey id\n@foreignKey (owner_id) references public.person (id)';

CREATE OR REPLACE FUNCTION bench.campaign_card_by_slug(slug text) RETURNS bench.campaign_card
  LANGUAGE sql STABLE AS $$
    SELECT c.* FROM bench.campaign_card c WHERE c.slug = campaign_card_by_slug.slug
  $$;

CREATE OR REPLACE FUNCTION bench.campaign_card_performance(
    c bench.campaign_card, since timestamptz, until timestamptz)
  RETURNS bench.performance LANGUAGE sql STABLE AS $$
    SELECT bench.performance_of(
      (SELECT coalesce(array_agg(s.id), '{}') FROM bench.campaign_starters(c.id, since, until) s),
      since, until,
      CASE WHEN c.owner_id IS NULL THEN 0
           ELSE bench.followers_before(c.owner_id, until)
                - bench.followers_before(c.owner_id, since) END)
  $$;

-- Follower growth: the count at each week's end, for the weeks overlapping [since, until).
CREATE OR REPLACE FUNCTION bench.weekly_followers(who bigint, since timestamptz,
                                                  until timestamptz)
  RETURNS SETOF bench.follower_point LANGUAGE sql STABLE AS $$
    SELECT w.start::date,
           bench.followers_before(who, (w.start + interval '7 days') AT TIME ZONE 'UTC')
    FROM generate_series(date_trunc('week', since AT TIME ZONE 'UTC'),
                         until AT TIME ZONE 'UTC' - interval '1 microsecond',
                         interval '7 days') AS w(start)
    WHERE who IS NOT NULL AND since < until
    ORDER BY w.start
  $$;

CREATE OR REPLACE FUNCTION bench.campaign_card_follower_growth(
    c bench.campaign_card, since timestamptz, until timestamptz)
  RETURNS SETOF bench.follower_point LANGUAGE sql STABLE AS $$
    SELECT * FROM bench.weekly_followers(c.owner_id, since, until)
  $$;

DROP TYPE IF EXISTS bench.goal_status CASCADE;
CREATE TYPE bench.goal_status AS (metric text, target integer, due_on date, current integer,
                                  progress float8);

-- A goal's current value: the owner's followers, or the campaign's total since it started.
CREATE OR REPLACE FUNCTION bench.campaign_card_goals(c bench.campaign_card)
  RETURNS SETOF bench.goal_status LANGUAGE sql STABLE AS $$
    WITH t AS (
      SELECT * FROM bench.performance_of(
        (SELECT coalesce(array_agg(s.id), '{}') FROM bench.campaign_starters(
           c.id, c.starts_on::timestamp AT TIME ZONE 'UTC', '9999-01-01T00:00:00+00:00') s),
        c.starts_on::timestamp AT TIME ZONE 'UTC', '9999-01-01T00:00:00+00:00', 0)
    )
    SELECT g.metric::text, g.target, g.due_on, v.current, v.current::float8 / g.target
    FROM public.campaign_goal g, t, LATERAL (SELECT CASE g.metric::text
        WHEN 'FOLLOWERS' THEN coalesce(
          (SELECT p.follower_count FROM public.person p WHERE p.id = c.owner_id), 0)
        WHEN 'POSTS' THEN t.posts WHEN 'LIKES' THEN t.likes WHEN 'REPLIES' THEN t.replies
        ELSE t.active_authors END AS current) v
    WHERE g.campaign_id = c.id ORDER BY g.id
  $$;

-- A post as the dashboards and search list it: live thread starters, with an excerpt.
CREATE OR REPLACE VIEW bench.post_card AS
  SELECT id, author_id, kind, body, bench.excerpt(body) AS excerpt, created_at, web_url,
         like_count, reply_count
  FROM public.post WHERE thread_starter_id IS NULL AND deleted_at IS NULL;
COMMENT ON VIEW bench.post_card IS E'@primaryKey id\n@foreignKey (author_id) references public.person (id)';

DROP TYPE IF EXISTS bench.metrics CASCADE;
CREATE TYPE bench.metrics AS (likes integer, replies integer);
CREATE OR REPLACE FUNCTION bench.post_card_metrics(p bench.post_card) RETURNS bench.metrics
  LANGUAGE sql STABLE AS $$ SELECT p.like_count::int, p.reply_count::int $$;

CREATE OR REPLACE VIEW bench.campaign_topic AS
  SELECT id, campaign_id, hashtag, name, description FROM public.topic;
COMMENT ON VIEW bench.campaign_topic IS E'@primaryKey id';

CREATE OR REPLACE FUNCTION bench.campaign_card_topics(c bench.campaign_card)
  RETURNS SETOF bench.campaign_topic LANGUAGE sql STABLE AS $$
    SELECT t.* FROM bench.campaign_topic t WHERE t.campaign_id = c.id ORDER BY t.id
  $$;

-- Current topic assignments (api/db/repositories/topics.current_assignment).
CREATE OR REPLACE VIEW bench.manager_card AS
  SELECT m.id, m.topic_id, m.person_id, m.since, m.until, t.campaign_id, t.hashtag
  FROM public.topic_manager m JOIN public.topic t ON t.id = m.topic_id
  WHERE m.since <= current_date AND (m.until IS NULL OR m.until > current_date);
COMMENT ON VIEW bench.manager_card IS E'@primaryKey id\n@foreignKey (person_id) references public.person (id)\n@foreignKey (topic_id) references public.topic (id)';

CREATE OR REPLACE FUNCTION bench.campaign_topic_managers(t bench.campaign_topic)
  RETURNS SETOF bench.manager_card LANGUAGE sql STABLE AS $$
    SELECT m.* FROM bench.manager_card m WHERE m.topic_id = t.id ORDER BY m.since, m.id
  $$;

-- The dashboard shows a topic's posts, likes and replies only: a field without active
-- authors, which a function returning them all would compute unasked (the project skips them).
CREATE OR REPLACE FUNCTION bench.campaign_topic_counts(
    t bench.campaign_topic, since timestamptz, until timestamptz)
  RETURNS bench.totals LANGUAGE sql STABLE AS $$
    SELECT count(*)::int, coalesce(sum(s.like_count), 0)::int,
           coalesce(sum(s.reply_count), 0)::int
    FROM bench.topic_starters(t.hashtag, since, until) s
  $$;

CREATE OR REPLACE FUNCTION bench.campaign_topic_top_posts(t bench.campaign_topic)
  RETURNS SETOF bench.post_card LANGUAGE sql STABLE AS $$
    SELECT p.* FROM bench.post_card p
    WHERE p.id IN (SELECT h.post_id FROM public.post_hashtag h WHERE h.hashtag = t.hashtag)
    ORDER BY p.like_count DESC, p.id DESC
  $$;

CREATE OR REPLACE FUNCTION bench.campaign_card_groups(c bench.campaign_card)
  RETURNS SETOF public.microblog_group LANGUAGE sql STABLE AS $$
    SELECT g.* FROM public.microblog_group g
    WHERE g.id IN (SELECT cg.group_id FROM public.campaign_group cg WHERE cg.campaign_id = c.id)
    ORDER BY g.name, g.id
  $$;

-- ContentMix.
DROP TYPE IF EXISTS bench.kind_performance CASCADE;
CREATE TYPE bench.kind_performance AS (kind text, posts integer, likes integer,
                                       replies integer, likes_per_post float8);
CREATE OR REPLACE FUNCTION bench.campaign_card_performance_by_kind(
    c bench.campaign_card, since timestamptz, until timestamptz)
  RETURNS SETOF bench.kind_performance LANGUAGE sql STABLE AS $$
    SELECT s.kind::text, count(*)::int, sum(s.like_count)::int, sum(s.reply_count)::int,
           sum(s.like_count)::float8 / count(*)
    FROM bench.campaign_starters(c.id, since, until) s
    GROUP BY s.kind ORDER BY s.kind::text COLLATE "C"
  $$;

DROP TYPE IF EXISTS bench.timeline_point CASCADE;
CREATE TYPE bench.timeline_point AS (period_start date, posts integer, likes integer,
                                     replies integer, active_authors integer);
-- Weekly points over whole weeks; a reply's author counts in its starter's week only when the
-- reply falls in that week.
CREATE OR REPLACE FUNCTION bench.campaign_card_timeline(
    c bench.campaign_card, since timestamptz, until timestamptz)
  RETURNS SETOF bench.timeline_point LANGUAGE sql STABLE AS $$
    WITH span AS (
      SELECT date_trunc('week', since AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS lo,
             (date_trunc('week', until AT TIME ZONE 'UTC' - interval '1 microsecond')
              + interval '7 days') AT TIME ZONE 'UTC' AS hi
    ), s AS (
      SELECT p.id, p.author_id, p.like_count, p.reply_count,
             date_trunc('week', p.created_at AT TIME ZONE 'UTC')::date AS bucket
      FROM span, bench.campaign_starters(c.id, span.lo, span.hi) p
    ), tot AS (
      SELECT bucket, count(*) AS posts, sum(like_count) AS likes, sum(reply_count) AS replies
      FROM s GROUP BY bucket
    ), au AS (
      SELECT bucket, count(*) AS authors FROM (
        SELECT bucket, author_id FROM s UNION
        SELECT s.bucket, r.author_id FROM span, public.post r JOIN s ON r.thread_starter_id = s.id
        WHERE r.deleted_at IS NULL AND r.created_at >= span.lo AND r.created_at < span.hi
          AND date_trunc('week', r.created_at AT TIME ZONE 'UTC')::date = s.bucket) a
      GROUP BY bucket
    )
    SELECT w.start::date, coalesce(tot.posts, 0)::int, coalesce(tot.likes, 0)::int,
           coalesce(tot.replies, 0)::int, coalesce(au.authors, 0)::int
    FROM generate_series(date_trunc('week', since AT TIME ZONE 'UTC'),
                         until AT TIME ZONE 'UTC' - interval '1 microsecond',
                         interval '7 days') AS w(start)
    LEFT JOIN tot ON tot.bucket = w.start::date LEFT JOIN au ON au.bucket = w.start::date
    WHERE since < until ORDER BY w.start
  $$;

DROP TYPE IF EXISTS bench.promotion_card CASCADE;
CREATE TYPE bench.promotion_card AS (id bigint, kind text, title text, held_on date,
                                     audience_size integer,
                                     followers_gained_within7_days integer);
-- Promotions, most recent first; followers gained are the owner's over [held_on, +7 days).
CREATE OR REPLACE FUNCTION bench.campaign_card_promotions(c bench.campaign_card)
  RETURNS SETOF bench.promotion_card LANGUAGE sql STABLE AS $$
    SELECT p.id, p.kind::text, p.title, p.held_on, p.audience_size,
           CASE WHEN c.owner_id IS NULL THEN NULL ELSE
             bench.followers_before(c.owner_id, (p.held_on + 7)::timestamp AT TIME ZONE 'UTC')
             - bench.followers_before(c.owner_id, p.held_on::timestamp AT TIME ZONE 'UTC') END
    FROM public.promotion p WHERE p.campaign_id = c.id ORDER BY p.held_on DESC, p.id DESC
  $$;

-- ManagerLeaderboard: the campaign's current managers, each with the topic's performance
-- (new followers are the manager's).
CREATE OR REPLACE FUNCTION bench.campaign_card_topic_managers(c bench.campaign_card)
  RETURNS SETOF bench.manager_card LANGUAGE sql STABLE AS $$
    SELECT m.* FROM bench.manager_card m WHERE m.campaign_id = c.id ORDER BY m.since, m.id
  $$;

CREATE OR REPLACE FUNCTION bench.manager_card_performance(
    m bench.manager_card, since timestamptz, until timestamptz)
  RETURNS bench.performance LANGUAGE sql STABLE AS $$
    SELECT bench.performance_of(
      (SELECT coalesce(array_agg(s.id), '{}') FROM bench.topic_starters(m.hashtag, since, until) s),
      since, until,
      bench.followers_before(m.person_id, until) - bench.followers_before(m.person_id, since))
  $$;

-- Search (mobile): live thread starters matching the text (websearch syntax, English), newest
-- first; people by a prefix match on every word (api/db/repositories/people.people_search).
CREATE OR REPLACE FUNCTION bench.search_posts(text text) RETURNS SETOF bench.post_card
  LANGUAGE sql STABLE AS $$
    SELECT c.* FROM bench.post_card c JOIN public.post p ON p.id = c.id
    WHERE search_posts.text = '' OR p.search @@ websearch_to_tsquery('english', search_posts.text)
    ORDER BY c.created_at DESC, c.id DESC
  $$;

CREATE OR REPLACE FUNCTION bench.search_people(text text) RETURNS SETOF public.person
  LANGUAGE sql STABLE AS $$
    SELECT p.* FROM public.person p
    WHERE NOT EXISTS (SELECT 1 FROM regexp_matches(search_people.text, '\w+', 'g'))
       OR p.search @@ to_tsquery('simple', (
            SELECT string_agg(lower(m[1]) || ':*', ' & ')
            FROM regexp_matches(search_people.text, '(\w+)', 'g') AS m))
    ORDER BY p.full_name, p.id
  $$;

-- ResourcePerformance (LMS): public resources by id, in the order asked.
CREATE OR REPLACE VIEW bench.resource_card AS
  SELECT r.id, r.title,
         (SELECT count(*) FROM public.resource_click k WHERE k.resource_id = r.id)::int
           AS click_count
  FROM public.resource r WHERE r.visibility = 'PUBLIC';
COMMENT ON VIEW bench.resource_card IS E'@primaryKey id';

CREATE OR REPLACE FUNCTION bench.resources_by_ids(ids bigint[])
  RETURNS SETOF bench.resource_card LANGUAGE sql STABLE AS $$
    SELECT r.* FROM unnest(ids) WITH ORDINALITY AS i(id, n)
    JOIN bench.resource_card r ON r.id = i.id ORDER BY i.n
  $$;

CREATE OR REPLACE FUNCTION bench.resource_card_promoting_posts(r bench.resource_card)
  RETURNS SETOF bench.post_card LANGUAGE sql STABLE AS $$
    SELECT p.* FROM bench.post_card p
    WHERE p.id IN (SELECT pr.post_id FROM public.post_resource pr WHERE pr.resource_id = r.id)
    ORDER BY p.created_at DESC, p.id DESC
  $$;
