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
