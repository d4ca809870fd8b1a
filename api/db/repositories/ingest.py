"""Writing posts described by internal ids (the demo seed, tests): a door to ``posts_write``.

Callers that hold person and group ids rather than microblog ids (the demo seed builds its
people first) come through ``upsert_posts``, which maps their posts to ``PostRow``s and hands
them to the one write path, ``posts_write.write_posts``; the worker, the export import and the
generator build ``PostRow``s themselves.  Also: snapshots written as history, classification
by hand.  Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models
from api.db.repositories import classification, posts_write
from api.db.repositories.posts_write import WriteResult
from api.domain.enums import PostKind
from api.domain.post_rows import Classifier, post_row

P = models.Post

# The result of a write: ids, inserted, metrics_changed (see posts_write.WriteResult).
IngestResult = WriteResult


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


async def upsert_posts(
    session: AsyncSession,
    posts: Sequence[IncomingPost],
    observed_at: datetime,
    *,
    context: Classifier | None = None,
) -> WriteResult:
    """Insert or update posts through the one write path: which are new, whose figures changed."""
    if not posts:
        return WriteResult()
    people = dict(
        (
            await session.execute(
                sa.select(models.Person.id, models.Person.external_id).where(
                    models.Person.id.in_({p.author_id for p in posts})
                )
            )
        ).all()
    )
    group_ids = {p.group_id for p in posts if p.group_id is not None}
    G = models.MicroblogGroup
    groups = (
        dict(
            (await session.execute(sa.select(G.id, G.external_id).where(G.id.in_(group_ids)))).all()
        )
        if group_ids
        else {}
    )
    context = context or await classification.classifier(session)
    rows = [
        post_row(
            context,
            external_id=p.external_id,
            sender_external_id=people[p.author_id],
            body=p.body,
            created_at=p.created_at,
            thread_external_id=p.thread_external_id,
            replied_to_external_id=p.replied_to_external_id,
            group_external_id=groups.get(p.group_id) if p.group_id is not None else None,
            web_url=p.web_url,
            message_type=p.message_type,
            like_count=p.like_count,
            reply_count=p.reply_count,
            share_count=p.share_count,
        )
        for p in posts
    ]
    return await posts_write.write_posts(session, rows, observed_at)


_INSERT_SNAPSHOT = insert(models.PostMetricsSnapshot).on_conflict_do_nothing()


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
