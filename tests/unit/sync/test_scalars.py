"""Yammer's scalar quirks (api.sync.scalars): timestamps, 64-bit ids, string booleans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from api.sync.scalars import format_time, parse_bool, parse_id, parse_time

# -- timestamps -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2023/05/16 18:42:34 +0000", datetime(2023, 5, 16, 18, 42, 34, tzinfo=UTC)),
        ("2023/05/16 20:12:34 +0130", datetime(2023, 5, 16, 18, 42, 34, tzinfo=UTC)),
        ("2023/05/16 10:42:34 -0800", datetime(2023, 5, 16, 18, 42, 34, tzinfo=UTC)),
        ("2023/05/17 08:42:34 +1400", datetime(2023, 5, 16, 18, 42, 34, tzinfo=UTC)),
        # The legacy docs promise RFC3339; tolerated when the offset is explicit.
        ("2023-05-16T18:42:34Z", datetime(2023, 5, 16, 18, 42, 34, tzinfo=UTC)),
        ("2023-05-16T19:42:34+01:00", datetime(2023, 5, 16, 18, 42, 34, tzinfo=UTC)),
    ],
)
def test_timestamps_become_aware_utc(raw: str, expected: datetime) -> None:
    parsed = parse_time(raw)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "raw",
    [
        "2023/05/16 18:42:34 +2500",  # no such offset
        "2023/05/16 18:42:34 +0060",  # minutes past 59
        "2023/05/16 18:42:34 -1500",  # beyond -12:00
        "2023/05/16 18:42:34",  # no offset: never assume UTC
        "2023/05/16 18:42:34 UTC",
        "2023/02/30 18:42:34 +0000",
        "2023/05/16 24:42:34 +0000",
        "2023-05-16T18:42:34",  # naive ISO
        "16/05/2023 18:42:34 +0000",
        "",
    ],
)
def test_bad_timestamps_are_rejected(raw: str) -> None:
    with pytest.raises(ValueError, match=r"timestamp|offset|Yammer"):
        parse_time(raw)


def test_a_bad_offset_is_refused_every_time_it_comes_naming_the_timestamp() -> None:
    # Offsets are remembered once parsed: a refused one must be refused again, not remembered.
    for _ in range(2):
        with pytest.raises(ValueError, match=r"invalid UTC offset in '2023/05/16 18:42:34 \+0060'"):
            parse_time("2023/05/16 18:42:34 +0060")
        with pytest.raises(ValueError, match=r"out of range in '2023/05/16 18:42:34 -1500'"):
            parse_time("2023/05/16 18:42:34 -1500")
    assert parse_time("2023/05/16 18:42:34 -0000") == datetime(2023, 5, 16, 18, 42, 34, tzinfo=UTC)


def test_naive_datetimes_and_numbers_are_not_timestamps() -> None:
    with pytest.raises(ValueError, match="offset"):
        parse_time(datetime(2023, 5, 16))
    with pytest.raises(ValueError, match="not a timestamp"):
        parse_time(1684262554)
    moment = datetime(2023, 5, 16, 18, 42, 34, tzinfo=timezone(timedelta(hours=2)))
    assert format_time(moment) == "2023/05/16 16:42:34 +0000"
    assert parse_time(format_time(moment)) == moment


# -- ids and booleans -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (4038774531842049, 4038774531842049),
        ("4038774531842049", 4038774531842049),
        ("9223372036854775807", 2**63 - 1),  # past 2**53: exact only as a string
        (" 42 ", 42),
        (2269815632207872.0, 2269815632207872),
    ],
)
def test_ids_accept_64_bit_ints_and_numeric_strings(raw: object, expected: int) -> None:
    assert parse_id(raw) == expected


@pytest.mark.parametrize(
    "raw", [True, 0, -5, 2**63, "9223372036854775808", "12a", "", "1e5", 1.5, None, [1]]
)
def test_bad_ids_are_rejected(raw: object) -> None:
    with pytest.raises(ValueError, match="id"):
        parse_id(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("false", False),
        ("TRUE", True),
        (" False ", False),
        (True, True),
        (0, False),
    ],
)
def test_string_booleans(raw: object, expected: bool) -> None:
    assert parse_bool(raw) is expected


@pytest.mark.parametrize("raw", ["maybe", "", 2, None])
def test_bad_booleans_are_rejected(raw: object) -> None:
    with pytest.raises(ValueError, match="boolean"):
        parse_bool(raw)
