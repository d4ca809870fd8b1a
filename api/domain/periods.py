"""Calendar periods in UTC (days, ISO weeks starting Monday, months) covering a range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum

from api.errors import BadUserInput

MAX_PERIODS = 366


class Interval(Enum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


def _start_of(moment: datetime, interval: Interval) -> date:
    day = moment.astimezone(UTC).date()
    if interval is Interval.WEEK:
        return day - timedelta(days=day.weekday())
    if interval is Interval.MONTH:
        return day.replace(day=1)
    return day


def _next(start: date, interval: Interval) -> date:
    if interval is Interval.DAY:
        return start + timedelta(days=1)
    if interval is Interval.WEEK:
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def check_range(since: datetime, until: datetime) -> None:
    if since.tzinfo is None or until.tzinfo is None:
        raise BadUserInput("`since` and `until` need a time zone.", field="since")
    if until < since:
        raise BadUserInput("`until` is before `since`.", field="until")


def periods(
    since: datetime, until: datetime, interval: Interval
) -> list[tuple[date, datetime, datetime]]:
    """(period start, start instant, end instant) for every period overlapping [since, until).

    Raises BadUserInput when ``until`` is before ``since`` or the range spans more than
    366 periods.
    """
    check_range(since, until)
    out: list[tuple[date, datetime, datetime]] = []
    if since == until:  # [since, until) is empty
        return out
    start = _start_of(since, interval)
    while True:
        end = _next(start, interval)
        out.append((start, midnight(start), midnight(end)))
        if midnight(end) >= until:
            break
        if len(out) >= MAX_PERIODS:
            raise BadUserInput(
                f"The range covers more than {MAX_PERIODS} periods; pick a longer interval.",
                field="interval",
            )
        start = end
    return out


@dataclass(frozen=True, slots=True)
class Split:
    """A range as whole UTC days [first, end) and the partial windows at its edges."""

    first: date
    end: date
    edges: list[tuple[datetime, datetime]]

    @property
    def whole(self) -> tuple[datetime, datetime]:
        return midnight(self.first), midnight(self.end)


def split(since: datetime, until: datetime) -> Split | None:
    """None when the range holds no whole UTC day."""
    start, stop = since.astimezone(UTC), until.astimezone(UTC)
    first = start.date() if start == midnight(start.date()) else start.date() + timedelta(days=1)
    end = stop.date()
    if first >= end:
        return None
    edges = []
    if since < midnight(first):
        edges.append((since, midnight(first)))
    if midnight(end) < until:
        edges.append((midnight(end), until))
    return Split(first, end, edges)
