"""Writing mirrored posts: upsert, hashtags, resource links, classification, metric snapshots.

The worker and the seeders both come through here, so every post gets its kind, hashtags
and resource links the same way whichever way it arrived.  Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models
from api.db.repositories.resources import get_by_normalized_urls
from api.db.repositories.topics import current_assignment
from api.domain import text
from api.domain.enums import PostKind, ResourceMatch

P = models.Post


@dataclass(frozen=True, slots=True)
class IngestResult:
    ids: dict[int, int]  # external id -> post id, for every post given
    inserted: set[int]  # post ids seen for the first time
    metrics_changed: set[int]  # post ids (not new) whose likes, replies or shares changed


@dataclass(frozen=True, slots=True)
class IncomingPost:
    external_id: int
    author_id: int
    body: str
    created_at: datetime
    group_id: int | None = None
    thread_external_id: int | None = None  # the starter's external id; None or own id for starters
    replied_to_external_id: int | None = None
    web_url: str | None = None
    message_type: str = "update"
    like_count: int = 0
    # None: the payload did not say (no thread reference); the stored figure stands.
    reply_count: int | None = 0
    share_count: int | None = 0


async def _internal_ids(session: AsyncSession, external_ids: set[int]) -> dict[int, int]:
    if not external_ids:
        return {}
    rows = await session.execute(
        sa.select(P.external_id, P.id).where(P.external_id.in_(external_ids))
    )
    return dict(rows.all())


async def _known_counts(session: AsyncSession, posts: Sequence[IncomingPost]) -> list[IncomingPost]:
    """Fill counts a payload left out with the stored ones (0 for a post not yet stored)."""
    unknown = {p.external_id for p in posts if p.reply_count is None or p.share_count is None}
    stored: dict[int, tuple[int, int]] = {}
    if unknown:
        rows = await session.execute(
            sa.select(P.external_id, P.reply_count, P.share_count).where(P.external_id.in_(unknown))
        )
        stored = {e: (r, s) for e, r, s in rows.all()}
    out = []
    for p in posts:
        if p.external_id in unknown:
            replies, shares = stored.get(p.external_id, (0, 0))
            p = replace(
                p,
                reply_count=replies if p.reply_count is None else p.reply_count,
                share_count=shares if p.share_count is None else p.share_count,
            )
        out.append(p)
    return out


@dataclass(frozen=True, slots=True)
class Classifier:
    """What classification needs besides the post: current managers and campaign hashtags."""

    managers: frozenset[int]
    campaign_tags: frozenset[str]


async def classifier(session: AsyncSession) -> Classifier:
    managers = await session.execute(
        sa.select(models.TopicManager.person_id).where(current_assignment())
    )
    tags = await session.execute(sa.select(models.Topic.hashtag))
    return Classifier(frozenset(managers.scalars()), frozenset(tags.scalars()))


def _upsert_statement() -> Any:
    """INSERT .. ON CONFLICT for posts, built once: executemany reuses its compiled form."""
    table: Any = P.__table__
    stmt = insert(table)
    excluded = stmt.excluded
    c = table.c
    return stmt.on_conflict_do_update(
        index_elements=[c.external_id],
        # Monotonic: an observation older than the stored one changes nothing.
        where=c.synced_at <= excluded.synced_at,
        set_={
            "body": excluded.body,
            "web_url": excluded.web_url,
            "like_count": excluded.like_count,
            "reply_count": excluded.reply_count,
            "share_count": excluded.share_count,
            "group_id": excluded.group_id,
            "synced_at": excluded.synced_at,
            # A reply first stored before its starter was known gets linked when re-read.
            "thread_starter_id": sa.func.coalesce(c.thread_starter_id, excluded.thread_starter_id),
            "replied_to_id": sa.func.coalesce(excluded.replied_to_id, c.replied_to_id),
            # A kind set by hand sticks; otherwise an edit may change the kind.
            "kind": sa.case((c.kind_set_by_hand, c.kind), else_=excluded.kind),
            # Every post given here was read alive: a tombstone observed before that read was
            # wrong (a 404 for lost access, a thread walk cut short) or is undone; one observed
            # at or after it stands, so a replayed older page cannot resurrect a deletion.
            "deleted_at": sa.case(
                (c.deleted_at < excluded.synced_at, sa.null()), else_=c.deleted_at
            ),
        },
    ).returning(c.external_id, c.id, sa.literal_column("xmax = 0").label("inserted"))


_UPSERT = _upsert_statement()
# Fixed statements run as executemany: compiled once, not once per page.
_TABLES: dict[str, Any] = {
    m.__tablename__: m.__table__
    for m in (models.PostHashtag, models.PostResource, models.PostMetricsSnapshot)
}
_INSERT_HASHTAG = insert(_TABLES["post_hashtag"]).on_conflict_do_nothing()
_INSERT_LINK = insert(_TABLES["post_resource"]).on_conflict_do_nothing()
_INSERT_SNAPSHOT = insert(_TABLES["post_metrics_snapshot"]).on_conflict_do_nothing()


async def upsert_posts(
    session: AsyncSession,
    posts: Sequence[IncomingPost],
    observed_at: datetime,
    *,
    context: Classifier | None = None,
) -> IngestResult:
    """Insert or update posts (starters before replies): which are new, whose figures changed."""
    if not posts:
        return IngestResult(ids={}, inserted=set(), metrics_changed=set())
    posts = await _known_counts(session, posts)
    starters = [p for p in posts if p.thread_external_id in (None, p.external_id)]
    replies = [p for p in posts if p.thread_external_id not in (None, p.external_id)]

    links = {p.external_id: text.normalised_links(p.body) for p in posts}
    resource_ids = await get_by_normalized_urls(
        session, sorted({url for urls in links.values() for url in urls})
    )
    context = context or await classifier(session)
    managers, campaign_tags = context.managers, context.campaign_tags
    tags = {p.external_id: text.hashtags(p.body) for p in posts}

    ids: dict[int, int] = {}
    inserted: set[int] = set()
    for batch, is_reply in ((starters, False), (replies, True)):
        if not batch:
            continue
        parents = await _internal_ids(
            session,
            {
                ext
                for p in batch
                for ext in (p.thread_external_id, p.replied_to_external_id)
                if ext is not None
            },
        )
        parents.update(ids)
        rows = []
        for p in batch:
            matched = any(url in resource_ids for url in links[p.external_id])
            rows.append(
                {
                    "external_id": p.external_id,
                    "thread_starter_id": parents.get(p.thread_external_id)
                    if is_reply and p.thread_external_id is not None
                    else None,
                    "replied_to_id": parents.get(p.replied_to_external_id)
                    if p.replied_to_external_id
                    else None,
                    "author_id": p.author_id,
                    "group_id": p.group_id,
                    "body": p.body,
                    "web_url": p.web_url,
                    "created_at": p.created_at,
                    "message_type": p.message_type,
                    "like_count": p.like_count,
                    "reply_count": p.reply_count,
                    "share_count": p.share_count,
                    "kind": text.classify(
                        p.body,
                        links_resource=matched,
                        by_topic_manager=p.author_id in managers,
                        on_campaign_topic=bool(campaign_tags.intersection(tags[p.external_id])),
                        message_type=p.message_type,
                    ),
                    "synced_at": observed_at,
                }
            )
        result = await session.execute(_UPSERT, rows)
        for external_id, post_id, was_inserted in result:
            ids[external_id] = post_id
            if was_inserted:
                inserted.add(post_id)
    # A reply to a reply of the same page: its parent had no id when the batch was written.
    unlinked = [
        {"b_id": ids[p.external_id], "b_parent": ids[p.replied_to_external_id]}
        for p in replies
        if p.external_id in ids
        and p.replied_to_external_id in ids
        and p.replied_to_external_id != p.thread_external_id
    ]
    if unlinked:
        await session.execute(
            sa.update(models.Post.__table__)  # type: ignore[arg-type]
            .where(P.__table__.c.id == sa.bindparam("b_id"))
            .values(replied_to_id=sa.bindparam("b_parent")),
            unlinked,
        )
    stale = {p.external_id for p in posts} - set(ids)
    posts = [p for p in posts if p.external_id in ids]
    tags = {ext: t for ext, t in tags.items() if ext in ids}
    links = {ext: u for ext, u in links.items() if ext in ids}
    if stale:
        # Replayed, older observations: their ids, but nothing of theirs is written.
        ids.update(await _internal_ids(session, stale))

    post_ids = [ids[p.external_id] for p in posts]
    await session.execute(
        sa.delete(models.PostHashtag).where(models.PostHashtag.post_id.in_(post_ids))
    )
    hashtag_rows = [
        {"post_id": ids[ext], "hashtag": tag}
        for ext, post_tags in tags.items()
        for tag in post_tags
    ]
    if hashtag_rows:
        await session.execute(_INSERT_HASHTAG, hashtag_rows)
    link_rows = [
        {"post_id": ids[ext], "resource_id": resource_ids[url], "matched_by": ResourceMatch.URL}
        for ext, urls in links.items()
        for url in dict.fromkeys(urls)
        if url in resource_ids
    ]
    if link_rows:
        await session.execute(_INSERT_LINK, link_rows)
    changed = await record_metrics(
        session,
        [(ids[p.external_id], p.like_count, p.reply_count or 0, p.share_count or 0) for p in posts],
        observed_at,
    )
    return IngestResult(ids=ids, inserted=inserted, metrics_changed=set(changed) - inserted)


async def record_metrics(
    session: AsyncSession, metrics: Sequence[tuple[int, int, int, int]], observed_at: datetime
) -> list[int]:
    """Append (post, likes, replies, shares) snapshots where they differ from the latest one.

    Returns the ids of the posts whose figures changed.
    """
    if not metrics:
        return []
    S = models.PostMetricsSnapshot
    latest = (
        sa.select(S.post_id, S.likes, S.replies, S.shares)
        .ext(distinct_on(S.post_id))
        .where(S.post_id.in_([m[0] for m in metrics]))
        .order_by(S.post_id, S.observed_at.desc())
    )
    last = {
        row.post_id: (row.likes, row.replies, row.shares) for row in await session.execute(latest)
    }
    changed = [
        {
            "post_id": post_id,
            "observed_at": observed_at,
            "likes": likes,
            "replies": replies,
            "shares": shares,
        }
        for post_id, likes, replies, shares in metrics
        if last.get(post_id) != (likes, replies, shares)
    ]
    if changed:
        await session.execute(_INSERT_SNAPSHOT, changed)
        await session.execute(
            # Core table, not the ORM entity: a plain executemany UPDATE by key.
            sa.update(models.Post.__table__)  # type: ignore[arg-type]
            .where(P.__table__.c.id == sa.bindparam("b_post_id"))
            .values(
                like_count=sa.bindparam("b_likes"),
                reply_count=sa.bindparam("b_replies"),
                share_count=sa.bindparam("b_shares"),
            ),
            [
                {
                    "b_post_id": c["post_id"],
                    "b_likes": c["likes"],
                    "b_replies": c["replies"],
                    "b_shares": c["shares"],
                }
                for c in changed
            ],
        )
    return [c["post_id"] for c in changed]  # type: ignore[misc]


async def set_kind(session: AsyncSession, post_id: int, kind: PostKind) -> Any:
    """Classify a post by hand; the kind then survives re-classification."""
    row = await session.execute(
        sa.update(P)
        .where(P.id == post_id, P.deleted_at.is_(None))
        .values(kind=kind, kind_set_by_hand=True)
        .returning(P.id, P.kind)
    )
    return row.first()


async def post_topic_ids(session: AsyncSession, post_id: int) -> set[int]:
    rows = await session.execute(
        sa.select(models.Topic.id)
        .join(models.PostHashtag, models.PostHashtag.hashtag == models.Topic.hashtag)
        .where(models.PostHashtag.post_id == post_id)
    )
    return set(rows.scalars())
