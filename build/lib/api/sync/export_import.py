"""Loading a network data export (ZIP of CSVs, spec §6) without spending the rate budget.

The CSVs are read as a stream, turned into rows here (pure Python: hashtags, links, kinds,
exactly as the ingest path does), and handed to ``api.db.repositories.bulk`` which COPYs
them into staging tables and merges them in one transaction.  Importing the same file twice
changes nothing the second time.  The rows carry the moment the export describes, not the
time of the import, so an export never overwrites what a later live read stored.  Rows that
cannot be imported are counted in ``ImportStats.skipped``, by reason, with their lines.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from urllib.parse import unquote

from api.db.repositories import bulk
from api.domain import text
from api.domain.enums import GroupPrivacy
from api.sync.export_format import (
    BAD_TIME,
    BAD_TOPIC,
    DIRECT,
    MAX_PROBLEMS,
    MESSAGE_NO_ID,
    NO_ID,
    ORPHAN,
    ExportError,
    ImportStats,
    described_at,
    parse_time,
)

csv.field_size_limit(16 * 1024 * 1024)  # message bodies can be long


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")


def _member(archive: zipfile.ZipFile, name: str) -> str | None:
    return next(
        (n for n in archive.namelist() if n.rsplit("/", 1)[-1].lower() == name.lower()), None
    )


def _rows(
    archive: zipfile.ZipFile, name: str, required: tuple[str, ...] = ()
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) for each record of ``name``; the line is where the record starts.

    A file that cannot be read as a whole (a damaged ZIP member, text that is not UTF-8, a
    cell over the csv size limit) or that lacks the columns the import needs is refused with
    an ExportError; reading finishes before the merge starts, so nothing is written.
    """
    if (member := _member(archive, name)) is None:
        return
    line = 1  # where the record being read starts
    try:
        with archive.open(member) as raw:
            reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
            missing = [c for c in required if c not in (reader.fieldnames or ())]
            if missing:
                raise ExportError(f"{name} has no {', '.join(missing)} column")
            line = reader.line_num + 1
            for row in reader:
                yield line, row
                line = reader.line_num + 1
    except csv.Error as exc:
        raise ExportError(f"{name} line {line} cannot be read: {exc}") from exc
    except UnicodeDecodeError as exc:  # decoded ahead of the csv reader: no line to give
        raise ExportError(f"{name} is not UTF-8 text: {exc}") from exc
    except (zipfile.BadZipFile, EOFError, OSError) as exc:  # a damaged or truncated member
        raise ExportError(f"{name} is damaged in the ZIP: {exc}") from exc


def _text(archive: zipfile.ZipFile, name: str) -> str:
    """log.txt or request.txt; they only date the export, so a damaged one is ignored."""
    if (member := _member(archive, name)) is None:
        return ""
    try:
        return archive.read(member).decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, EOFError, OSError):
        return ""


def _stated_times(archive: zipfile.ZipFile, out: bulk.ExportRows) -> None:
    """When the export was taken (log.txt) and the end of its range (request.txt), if said."""
    if match := re.search(r"(?im)^\s*exported at\s*:\s*(.+?)\s*$", _text(archive, "log.txt")):
        out.exported_at = _lenient_time(match.group(1))
    if match := re.search(r"[?&]until=([^&\s]+)", _text(archive, "request.txt")):
        out.range_end = _lenient_time(unquote(match.group(1)))


def _lenient_time(value: str | None) -> datetime | None:
    """For the moments that only date the export: an unreadable one is simply not used."""
    try:
        return parse_time(value or "")
    except ValueError:
        return None


class _Reader:
    """Collects rows, skipped-row counts and their lines into one ``ExportRows``."""

    def __init__(self, now: datetime) -> None:
        self.out = bulk.ExportRows()
        self.now = now

    def skip(self, reason: str, where: str, detail: str, count: int = 1) -> None:
        self.out.skipped[reason] = self.out.skipped.get(reason, 0) + count
        if len(self.out.problems) < MAX_PROBLEMS:
            self.out.problems.append(f"{where}: {detail}")

    def saw(self, *values: str | None) -> None:
        """Moments the file mentions date it; a future one (a bad clock) cannot, so is left."""
        for value in values:
            moment = _lenient_time(value)
            if (
                moment is not None
                and moment <= self.now
                and (self.out.newest is None or moment > self.out.newest)
            ):
                self.out.newest = moment


def read_export(source: Path | IO[bytes], *, now: datetime | None = None) -> bulk.ExportRows:
    """The rows of an export ZIP; raises ExportError for anything else."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExportError(f"not a ZIP file: {exc}") from exc
    reader = _Reader(now or datetime.now(UTC))
    out = reader.out
    with archive:
        if not any(n.lower().endswith("messages.csv") for n in archive.namelist()):
            raise ExportError("the ZIP has no Messages.csv: not a network data export")
        _stated_times(archive, out)
        for line, row in _rows(archive, "Users.csv"):
            if (uid := _int(row.get("id"))) is None:
                reader.skip(NO_ID.format(file="Users.csv"), f"Users.csv line {line}", "no id")
                continue
            reader.saw(row.get("joined_at"), row.get("deleted_at"), row.get("suspended_at"))
            out.people.append(
                (uid, row.get("name") or f"User {uid}", (row.get("email") or "").lower() or None,
                 row.get("job_title") or None, row.get("department") or None)
            )  # fmt: skip
        for line, row in _rows(archive, "Groups.csv"):
            if (gid := _int(row.get("id"))) is None:
                reader.skip(NO_ID.format(file="Groups.csv"), f"Groups.csv line {line}", "no id")
                continue
            reader.saw(row.get("created_at"), row.get("updated_at"))
            privacy = GroupPrivacy.PRIVATE if _true(row.get("private")) else GroupPrivacy.PUBLIC
            out.groups.append(
                (
                    gid,
                    row.get("name") or f"Group {gid}",
                    row.get("description") or None,
                    privacy.name,
                )
            )
        for line, row in _rows(archive, "Topics.csv"):
            if (tid := _int(row.get("id"))) is None:
                reader.skip(NO_ID.format(file="Topics.csv"), f"Topics.csv line {line}", "no id")
                continue
            try:
                tag = text.normalise_hashtag(row.get("name") or "")
            except ValueError as exc:
                reader.skip(BAD_TOPIC, f"Topics.csv line {line}", f"topic {tid}: {exc}")
                continue
            reader.saw(row.get("created_at"))
            out.topics.append((tid, tag))
        _read_messages(archive, reader)
    return out


def _read_messages(archive: zipfile.ZipFile, reader: _Reader) -> None:
    """Messages.csv into ``reader.out``: rows that cannot be trusted are skipped and counted.

    A malformed row is skipped and reported with its line, rather than refusing the file: an
    export is many independent messages, and one bad cell says nothing about the rest (the
    project's rule, "nothing lost or half-written", holds per message).  A message is skipped
    whole, every version of it: keeping its other versions would let an older one pass for
    the latest.  Its replies then wait like any reply without its starter (``ORPHAN``).  A
    file the csv module cannot parse at all is refused before anything is written (_rows).
    """
    out = reader.out
    messages: list[bulk.ExportMessage] = []
    bad: dict[int, str] = {}
    direct: set[int] = set()
    required = ("id", "thread_id", "sender_id", "created_at")
    for line, row in _rows(archive, "Messages.csv", required):
        where = f"Messages.csv line {line}"
        mid, thread, sender = (_int(row.get(c)) for c in ("id", "thread_id", "sender_id"))
        if mid is None or thread is None or sender is None:
            reader.skip(MESSAGE_NO_ID, where, "no numeric id, thread_id or sender_id")
            continue
        try:
            created = _time_cell(row, "created_at")
            deleted = _time_cell(row, "deleted_at")
            if created is None:
                raise ValueError("created_at is empty")
        except ValueError as exc:
            if mid not in bad:
                bad[mid] = where
                reader.skip(BAD_TIME, where, f"message {mid} skipped (every version): {exc}")
            continue
        if _true(row.get("in_private_conversation")):
            direct.add(mid)  # direct messages are not campaign content
            continue
        reader.saw(row.get("created_at"), row.get("deleted_at"))
        messages.append(_message(row, mid, thread, sender, created, deleted))
        if row.get("sender_name"):
            out.senders[sender] = (
                row["sender_name"],
                (row.get("sender_email") or "").lower() or None,
            )
        if (gid := _int(row.get("group_id"))) is not None and row.get("group_name"):
            private = _true(row.get("in_private_group"))
            out.group_names.setdefault(gid, (row["group_name"], private))
    out.messages = [m for m in messages if m.external_id not in bad]
    if direct - bad.keys():
        out.skipped[DIRECT] = len(direct - bad.keys())


def _time_cell(row: dict[str, str], column: str) -> datetime | None:
    value = row.get(column) or ""
    try:
        return parse_time(value)
    except ValueError:
        raise ValueError(f"{column} {value.strip()!r} is not a timestamp") from None


def _message(
    row: dict[str, str],
    mid: int,
    thread: int,
    sender: int,
    created: datetime,
    deleted: datetime | None,
) -> bulk.ExportMessage:
    body = row.get("body") or ""
    links = text.normalised_links(body)
    return bulk.ExportMessage(
        external_id=mid,
        thread_external_id=thread,
        replied_to_external_id=_int(row.get("replied_to_id")),
        sender_external_id=sender,
        group_external_id=_int(row.get("group_id")),
        body=body,
        created_at=created,
        deleted_at=deleted,
        message_type=(row.get("message_type") or "update").lower(),
        web_url=row.get("api_url") or None,
        hashtags=tuple(text.hashtags(body)),
        links=tuple(dict.fromkeys(links)),
    )


async def import_export(url: str, source: Path | IO[bytes]) -> ImportStats:
    """Read an export and merge it into the database at ``url`` (one transaction)."""
    started = datetime.now(UTC)
    rows = read_export(source, now=started)
    as_of = described_at(rows, started)
    counts = await bulk.merge_export(url, rows, observed_at=as_of)
    skipped = dict(rows.skipped)
    problems = list(rows.problems)
    if counts.orphans:
        # Like the worker's held replies (jobs.Mirror._ready): not stored without a starter.
        # An export holds what changed in its range, so a new reply to an older thread comes
        # without its starter; importing an earlier export or a sync pass brings the thread.
        skipped[ORPHAN] = sum(counts.orphans.values())
        problems += [
            f"thread {thread}: {n} {'reply' if n == 1 else 'replies'} without the starter"
            for thread, n in list(counts.orphans.items())[: max(MAX_PROBLEMS - len(problems), 5)]
        ]
    return ImportStats(
        users=len(rows.people),
        groups=len(rows.groups),
        topics=len(rows.topics),
        messages=counts.messages,
        deleted=counts.deleted,
        seconds=(datetime.now(UTC) - started).total_seconds(),
        skipped=skipped,
        as_of=as_of,
        newer_in_db=counts.newer_in_db,
        problems=problems,
    )


__all__ = [
    "ExportError",
    "ImportStats",
    "described_at",
    "import_export",
    "parse_time",
    "read_export",
]
