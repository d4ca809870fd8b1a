"""Importing a network data export: everything in it lands once, deletions are marked."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from api.db.session import Database
from api.domain import text
from api.simulator.demo import demo_network
from api.simulator.export import build_export_zip
from api.sync.export_format import BAD_TIME, ORPHAN, ExportError, described_at, parse_time
from api.sync.export_import import import_export, read_export
from api.sync.scheduler import Worker
from tests.integration.sync.conftest import EVERY_THREAD_EVERY_PASS, Sim, rows

ANCHOR = date(2026, 10, 5)
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _export(tmp_path: Path) -> tuple[Path, list[dict[str, str]]]:
    network = demo_network(ANCHOR, NOW)
    data = build_export_zip(network, datetime(2026, 1, 1, tzinfo=UTC))
    path = tmp_path / "export.zip"
    path.write_bytes(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        rows = list(
            csv.DictReader(io.TextIOWrapper(archive.open("Messages.csv"), encoding="utf-8"))
        )
    return path, rows


async def _count(db: Database, sql: str) -> int:
    async with db.reading() as session:
        return int((await session.execute(sa.text(sql))).scalar_one())


async def test_import_loads_every_message_once_and_is_idempotent(
    tmp_path: Path, fresh_url: str, fresh_db: Database
) -> None:
    path, rows = _export(tmp_path)
    public = [r for r in rows if r["in_private_conversation"].lower() != "true"]
    ids = {int(r["id"]) for r in public}
    stats = await import_export(fresh_url, path)
    assert stats.messages == len(public)
    assert await _count(fresh_db, "SELECT count(*) FROM post") == len(ids)
    starters = {int(r["id"]) for r in public if r["id"] == r["thread_id"]}
    assert await _count(
        fresh_db, "SELECT count(*) FROM post WHERE thread_starter_id IS NULL"
    ) == len(starters)
    deleted = {int(r["id"]) for r in public if r["deleted_at"]}
    assert deleted, "the demo network has a deleted message"
    assert await _count(fresh_db, "SELECT count(*) FROM post WHERE deleted_at IS NOT NULL") == len(
        deleted
    )
    assert await _count(fresh_db, "SELECT count(*) FROM post_hashtag") > 0
    before = await _count(fresh_db, "SELECT count(*) FROM post") + await _count(
        fresh_db, "SELECT count(*) FROM post_hashtag"
    )
    # The same file again: nothing new, nothing lost.
    await import_export(fresh_url, path)
    after = await _count(fresh_db, "SELECT count(*) FROM post") + await _count(
        fresh_db, "SELECT count(*) FROM post_hashtag"
    )
    assert after == before


async def test_replies_keep_their_chain(tmp_path: Path, fresh_url: str, fresh_db: Database) -> None:
    path, rows = _export(tmp_path)
    await import_export(fresh_url, path)
    chained = [r for r in rows if r["replied_to_id"] and r["replied_to_id"] != r["thread_id"]]
    assert chained, "the demo network has a reply to a reply"
    for row in chained:
        got = await _count(
            fresh_db,
            f"SELECT count(*) FROM post p JOIN post r ON r.id = p.replied_to_id "
            f"WHERE p.external_id = {int(row['id'])} AND r.external_id = {int(row['replied_to_id'])}",
        )
        assert got == 1


async def test_not_an_export_is_refused(tmp_path: Path, fresh_url: str, fresh_db: Database) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ExportError):
        await import_export(fresh_url, bad)
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ExportError):
        await import_export(fresh_url, empty)
    assert await _count(fresh_db, "SELECT count(*) FROM post") == 0


# -- hand-written exports ------------------------------------------------------------------

MESSAGE_HEADER = [
    *("id", "replied_to_id", "parent_id", "thread_id", "conversation_id", "group_id"),
    *("group_name", "participants", "in_private_group", "in_private_conversation", "sender_id"),
    *("sender_type", "sender_name", "sender_email", "body", "delegate_id", "api_url"),
    *("attachments", "deleted_by_id", "deleted_by_type", "created_at", "deleted_at", "title"),
    *("html_body", "message_type", "gdpr_delete_url"),
]


def _zip(path: Path, messages: list[dict[str, object]], **files: str) -> Path:
    out = io.StringIO()
    writer = csv.DictWriter(out, MESSAGE_HEADER, lineterminator="\n")
    writer.writeheader()
    for m in messages:
        writer.writerow({k: m.get(k, "") for k in MESSAGE_HEADER})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Messages.csv", out.getvalue())
        for name, content in files.items():
            archive.writestr(name.replace("_", "."), content)
    return path


def _msg(
    mid: int, thread: int, body: str, created: str = "2026-05-01T10:00:00Z", **kw: object
) -> dict[str, object]:
    return {
        "id": mid, "thread_id": thread, "sender_id": 77, "sender_name": "Ann",
        "sender_email": "ann@example.com", "body": body, "created_at": created,
        "in_private_conversation": "false", "message_type": "update",
    } | kw  # fmt: skip


async def _values(db: Database, sql: str) -> list[object]:
    async with db.reading() as session:
        return list((await session.execute(sa.text(sql))).scalars())


# -- bug 1: an export carries the moment it describes, not the time of the import ----------


async def test_an_older_export_never_reverts_a_newer_mirrored_edit(
    sim: Sim, mirrored: tuple[Database, Worker], tmp_path: Path, fresh_url: str
) -> None:
    db, worker = mirrored
    await worker.run_once()
    network = sim.network
    old_zip = tmp_path / "old.zip"
    old_zip.write_bytes(build_export_zip(network, datetime(2020, 1, 1, tzinfo=UTC)))
    have = set(await _values(db, "SELECT external_id FROM post WHERE deleted_at IS NULL"))
    target = next(m for m in network.messages.values() if m.id in have and m.is_starter)
    network.edit(target.id, "EDITED body #edited")
    worker.config.freshness = EVERY_THREAD_EVERY_PASS
    await worker.run_once()
    post = f"SELECT body FROM post WHERE external_id = {target.id}"
    tags = (
        "SELECT h.hashtag FROM post_hashtag h JOIN post p ON p.id = h.post_id"
        f" WHERE p.external_id = {target.id}"
    )
    assert await _values(db, post) == ["EDITED body #edited"]

    stats = await import_export(fresh_url, old_zip)
    assert stats.as_of is not None
    assert stats.as_of < datetime.now(UTC)
    assert stats.newer_in_db >= 1
    assert await _values(db, post) == ["EDITED body #edited"]
    assert await _values(db, tags) == ["edited"]
    state = "SELECT external_id, body, synced_at, kind FROM post ORDER BY external_id"
    before = await rows(db, state)
    # The same (older) export again: the same answer, nothing moves.
    await import_export(fresh_url, old_zip)
    assert await rows(db, state) == before
    assert await _values(db, tags) == ["edited"]


async def test_an_export_taken_after_the_mirror_read_updates_it(
    sim: Sim, mirrored: tuple[Database, Worker], tmp_path: Path, fresh_url: str
) -> None:
    db, worker = mirrored
    await worker.run_once()
    network = sim.network
    have = set(await _values(db, "SELECT external_id FROM post WHERE deleted_at IS NULL"))
    target = next(m for m in network.messages.values() if m.id in have and m.is_starter)
    network.edit(target.id, "Edited after the mirror read #later")
    newer = tmp_path / "newer.zip"
    newer.write_bytes(build_export_zip(network, datetime(2020, 1, 1, tzinfo=UTC)))
    await import_export(fresh_url, newer)
    assert await _values(db, f"SELECT body FROM post WHERE external_id = {target.id}") == [
        "Edited after the mirror read #later"
    ]


def test_an_export_describes_the_moment_it_was_taken_or_its_newest_row(tmp_path: Path) -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    bare = read_export(_zip(tmp_path / "a.zip", [_msg(1, 1, "x", "2026-05-01T10:00:00Z")]))
    assert described_at(bare, now) == datetime(2026, 5, 1, 10, tzinfo=UTC)
    stated = read_export(
        _zip(
            tmp_path / "b.zip",
            [_msg(1, 1, "x", "2026-05-01T10:00:00Z")],
            log_txt="exported at: 2026-05-20T08:00:00+00:00\n",
            request_txt="GET /api/v1/export?since=2026-05-01T00:00:00+00:00"
            "&until=2026-05-10T00:00:00+00:00&include=csv\n",
        )
    )
    # The earlier of "taken at" and the range end; never before a row the file shows.
    assert described_at(stated, now) == datetime(2026, 5, 10, tzinfo=UTC)
    assert described_at(stated, datetime(2026, 5, 5, tzinfo=UTC)) == datetime(
        2026, 5, 5, tzinfo=UTC
    )
    future_row = read_export(
        _zip(
            tmp_path / "c.zip",
            [_msg(1, 1, "x", "2026-05-01T10:00:00Z"), _msg(2, 2, "y", "2099-01-01T00:00:00Z")],
        )
    )
    # A timestamp from a bad clock does not date the export.
    assert described_at(future_row, now) == datetime(2026, 5, 1, 10, tzinfo=UTC)


# -- bug 2: only the latest version of a message counts --------------------------------------


async def test_superseded_versions_leave_no_hashtags_or_links(
    tmp_path: Path, fresh_url: str, fresh_db: Database
) -> None:
    async with fresh_db.unit_of_work() as session:
        for token, url in (
            ("old", "https://old.example.com/a"),
            ("new", "https://new.example.com/b"),
        ):
            await session.execute(
                sa.text(
                    "INSERT INTO resource (kind, title, url, normalized_url, tracking_token)"
                    " VALUES ('ARTICLE', :t, :u, :n, :t)"
                ),
                {"t": token, "u": url, "n": text.normalise_url(url)},
            )
    path = _zip(
        tmp_path / "versions.zip",
        [
            _msg(1000, 1000, "draft #oldtag https://old.example.com/a"),
            _msg(1000, 1000, "final text #newtag https://new.example.com/b"),
        ],
    )
    stats = await import_export(fresh_url, path)
    assert stats.messages == 1
    assert await _values(fresh_db, "SELECT body FROM post") == [
        "final text #newtag https://new.example.com/b"
    ]
    assert await _values(fresh_db, "SELECT hashtag FROM post_hashtag") == ["newtag"]
    assert await _values(
        fresh_db,
        "SELECT r.tracking_token FROM post_resource pr JOIN resource r ON r.id = pr.resource_id",
    ) == ["new"]


# -- bug 3: a malformed row is skipped and reported, the rest lands ---------------------------


async def test_a_malformed_timestamp_skips_that_message_and_reports_its_line(
    tmp_path: Path, fresh_url: str, fresh_db: Database
) -> None:
    path = _zip(
        tmp_path / "bad.zip",
        [
            _msg(1000, 1000, "fine"),
            _msg(1001, 1001, "bad timestamp", "n/a"),
            _msg(1002, 1002, "first version, fine"),
            _msg(1002, 1002, "second version", "2026-05-01T10:00:00Z", deleted_at="yesterday"),
            _msg(1003, 1001, "reply to the bad one", replied_to_id=1001),
        ],
    )
    stats = await import_export(fresh_url, path)
    assert await _values(fresh_db, "SELECT external_id FROM post") == [1000]
    assert stats.messages == 1
    # Every version of 1002 is left out: its first version must not pass for the latest.
    assert stats.skipped[BAD_TIME] == 2
    assert stats.skipped[ORPHAN] == 1
    summary = str(stats)
    assert "Messages.csv line 3: message 1001" in summary
    assert "created_at 'n/a' is not a timestamp" in summary
    assert "Messages.csv line 5: message 1002" in summary
    assert "deleted_at 'yesterday'" in summary
    assert "thread 1001: 1 reply" in summary


async def test_rest_style_timestamps_keep_their_utc_offset(
    tmp_path: Path, fresh_url: str, fresh_db: Database
) -> None:
    assert parse_time("2023/05/16 18:42:34 -0700") == datetime(2023, 5, 17, 1, 42, 34, tzinfo=UTC)
    assert parse_time("2023/05/16 18:42:34 +0000") == datetime(2023, 5, 16, 18, 42, 34, tzinfo=UTC)
    assert parse_time("2023/05/16 18:42:34") == datetime(2023, 5, 16, 18, 42, 34, tzinfo=UTC)
    assert parse_time("2023-05-16T18:42:34+02:00") == datetime(2023, 5, 16, 16, 42, 34, tzinfo=UTC)
    for bad in ("n/a", "2023/05/16 18:42:34 +9900", "2023/02/30 10:00:00 +0000"):
        with pytest.raises(ValueError, match=r"timestamp|offset|format|day"):
            parse_time(bad)
    await import_export(
        fresh_url, _zip(tmp_path / "rest.zip", [_msg(1000, 1000, "x", "2023/05/16 18:42:34 -0700")])
    )
    assert await _values(fresh_db, "SELECT created_at FROM post") == [
        datetime(2023, 5, 17, 1, 42, 34, tzinfo=UTC)
    ]


async def test_an_unreadable_file_is_refused_before_anything_is_written(
    tmp_path: Path, fresh_url: str, fresh_db: Database
) -> None:
    good = io.StringIO()
    writer = csv.DictWriter(good, MESSAGE_HEADER, lineterminator="\n")
    writer.writeheader()
    writer.writerow({k: _msg(1000, 1000, "fine").get(k, "") for k in MESSAGE_HEADER})
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("Users.csv", "id,name\n77,Ann\n")
        archive.writestr("Messages.csv", good.getvalue().encode() + b"1001,\xff\xfe broken\n")
    with pytest.raises(ExportError, match=r"Messages\.csv is not UTF-8"):
        await import_export(fresh_url, broken)
    huge = tmp_path / "huge.zip"  # a cell over the csv field limit: the file is not sane
    with zipfile.ZipFile(huge, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Messages.csv", good.getvalue() + "1001," + "a" * (17 << 20) + "\n")
    with pytest.raises(ExportError, match=r"Messages\.csv line 3 cannot be read"):
        await import_export(fresh_url, huge)
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(damaged, "w") as archive:  # stored: the body's bytes are in the file
        archive.writestr("Messages.csv", good.getvalue())
    data = damaged.read_bytes()
    damaged.write_bytes(data.replace(b"fine", b"fiNe", 1))  # the CRC no longer matches
    with pytest.raises(ExportError, match=r"Messages\.csv is damaged"):
        await import_export(fresh_url, damaged)
    headless = tmp_path / "headless.zip"
    with zipfile.ZipFile(headless, "w") as archive:
        archive.writestr("Messages.csv", "id,body\n1000,hello\n")
    with pytest.raises(ExportError, match="no thread_id, sender_id, created_at column"):
        await import_export(fresh_url, headless)
    assert await _count(fresh_db, "SELECT count(*) FROM post") == 0
    assert await _count(fresh_db, "SELECT count(*) FROM person") == 0


# -- bug 4: every message row is imported or counted as skipped, with its reason -------------


async def test_replies_without_their_starter_are_reported_not_lost_silently(
    tmp_path: Path, fresh_url: str, fresh_db: Database
) -> None:
    reply = _msg(2001, 2000, "reply to a thread outside the range", replied_to_id=2000)
    stats = await import_export(fresh_url, _zip(tmp_path / "c.zip", [reply]))
    assert stats.messages == 0
    assert stats.skipped == {ORPHAN: 1}
    assert "thread 2000: 1 reply without the starter" in str(stats)
    # A reply stored without its starter would pass for a thread starter.
    assert await _count(fresh_db, "SELECT count(*) FROM post") == 0
    # Once the starter is in the database, the same reply lands under it.
    await import_export(fresh_url, _zip(tmp_path / "s.zip", [_msg(2000, 2000, "starter")]))
    stats = await import_export(fresh_url, _zip(tmp_path / "c2.zip", [reply]))
    assert stats.messages == 1
    assert not stats.skipped
    assert await _values(
        fresh_db,
        "SELECT s.external_id FROM post r JOIN post s ON s.id = r.thread_starter_id"
        " WHERE r.external_id = 2001",
    ) == [2000]


async def test_messages_from_unknown_senders_are_kept_under_a_placeholder(
    tmp_path: Path, fresh_url: str, fresh_db: Database
) -> None:
    anonymous = _msg(3000, 3000, "from a deleted account", sender_id=88, sender_name="")
    reply = _msg(3001, 3000, "reply", replied_to_id=3000)
    stats = await import_export(fresh_url, _zip(tmp_path / "u.zip", [anonymous, reply]))
    assert stats.messages == 2
    assert not stats.skipped
    assert await _values(
        fresh_db,
        "SELECT a.full_name FROM post p JOIN person a ON a.id = p.author_id"
        " WHERE p.external_id = 3000",
    ) == ["Former member 88"]
    assert await _count(fresh_db, "SELECT count(*) FROM post") == 2
