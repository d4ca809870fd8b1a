"""Upserting people the worker mirrors, by microblog id.

Upserts are idempotent and monotonic: a row is only overwritten by an observation at least as
recent as the one it holds (``synced_at``), so replaying an old page cannot move data back.
A row carries only the fields its payload had; one it lacks keeps its stored value, and a
``Placeholder`` value fills a field only where the row has none.
Follower counts append a snapshot only when they change.  Nothing here commits.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models

log = logging.getLogger(__name__)

Person = models.Person
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
    written = await upsert_by_external_id(session, Person, list(by_external.values()), observed_at)
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


async def upsert_by_external_id(
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
