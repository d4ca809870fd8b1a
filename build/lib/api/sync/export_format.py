"""What a network data export holds and what importing it reports (spec §6): the error for
a file that is not one, why rows are left out, its timestamps, and the moment it describes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from api.db.repositories import bulk
from api.sync import scalars


class ExportError(ValueError):
    """The file is not a network export this service can read."""


# Why rows were left out; the keys of ImportStats.skipped.
NO_ID = "{file} rows without a numeric id"
BAD_TOPIC = "topics whose name is not a hashtag"
MESSAGE_NO_ID = "Messages.csv rows without a numeric id, thread_id or sender_id"
BAD_TIME = "messages with a malformed timestamp"
DIRECT = "direct messages (private conversations are not imported)"
ORPHAN = "replies whose thread starter is in neither the export nor the database"
# Line-level details kept for the summary; the counts in ``skipped`` are always complete.
MAX_PROBLEMS = 50
# What an export that mentions no moment at all is taken to describe: older than any read,
# so its rows fill gaps but never overwrite a row the database already has.
LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class ImportStats:
    users: int = 0
    groups: int = 0
    topics: int = 0
    messages: int = 0  # distinct messages in the database after the import (see newer_in_db)
    deleted: int = 0
    seconds: float = 0.0
    skipped: dict[str, int] = field(default_factory=dict)
    # The moment the export's rows describe: what they carry as synced_at.
    as_of: datetime | None = None
    # Messages of the export the database already had from a later read; left as they were.
    newer_in_db: int = 0
    # "Messages.csv line 12: ..." for skipped rows (the first MAX_PROBLEMS), and orphan threads.
    problems: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.users + self.groups + self.topics + self.messages

    def __str__(self) -> str:
        rate = f", {self.rows / self.seconds:,.0f} rows/s" if self.seconds else ""
        as_of = f" as of {self.as_of:%Y-%m-%d %H:%M:%S} UTC" if self.as_of else ""
        newer = (
            f"; {self.newer_in_db} already newer in the database, left as they were"
            if self.newer_in_db
            else ""
        )
        summary = (
            f"{self.messages} messages ({self.deleted} deleted), {self.users} users, "
            f"{self.groups} groups, {self.topics} topics{as_of} in {self.seconds:.1f} s{rate}"
            f"{newer}"
        )
        if self.skipped:
            summary += f"; skipped {sum(self.skipped.values())}:" + "".join(
                f"\n  {count} {reason}" for reason, count in self.skipped.items()
            )
        if self.problems:
            summary += "\nwhere:" + "".join(f"\n  {line}" for line in self.problems)
        return summary


_OFFSET = re.compile(r"\s[+-]\d{2}:?\d{2}$")  # "... 18:42:34 -0700"


def parse_time(value: str) -> datetime | None:
    """An export timestamp in UTC; None for an empty cell, ValueError for anything unreadable.

    The CSVs use ISO-like timestamps (spec §6.3); a timestamp without an offset is UTC.  The
    REST form ``2023/05/16 18:42:34 -0700`` is read with its offset (01:42:34 UTC next day).
    """
    value = (value or "").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" UTC", "+00:00"))
    except ValueError:
        if _OFFSET.search(value):
            return scalars.parse_time(value)  # validates the offset, raises ValueError
        moment = datetime.strptime(value, "%Y/%m/%d %H:%M:%S")
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def described_at(rows: bulk.ExportRows, now: datetime) -> datetime:
    """The moment an export's rows describe, which they then carry as ``synced_at``.

    The export may say when it was taken (log.txt) and where its range ends (request.txt
    ``until``); the earlier of the two is the latest moment its rows can be vouched for
    (changes after the range end may be missing).  The file was taken no earlier than the
    newest moment it mentions, so that is a floor, and the only measure when the export says
    nothing: an edit carries no timestamp, so this errs towards "older", which at worst
    leaves a newer export's edit to the next live read, and never reverts one.  Never later
    than ``now``.  The answer depends on the file, so importing the same export twice writes
    the same rows with the same synced_at twice.
    """
    stated = [t for t in (rows.exported_at, rows.range_end) if t is not None]
    candidates = [t for t in (min(stated) if stated else None, rows.newest) if t is not None]
    return min(max(candidates), now) if candidates else LONG_AGO
