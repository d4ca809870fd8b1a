"""Yammer's id and timestamp formats.

Ids are snowflake-like: a timestamp shifted left plus a sequence, so they are 64-bit integers
that grow with creation time (messages about 16 digits, users 13, groups 12, as in the
reference's captures) and stay below 2**53 for decades.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

EPOCH = datetime(2010, 1, 1, tzinfo=UTC)

# (timestamp unit in seconds, left shift): picked to land in the digit counts Yammer shows.
ID_SCALES: dict[str, tuple[float, int]] = {
    "message": (0.001, 12),  # ~2.2e15 in 2026
    "user": (1.0, 12),  # ~2.2e12
    "group": (1.0, 8),  # ~1.4e11
    "topic": (100.0, 0),  # ~5.3e6, like the reference's topic 5012399
    "tag": (10.0, 0),  # a different id space from topics, as the 2011 fixture shows
}


@dataclass
class IdMint:
    """Hands out unique ids per kind that grow with the creation time given."""

    used: dict[str, set[int]] = field(default_factory=dict)

    def mint(self, kind: str, at: datetime) -> int:
        unit, shift = ID_SCALES[kind]
        ticks = max(int((at - EPOCH).total_seconds() / unit), 1)
        candidate = ticks << shift
        taken = self.used.setdefault(kind, set())
        # Same tick: step within the sequence bits (or just +1 for unshifted kinds).
        while candidate in taken:
            candidate += 1
        taken.add(candidate)
        return candidate


def yammer_time(moment: datetime | None) -> str | None:
    """REST timestamps: ``2023/05/16 18:42:34 +0000`` (not ISO-8601)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y/%m/%d %H:%M:%S +0000")


def export_time(moment: datetime | None) -> str:
    """Export CSV timestamps are ISO-like: ``2023-05-16T18:42:34Z``; empty when absent."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> datetime:
    """Parse the export's ``since``/``until`` (ISO-8601; naive means UTC)."""
    text = value.strip().replace("Z", "+00:00")
    if "T" in text:
        # An unencoded "+00:00" in a query string arrives as " 00:00".
        text = text.replace(" ", "+")
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
