"""The ingest path: monotonic upserts and counts a payload did not carry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from api.db.repositories import ingest, mirror, posts_write
from api.db.session import Database
from api.domain.post_rows import Classifier, PostRow, post_row

T0 = datetime(2026, 10, 1, tzinfo=UTC)


async def _person(db: Database) -> int:
    async with db.unit_of_work() as session:
        return int(
            (
                await session.execute(
                    sa.text(
                        "INSERT INTO person (external_id, full_name) VALUES (1, 'A') RETURNING id"
                    )
                )
            ).scalar_one()
        )


async def _post(db: Database) -> tuple[str, int, int]:
    async with db.reading() as session:
        row = (
            await session.execute(sa.text("SELECT body, like_count, reply_count FROM post"))
        ).one()
    return row.body, row.like_count, row.reply_count


async def test_unknown_counts_keep_the_stored_ones(fresh_db: Database) -> None:
    author = await _person(fresh_db)
    first = ingest.IncomingPost(external_id=10, author_id=author, body="Hello", created_at=T0,
                                like_count=2, reply_count=3)  # fmt: skip
    async with fresh_db.unit_of_work() as session:
        await ingest.upsert_posts(session, [first], T0)
    again = ingest.IncomingPost(external_id=10, author_id=author, body="Hello", created_at=T0,
                                like_count=4, reply_count=None, share_count=None)  # fmt: skip
    async with fresh_db.unit_of_work() as session:
        await ingest.upsert_posts(session, [again], T0 + timedelta(minutes=1))
    assert await _post(fresh_db) == ("Hello", 4, 3)


async def test_an_older_observation_changes_nothing(fresh_db: Database) -> None:
    author = await _person(fresh_db)
    new = ingest.IncomingPost(
        external_id=10, author_id=author, body="Edited", created_at=T0, like_count=5
    )
    old = ingest.IncomingPost(
        external_id=10, author_id=author, body="Original", created_at=T0, like_count=1
    )
    async with fresh_db.unit_of_work() as session:
        await ingest.upsert_posts(session, [new], T0 + timedelta(hours=1))
    async with fresh_db.unit_of_work() as session:
        result = await ingest.upsert_posts(session, [old], T0)  # a replayed, older page
    assert result.inserted == set()
    assert result.metrics_changed == set()
    assert await _post(fresh_db) == ("Edited", 5, 0)


async def _deleted_at(db: Database) -> datetime | None:
    async with db.reading() as session:
        return (await session.execute(sa.text("SELECT deleted_at FROM post"))).scalar_one()


async def test_tombstones_are_the_same_for_every_source(fresh_db: Database) -> None:
    """A row that says "deleted" never revives a post; read alive, only a newer read does."""
    await _person(fresh_db)
    context = Classifier()

    def row(deleted_at: datetime | None = None) -> PostRow:
        return post_row(context, external_id=10, sender_external_id=1, body="Hi",
                        created_at=T0, like_count=None, deleted_at=deleted_at)  # fmt: skip

    async def write(r: PostRow, at: datetime) -> datetime | None:
        async with fresh_db.unit_of_work() as session:
            await posts_write.write_posts(session, [r], at)
        return await _deleted_at(fresh_db)

    gone = T0 + timedelta(hours=1)
    assert await write(row(deleted_at=gone), gone) == gone  # an export that says deleted
    # An export that still says deleted, taken later: the first tombstone stands.
    assert await write(row(deleted_at=gone + timedelta(hours=1)), gone + timedelta(hours=2)) == gone
    # Read alive later than the tombstone (the post is back, e.g. access regained): restored.
    assert await write(row(), gone + timedelta(hours=3)) is None
    async with fresh_db.unit_of_work() as session:
        await mirror.mark_deleted(session, [10], gone + timedelta(hours=5))
    # A replayed older read alive changes nothing.
    assert await write(row(), gone + timedelta(hours=4)) == gone + timedelta(hours=5)
