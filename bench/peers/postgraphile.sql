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
