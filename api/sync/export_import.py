"""Loading a network data export (ZIP of CSVs, spec §6) without spending the rate budget.

The CSVs are read as a stream, turned into rows here (pure Python: hashtags, links, kinds,
exactly as the ingest path does), and handed to ``api.db.repositories.bulk`` which COPYs
them into staging tables and merges them in one transaction.  Importing the same file twice
changes nothing the second time.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from api.analytics import text
from api.db.enums import GroupPrivacy
from api.db.repositories import bulk

csv.field_size_limit(16 * 1024 * 1024)  # message bodies can be long


class ExportError(ValueError):
    """The file is not a network export this service can read."""


@dataclass
class ImportStats:
    users: int = 0
    groups: int = 0
    topics: int = 0
    messages: int = 0
    deleted: int = 0
    seconds: float = 0.0
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.users + self.groups + self.topics + self.messages

    def __str__(self) -> str:
        rate = f", {self.rows / self.seconds:,.0f} rows/s" if self.seconds else ""
        skipped = f", skipped {self.skipped}" if self.skipped else ""
        return (
            f"{self.messages} messages ({self.deleted} deleted), {self.users} users, "
            f"{self.groups} groups, {self.topics} topics in {self.seconds:.1f} s{rate}{skipped}"
        )


def parse_time(value: str) -> datetime | None:
    """Export timestamps are ISO-like; with no offset they are UTC (spec §6.3)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" UTC", "+00:00"))
    except ValueError:
        moment = datetime.strptime(value[:19], "%Y/%m/%d %H:%M:%S")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")


def _rows(archive: zipfile.ZipFile, name: str) -> Iterator[dict[str, str]]:
    member = next(
        (n for n in archive.namelist() if n.rsplit("/", 1)[-1].lower() == name.lower()), None
    )
    if member is None:
        return
    with archive.open(member) as raw:
        reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
        yield from reader


def read_export(source: Path | IO[bytes]) -> bulk.ExportRows:
    """The rows of an export ZIP; raises ExportError for anything else."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExportError(f"not a ZIP file: {exc}") from exc
    with archive:
        if not any(n.lower().endswith("messages.csv") for n in archive.namelist()):
            raise ExportError("the ZIP has no Messages.csv: not a network data export")
        out = bulk.ExportRows()
        for row in _rows(archive, "Users.csv"):
            if (uid := _int(row.get("id"))) is None:
                out.skipped["users"] = out.skipped.get("users", 0) + 1
                continue
            out.people.append(
                (uid, row.get("name") or f"User {uid}", (row.get("email") or "").lower() or None,
                 row.get("job_title") or None, row.get("department") or None)
            )  # fmt: skip
        for row in _rows(archive, "Groups.csv"):
            if (gid := _int(row.get("id"))) is None:
                out.skipped["groups"] = out.skipped.get("groups", 0) + 1
                continue
            privacy = GroupPrivacy.PRIVATE if _true(row.get("private")) else GroupPrivacy.PUBLIC
            out.groups.append(
                (
                    gid,
                    row.get("name") or f"Group {gid}",
                    row.get("description") or None,
                    privacy.name,
                )
            )
        for row in _rows(archive, "Topics.csv"):
            try:
                out.topics.append((int(row["id"]), text.normalise_hashtag(row.get("name") or "")))
            except (KeyError, ValueError):
                out.skipped["topics"] = out.skipped.get("topics", 0) + 1
        for row in _rows(archive, "Messages.csv"):
            message = _message(row)
            if message is None:
                out.skipped["messages"] = out.skipped.get("messages", 0) + 1
                continue
            out.messages.append(message)
            if (sender := _int(row.get("sender_id"))) is not None and row.get("sender_name"):
                out.senders[sender] = (
                    row["sender_name"],
                    (row.get("sender_email") or "").lower() or None,
                )
            if (gid := _int(row.get("group_id"))) is not None and row.get("group_name"):
                private = _true(row.get("in_private_group"))
                out.group_names.setdefault(gid, (row["group_name"], private))
    return out


def _message(row: dict[str, str]) -> bulk.ExportMessage | None:
    mid, thread, sender = (
        _int(row.get("id")),
        _int(row.get("thread_id")),
        _int(row.get("sender_id")),
    )
    created = parse_time(row.get("created_at", ""))
    if mid is None or thread is None or sender is None or created is None:
        return None
    if _true(row.get("in_private_conversation")):
        return None  # direct messages are not campaign content
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
        deleted_at=parse_time(row.get("deleted_at", "")),
        message_type=(row.get("message_type") or "update").lower(),
        web_url=row.get("api_url") or None,
        hashtags=tuple(text.hashtags(body)),
        links=tuple(dict.fromkeys(links)),
    )


async def import_export(url: str, source: Path | IO[bytes]) -> ImportStats:
    """Read an export and merge it into the database at ``url`` (one transaction)."""
    started = datetime.now(UTC)
    rows = read_export(source)
    counts = await bulk.merge_export(url, rows, observed_at=started)
    return ImportStats(
        users=len(rows.people),
        groups=len(rows.groups),
        topics=len(rows.topics),
        messages=len(rows.messages),
        deleted=counts.get("deleted", 0),
        seconds=(datetime.now(UTC) - started).total_seconds(),
        skipped=rows.skipped,
    )


__all__ = ["ExportError", "ImportStats", "import_export", "read_export"]
