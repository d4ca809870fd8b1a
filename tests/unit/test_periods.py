"""Calendar periods (api.domain.periods): UTC days, weeks from Monday, months."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from itertools import pairwise

import pytest

from api.domain.periods import MAX_PERIODS, Interval, midnight, periods
from api.errors import BadUserInput

DAY, WEEK, MONTH = Interval.DAY, Interval.WEEK, Interval.MONTH


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def starts(since: datetime, until: datetime, interval: Interval) -> list[date]:
    return [start for start, _, _ in periods(since, until, interval)]


# -- shape ------------------------------------------------------------------------------------


@pytest.mark.parametrize("interval", list(Interval))
def test_periods_are_contiguous_and_cover_the_range(interval: Interval) -> None:
    since, until = at(2024, 11, 13, 15, 30), at(2025, 3, 2, 9)
    result = periods(since, until, interval)
    for (_, _, end), (_, next_start, _) in pairwise(result):
        assert end == next_start
    for day, start, end in result:
        assert start == midnight(day)
        assert start.tzinfo is UTC
        assert end.tzinfo is UTC
        assert start < end
    assert result[0][1] <= since < result[0][2]
    assert result[-1][1] < until <= result[-1][2]


def test_midnight_is_utc() -> None:
    assert midnight(date(2024, 2, 29)) == datetime(2024, 2, 29, tzinfo=UTC)


# -- days -------------------------------------------------------------------------------------


def test_days() -> None:
    assert starts(at(2024, 2, 27, 12), at(2024, 3, 1, 6), DAY) == [
        date(2024, 2, 27),
        date(2024, 2, 28),
        date(2024, 2, 29),
        date(2024, 3, 1),
    ]


def test_a_range_inside_one_day_gives_one_period() -> None:
    assert periods(at(2024, 5, 6, 9), at(2024, 5, 6, 17), DAY) == [
        (date(2024, 5, 6), at(2024, 5, 6), at(2024, 5, 7)),
    ]


def test_a_range_ending_at_midnight_does_not_include_the_next_day() -> None:
    assert starts(at(2024, 5, 6), at(2024, 5, 8), DAY) == [date(2024, 5, 6), date(2024, 5, 7)]
    assert starts(at(2024, 5, 6), at(2024, 5, 8, 0, 1), DAY)[-1] == date(2024, 5, 8)


def test_days_are_utc_days() -> None:
    # 01:30 in Berlin (UTC+1 in winter) on 2 January is 00:30 UTC on 2 January;
    # 00:30 in Berlin on 2 January is 23:30 UTC on 1 January.
    berlin = timezone(timedelta(hours=1))
    assert starts(datetime(2024, 1, 2, 1, 30, tzinfo=berlin), at(2024, 1, 2, 12), DAY) == [
        date(2024, 1, 2)
    ]
    assert starts(datetime(2024, 1, 2, 0, 30, tzinfo=berlin), at(2024, 1, 2, 12), DAY) == [
        date(2024, 1, 1),
        date(2024, 1, 2),
    ]


# -- weeks ------------------------------------------------------------------------------------


def test_weeks_start_on_monday() -> None:
    # Wednesday 13 Nov 2024 .. Tuesday 26 Nov 2024: weeks of 11, 18 and 25 November.
    result = periods(at(2024, 11, 13, 10), at(2024, 11, 26, 10), WEEK)
    assert [start for start, _, _ in result] == [
        date(2024, 11, 11),
        date(2024, 11, 18),
        date(2024, 11, 25),
    ]
    assert all(start.weekday() == 0 for start, _, _ in result)
    assert result[0][2] - result[0][1] == timedelta(days=7)


def test_a_range_inside_one_week_gives_one_period() -> None:
    assert periods(at(2024, 11, 12), at(2024, 11, 17, 23, 59), WEEK) == [
        (date(2024, 11, 11), at(2024, 11, 11), at(2024, 11, 18)),
    ]


def test_a_monday_starts_its_own_week() -> None:
    assert starts(at(2024, 11, 11), at(2024, 11, 18), WEEK) == [date(2024, 11, 11)]
    # A Sunday belongs to the week that began the Monday before.
    assert starts(at(2024, 11, 17, 23), at(2024, 11, 18, 1), WEEK) == [
        date(2024, 11, 11),
        date(2024, 11, 18),
    ]


def test_weeks_across_the_new_year() -> None:
    # 1 January 2025 is a Wednesday; its week starts Monday 30 December 2024.
    assert starts(at(2024, 12, 28), at(2025, 1, 8), WEEK) == [
        date(2024, 12, 23),
        date(2024, 12, 30),
        date(2025, 1, 6),
    ]


def test_weeks_are_utc_weeks() -> None:
    # Monday 09:00 in Auckland (UTC+13) is still Sunday in UTC.
    auckland = timezone(timedelta(hours=13))
    assert starts(datetime(2024, 11, 18, 9, tzinfo=auckland), at(2024, 11, 18, 1), WEEK) == [
        date(2024, 11, 11),
        date(2024, 11, 18),
    ]


# -- months -----------------------------------------------------------------------------------


def test_months() -> None:
    assert periods(at(2024, 1, 15), at(2024, 3, 10), MONTH) == [
        (date(2024, 1, 1), at(2024, 1, 1), at(2024, 2, 1)),
        (date(2024, 2, 1), at(2024, 2, 1), at(2024, 3, 1)),
        (date(2024, 3, 1), at(2024, 3, 1), at(2024, 4, 1)),
    ]


def test_a_range_inside_one_month_gives_one_period() -> None:
    assert periods(at(2024, 5, 2), at(2024, 5, 31, 23), MONTH) == [
        (date(2024, 5, 1), at(2024, 5, 1), at(2024, 6, 1)),
    ]


def test_december_to_january() -> None:
    assert periods(at(2024, 12, 20), at(2025, 1, 5), MONTH) == [
        (date(2024, 12, 1), at(2024, 12, 1), at(2025, 1, 1)),
        (date(2025, 1, 1), at(2025, 1, 1), at(2025, 2, 1)),
    ]


@pytest.mark.parametrize(("year", "days"), [(2023, 28), (2024, 29), (2100, 28), (2000, 29)])
def test_february(year: int, days: int) -> None:
    [(start, begin, end)] = periods(at(year, 2, 10), at(year, 2, 20), MONTH)
    assert start == date(year, 2, 1)
    assert end == at(year, 3, 1)
    assert end - begin == timedelta(days=days)


def test_every_month_of_a_year() -> None:
    result = periods(at(2024, 1, 31), at(2025, 1, 1), MONTH)
    assert [start for start, _, _ in result] == [date(2024, month, 1) for month in range(1, 13)]
    assert sum((end - start).days for _, start, end in result) == 366


def test_months_starting_on_the_31st() -> None:
    assert starts(at(2024, 1, 31, 23), at(2024, 5, 31), MONTH) == [
        date(2024, month, 1) for month in range(1, 6)
    ]


# -- refused ranges ---------------------------------------------------------------------------


@pytest.mark.parametrize("interval", list(Interval))
def test_until_before_since_is_refused(interval: Interval) -> None:
    with pytest.raises(BadUserInput) as info:
        periods(at(2024, 5, 6), at(2024, 5, 5, 23, 59), interval)
    assert info.value.field == "until"
    assert info.value.code == "BAD_USER_INPUT"


def test_at_most_366_periods() -> None:
    # 2024 is a leap year: 366 days is allowed, one more day is refused.
    assert len(periods(at(2024, 1, 1), at(2025, 1, 1), DAY)) == MAX_PERIODS == 366
    with pytest.raises(BadUserInput) as info:
        periods(at(2024, 1, 1), at(2025, 1, 1, 0, 1), DAY)
    assert info.value.field == "interval"


def test_the_limit_counts_periods_not_time() -> None:
    # Five years: too many days, but few enough weeks and months.
    since, until = at(2020, 1, 1), at(2025, 1, 1)
    with pytest.raises(BadUserInput):
        periods(since, until, DAY)
    weeks = periods(since, until, WEEK)
    assert weeks[0][0] == date(2019, 12, 30)
    assert weeks[-1][0] == date(2024, 12, 30)
    assert len(weeks) == 262
    assert len(periods(since, until, MONTH)) == 60
    # Eight years of weeks are too many.
    with pytest.raises(BadUserInput):
        periods(at(2017, 1, 1), until, WEEK)


@pytest.mark.parametrize(
    ("since", "until"),
    [
        (datetime(2024, 5, 6), datetime(2024, 5, 7)),
        (datetime(2024, 5, 6), at(2024, 5, 7)),
        (at(2024, 5, 6), datetime(2024, 5, 7)),
    ],
)
def test_naive_datetimes_are_refused(since: datetime, until: datetime) -> None:
    with pytest.raises(BadUserInput, match="time zone"):
        periods(since, until, DAY)
