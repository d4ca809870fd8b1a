"""Upserting what the worker mirrors: people, groups, topic ids, deletions.

Upserts are idempotent and monotonic: a row is only overwritten by an observation at least as
recent as the one it holds (``synced_at``), so replaying an old page cannot move data back.
A row carries only the fields its payload had; one it lacks keeps its stored value, and a
``Placeholder`` value fills a field only where the row has none.
Follower counts append a snapshot only when they change.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models

log = logging.getLogger(__name__)

Person = models.Person
Group = models.MicroblogGroup
PERSON_FIELDS = ("full_name", "email", "job_title", "department", "avatar_url", "web_url")


@dataclass(frozen=True, slots=True)
class Placeholder:
    """A value for a new row (or a NULL field) that must not replace a stored one.

    E.g. "User 42" when a reference has no name, or a reference's signed mugshot URL where the
    directory's stable one may be stored.
    """

    value: Any


async def upsert_people(
    session: AsyncSession, rows: Sequence[dict[str, Any]], observed_at: datetime
) -> tuple[dict[int, int], list[tuple[int, int, int]]]:
    """Insert or update people by external id.

    Rows carry ``external_id`` and any of the person fields; ``follower_count`` and
    ``following_count`` only when the payload had stats (references often do not).
    Returns (external id -> person id, [(person id, followers, change)] for changed counts);
    a row the monotonic upsert skipped (an older observation) reports no change.
    """
    if not rows:
        return {}, []
    by_external = {row["external_id"]: row for row in rows}  # a page may repeat a user
    stored = {
        r.external_id: r
        for r in await session.execute(
            sa.select(Person.external_id, Person.follower_count, Person.synced_at).where(
                Person.external_id.in_(list(by_external))
            )
        )
    }
    # Rows the upsert will skip: an observation older than the stored one.
    stale = {e for e, r in stored.items() if r.synced_at > observed_at}
    by_external = await _settle_emails(session, by_external, stale, observed_at)
    written = await _upsert(session, Person, list(by_external.values()), observed_at)
    ids = dict(written)
    missing = [e for e in by_external if e not in ids]  # rows an older observation skipped
    if missing:
        found = await session.execute(
            sa.select(Person.external_id, Person.id).where(Person.external_id.in_(missing))
        )
        ids.update(dict(found.all()))
    changes = []
    for external_id, row in by_external.items():
        followers = row.get("follower_count")
        # A skipped row's count is not the stored one: nothing changed, nothing to announce.
        if followers is None or external_id not in written:
            continue
        before = stored[external_id].follower_count if external_id in stored else None
        if before == followers:
            continue
        # A first reading is a change of 0 (no history to compare with).
        delta = 0 if before is None else followers - before
        changes.append((ids[external_id], followers, delta))
    if changes:
        await session.execute(
            insert(models.FollowerSnapshot)
            .values(
                [
                    {"person_id": pid, "observed_at": observed_at, "followers": followers}
                    for pid, followers, _ in changes
                ]
            )
            .on_conflict_do_nothing()
        )
    return ids, changes


async def _settle_emails(
    session: AsyncSession,
    rows: dict[int, dict[str, Any]],
    stale: set[int],
    observed_at: datetime,
) -> dict[int, dict[str, Any]]:
    """Rows whose ``email`` can be written without breaking ``uq_person_email``.

    Addresses are reused: a deleted user's address goes to a new hire. The more recent
    observation wins: an address another person was last seen with no later than this one
    moves here (that person's email is cleared); held by someone seen later, it is left out
    of this row, as is an address two rows of one batch claim (as the export import does).
    """
    claims: dict[str, list[int]] = {}
    for external_id, row in rows.items():
        email = row.get("email")
        if email is not None and external_id not in stale:
            claims.setdefault(email, []).append(external_id)
    if not claims:
        return rows
    unclaimable = {e for claimers in claims.values() if len(claimers) > 1 for e in claimers}
    unclaimable |= {e for e in stale if rows[e].get("email") is not None}
    single = {email: claimers[0] for email, claimers in claims.items() if len(claimers) == 1}
    release: list[int] = []
    if single:
        holders = await session.execute(
            sa.select(Person.email, Person.external_id, Person.synced_at).where(
                Person.email.in_(list(single))
            )
        )
        for email, holder, synced_at in holders:
            claimer = single[str(email)]  # matched by IN: never NULL
            if holder == claimer:
                continue
            if synced_at <= observed_at:
                release.append(holder)
            else:
                unclaimable.add(claimer)
    if release:
        log.info("email addresses moved to newer holders; cleared from people %s", release)
        await session.execute(
            sa.update(Person).where(Person.external_id.in_(release)).values(email=None)
        )
    return {
        e: ({k: v for k, v in row.items() if k != "email"} if e in unclaimable else row)
        for e, row in rows.items()
    }


async def _upsert(
    session: AsyncSession, model: Any, rows: list[dict[str, Any]], observed_at: datetime
) -> dict[int, int]:
    """Monotonic upsert by external id; rows may carry different sets of fields.

    Rows are grouped by the fields they carry (and which of them are placeholders), since a
    multi-row INSERT needs one shape and a field a payload did not have (a reference without
    stats) must keep its stored value. Returns external id -> id of the rows written.
    """
    table = model.__table__
    shapes: dict[tuple[frozenset[str], frozenset[str]], list[dict[str, Any]]] = {}
    for row in rows:
        fallback = frozenset(k for k, v in row.items() if isinstance(v, Placeholder))
        values = {k: v.value if isinstance(v, Placeholder) else v for k, v in row.items()}
        shapes.setdefault((frozenset(row), fallback), []).append(
            {**values, "synced_at": observed_at}
        )
    ids: dict[int, int] = {}
    for (keys, fallback), shaped in shapes.items():
        result = await session.execute(_upsert_by_external_id(table, keys, fallback), shaped)
        ids.update(dict(result.all()))
    return ids


@functools.cache
def _upsert_by_external_id(table: Any, keys: frozenset[str], fallback: frozenset[str]) -> Any:
    """One statement per table and set of fields, run as executemany (compiled once)."""
    stmt = insert(table)
    set_ = {
        key: sa.func.coalesce(table.c[key], stmt.excluded[key])
        if key in fallback
        else stmt.excluded[key]
        for key in (keys | {"synced_at"}) - {"external_id"}
    }
    return stmt.on_conflict_do_update(
        index_elements=[table.c.external_id],
        set_=set_,
        where=table.c.synced_at <= stmt.excluded.synced_at,
    ).returning(table.c.external_id, table.c.id)


async def ensure_people(
    session: AsyncSession, external_ids: set[int], observed_at: datetime
) -> dict[int, int]:
    """Person ids for these external ids, creating placeholders for unknown senders.

    Deleted or suspended users still send old messages, and references may omit them.
    """
    if not external_ids:
        return {}
    found = dict(
        (
            await session.execute(
                sa.select(Person.external_id, Person.id).where(Person.external_id.in_(external_ids))
            )
        ).all()
    )
    missing = [e for e in external_ids if e not in found]
    if missing:
        rows = [{"external_id": e, "full_name": Placeholder(f"Former member {e}")} for e in missing]
        ids, _ = await upsert_people(session, rows, observed_at)
        found.update(ids)
    return found


async def upsert_groups(
    session: AsyncSession, rows: Sequence[dict[str, Any]], observed_at: datetime
) -> dict[int, int]:
    """Insert or update groups by external id; returns external id -> group id."""
    if not rows:
        return {}
    by_external = {row["external_id"]: row for row in rows}
    await _upsert(session, Group, list(by_external.values()), observed_at)
    found = await session.execute(
        sa.select(Group.external_id, Group.id).where(Group.external_id.in_(list(by_external)))
    )
    return dict(found.all())


async def group_ids(session: AsyncSession, external_ids: set[int]) -> dict[int, int]:
    if not external_ids:
        return {}
    rows = await session.execute(
        sa.select(Group.external_id, Group.id).where(Group.external_id.in_(external_ids))
    )
    return dict(rows.all())


async def mark_group_inaccessible(session: AsyncSession, external_id: int) -> None:
    await session.execute(
        sa.update(Group).where(Group.external_id == external_id).values(accessible=False)
    )


async def topics_without_id(session: AsyncSession) -> list[str]:
    """Hashtags of topics whose microblog id no page has taught us yet."""
    T = models.Topic
    rows = await session.execute(
        sa.select(T.hashtag).where(T.external_id.is_(None)).order_by(T.hashtag)
    )
    return list(rows.scalars())


async def learn_topic_ids(session: AsyncSession, topics: dict[int, str]) -> None:
    """Record the microblog's topic id of campaign topics, matched by normalised name.

    An id already recorded for another campaign topic is left there (``topic.external_id`` is
    unique): the microblog topic was renamed, and its new name happens to be another tracked
    hashtag. Moving the id would silently re-point the first topic; that is for a person to do.
    """
    if not topics:
        return
    T = models.Topic
    known = dict(
        (
            await session.execute(
                sa.select(T.external_id, T.hashtag).where(T.external_id.in_(list(topics)))
            )
        ).all()
    )
    for external_id, hashtag in topics.items():
        if external_id in known:
            if known[external_id] != hashtag:
                log.warning(
                    "topic id %s now named #%s is already #%s's; left as it is",
                    external_id,
                    hashtag,
                    known[external_id],
                )
            continue
        await session.execute(
            sa.update(T)
            .where(T.hashtag == hashtag, T.external_id.is_(None))
            .values(external_id=external_id)
        )


async def mark_deleted(
    session: AsyncSession, external_ids: Sequence[int], observed_at: datetime
) -> list[int]:
    """Tombstone posts the microblog no longer has (never a silent drop); returns their ids."""
    if not external_ids:
        return []
    P = models.Post
    rows = await session.execute(
        sa.update(P)
        .where(P.external_id.in_(list(external_ids)), P.deleted_at.is_(None))
        .values(deleted_at=observed_at)
        .returning(P.id)
    )
    return list(rows.scalars())


async def recent_posts(session: AsyncSession, since: datetime, limit: int) -> list[tuple[int, int]]:
    """(external id, thread external id) of live posts created since ``since``, newest first."""
    P = models.Post
    S = sa.orm.aliased(P)
    rows = await session.execute(
        sa.select(P.external_id, sa.func.coalesce(S.external_id, P.external_id))
        .outerjoin(S, S.id == P.thread_starter_id)
        .where(P.created_at >= since, P.deleted_at.is_(None))
        .order_by(P.created_at.desc())
        .limit(limit)
    )
    return [(a, b) for a, b in rows.all()]


async def thread_external_ids(session: AsyncSession, starter_external_id: int) -> set[int]:
    """External ids of a mirrored thread's live posts (the starter and its replies)."""
    P = models.Post
    starter = sa.select(P.id).where(P.external_id == starter_external_id).scalar_subquery()
    rows = await session.execute(
        sa.select(P.external_id).where(
            sa.or_(P.id == starter, P.thread_starter_id == starter), P.deleted_at.is_(None)
        )
    )
    return set(rows.scalars())


async def people_to_watch(session: AsyncSession) -> list[tuple[int, int]]:
    """(person id, external id) of campaign owners and current topic managers."""
    TM = models.TopicManager
    owners = sa.select(models.Campaign.owner_id.label("id")).where(
        models.Campaign.owner_id.is_not(None)
    )
    managers = sa.select(TM.person_id.label("id")).where(
        sa.or_(TM.until.is_(None), TM.until > sa.func.current_date())
    )
    ids = sa.union(owners, managers).subquery()
    rows = await session.execute(
        sa.select(Person.id, Person.external_id).join(ids, ids.c.id == Person.id)
    )
    return [(a, b) for a, b in rows.all()]


async def incomplete_threads(
    session: AsyncSession, limit: int, walked: Mapping[int, int] | None = None
) -> list[tuple[int, int]]:
    """(external id, reported reply count) of starters with fewer mirrored replies than they
    report, newest first, leaving out those in ``walked`` (external id -> the reply count they
    had when last walked) whose count has not changed since.

    The microblog's counts drift from what can be read (reference: "Counts drift"), so a
    thread walked in full may still look incomplete; without ``walked`` it would be walked
    again every pass, spending the budget on the same threads forever.
    """
    P = models.Post
    R = sa.orm.aliased(P)
    mirrored = (
        sa.select(sa.func.count())
        .where(R.thread_starter_id == P.id, R.deleted_at.is_(None))
        .correlate(P)
        .scalar_subquery()
    )
    stmt = sa.select(P.external_id, P.reply_count).where(
        P.thread_starter_id.is_(None), P.deleted_at.is_(None), P.reply_count > mirrored
    )
    if walked:
        done = (
            sa.func.unnest(
                sa.cast(sa.literal(list(walked)), ARRAY(sa.BigInteger)),
                sa.cast(sa.literal(list(walked.values())), ARRAY(sa.Integer)),
            )
            .table_valued("id", "replies")
            .render_derived(name="done")
        )
        stmt = stmt.where(
            ~sa.exists().where(done.c.id == P.external_id, done.c.replies == P.reply_count)
        )
    rows = await session.execute(stmt.order_by(P.created_at.desc()).limit(limit))
    return [(row.external_id, row.reply_count) for row in rows]


async def existing_external_ids(session: AsyncSession, external_ids: set[int]) -> set[int]:
    """Which of these microblog message ids are mirrored (deleted ones included)."""
    if not external_ids:
        return set()
    P = models.Post
    rows = await session.execute(sa.select(P.external_id).where(P.external_id.in_(external_ids)))
    return set(rows.scalars())
