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
from api.simulator.export import build_export_zip
from api.simulator.network import Network
from api.sync.export_import import ExportError, import_export

ANCHOR = date(2026, 10, 5)
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _export(tmp_path: Path) -> tuple[Path, list[dict[str, str]]]:
    network = Network.demo(ANCHOR, NOW)
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
