"""The maintained person count (migration p4c1) equals a fresh count after every kind of write.

``people { totalCount }`` without a search reads ``person_count`` (``people.count_people``,
and the compiled plans the same expression): after the directory's upserts (new people and
known ones in one statement), placeholders for unknown senders, plain and multi-row inserts,
deletes and a TRUNCATE, it must be what ``COUNT(*)`` gives; concurrent writers never wait
for each other on it and neither's people are lost.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from api.db.repositories import people, people_write
from api.db.session import Database

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


async def _sql(db: Database, sql: str, **params: Any) -> list[Any]:
    async with db.unit_of_work() as session:
        result = await session.execute(sa.text(sql), params)
        return list(result) if result.returns_rows else []


async def assert_count_fresh(db: Database) -> int:
    """The maintained count == COUNT(*), read as totalCount reads it; a search still counts."""
    async with db.reading() as session:
        fresh = (await session.execute(sa.text("SELECT count(*) FROM person"))).scalar_one()
        assert await people.count_people(session, None) == fresh
        assert await people.count_people(session, "  ") == fresh  # no words: no search
        searched = (
            await session.execute(
                sa.text("SELECT count(*) FROM person WHERE full_name ILIKE 'zed%'")
            )
        ).scalar_one()
        assert await people.count_people(session, "zed") == searched
    return int(fresh)


async def test_every_kind_of_write_keeps_the_count(fresh_db: Database) -> None:
    db = fresh_db
    assert await assert_count_fresh(db) == 0
    async with db.unit_of_work() as session:
        await people_write.upsert_people(
            session,
            [{"external_id": i, "full_name": f"Zed {i}"} for i in range(1, 6)],
            T0,
        )
    assert await assert_count_fresh(db) == 5
    # Known people updated and new ones inserted by the same upsert: only the new count.
    async with db.unit_of_work() as session:
        await people_write.upsert_people(
            session,
            [{"external_id": i, "full_name": f"Ann {i}"} for i in range(4, 9)],
            T0,
        )
    assert await assert_count_fresh(db) == 8
    async with db.unit_of_work() as session:
        await people_write.ensure_people(session, {7, 8, 9, 10}, T0)
    assert await assert_count_fresh(db) == 10
    await _sql(
        db,
        "INSERT INTO person (external_id, full_name) SELECT g, 'Zed ' || g "
        "FROM generate_series(100, 149) g",
    )
    assert await assert_count_fresh(db) == 60
    await _sql(db, "INSERT INTO person (external_id, full_name) VALUES (200, 'Zed one')")
    await _sql(db, "DELETE FROM person WHERE external_id BETWEEN 100 AND 119")
    assert await assert_count_fresh(db) == 41
    await _sql(db, "DELETE FROM person WHERE false")
    assert await assert_count_fresh(db) == 41
    # Writes fold the delta rows as they go: one row at rest.
    assert (await _sql(db, "SELECT count(*) FROM person_count"))[0][0] == 1
    await _sql(db, "TRUNCATE person CASCADE")
    assert await assert_count_fresh(db) == 0
    await _sql(db, "INSERT INTO person (external_id, full_name) VALUES (300, 'Zed again')")
    assert await assert_count_fresh(db) == 1


async def test_concurrent_writers_neither_wait_nor_lose_people(fresh_db: Database) -> None:
    db = fresh_db
    await _sql(db, "INSERT INTO person (external_id, full_name) VALUES (1, 'Zed first')")
    async with db.unit_of_work() as first:
        await first.execute(
            sa.text("INSERT INTO person (external_id, full_name) VALUES (2, 'Zed two'), (3, 'x')")
        )
        # While the first holds its delta row (and the folded one) uncommitted, a second
        # writer's people are counted without waiting for it (SKIP LOCKED).
        await asyncio.wait_for(
            _sql(db, "INSERT INTO person (external_id, full_name) VALUES (4, 'Zed four')"), 30
        )
        await asyncio.wait_for(_sql(db, "DELETE FROM person WHERE external_id = 1"), 30)
    assert await assert_count_fresh(db) == 3
    await _sql(db, "INSERT INTO person (external_id, full_name) VALUES (5, 'Zed five')")
    assert await assert_count_fresh(db) == 4
    assert (await _sql(db, "SELECT count(*) FROM person_count"))[0][0] == 1
