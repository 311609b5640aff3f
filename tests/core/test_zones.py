"""The fixed-offset shortcut gives what the named zone's own rules give, everywhere."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest

from core.zones import local_dates, local_to_utc, steady_offset


def _rules_to_utc(local: pl.Series, timezone: str) -> pl.Series:
    return local.dt.replace_time_zone(timezone, non_existent="null").dt.convert_time_zone("UTC")


def _every_20_minutes(first: datetime, last: datetime) -> pl.Series:
    return pl.datetime_range(first, last, "20m", eager=True).cast(pl.Datetime("us"))


def test_nairobi_keeps_one_offset_since_1942() -> None:
    offset = steady_offset("Africa/Nairobi", datetime(2020, 1, 1), datetime(2026, 12, 1))
    assert offset == timedelta(hours=3)
    # Before 1942 Nairobi was at +2:30 and +2:45: no single offset over that span.
    assert steady_offset("Africa/Nairobi", datetime(1935, 1, 1), datetime(1945, 1, 1)) is None


@pytest.mark.parametrize(
    ("timezone", "first", "last"),
    [
        ("Africa/Nairobi", datetime(2024, 12, 30), datetime(2025, 1, 2)),  # shortcut
        ("Africa/Nairobi", datetime(1939, 12, 25), datetime(1940, 1, 5)),  # +2:30 to +2:45
        ("Europe/London", datetime(2025, 3, 29), datetime(2025, 4, 1)),  # a skipped hour
        ("Europe/London", datetime(2025, 10, 25), datetime(2025, 10, 25, 23)),  # no change
        ("Asia/Kolkata", datetime(2025, 1, 1), datetime(2025, 1, 3)),  # half-hour offset
    ],
)
def test_conversions_match_the_zone_rules(timezone: str, first: datetime, last: datetime) -> None:
    local = _every_20_minutes(first, last)
    utc = local_to_utc(local, timezone)
    assert utc.equals(_rules_to_utc(local, timezone))
    instants = utc.drop_nulls()
    assert local_dates(instants, timezone).equals(instants.dt.convert_time_zone(timezone).dt.date())


def test_skipped_and_repeated_times_are_null_not_an_error() -> None:
    skipped = datetime(2025, 3, 30, 1, 30)  # clocks went from 01:00 to 02:00
    repeated = datetime(2025, 10, 26, 1, 30)  # 01:00-02:00 came twice
    local = pl.Series([skipped, datetime(2025, 3, 30, 2, 30), repeated])
    assert local_to_utc(local, "Europe/London").is_null().to_list() == [True, False, True]


def test_nulls_empty_and_far_years_use_the_rules() -> None:
    empty = pl.Series([], dtype=pl.Datetime("us"))
    assert local_to_utc(empty, "Africa/Nairobi").len() == 0
    assert (
        local_to_utc(pl.Series([None], dtype=pl.Datetime("us")), "Africa/Nairobi").null_count() == 1
    )
    far = pl.Series([datetime(1, 1, 1, 12), datetime(9999, 12, 31, 12)])
    assert local_to_utc(far, "Africa/Nairobi").equals(_rules_to_utc(far, "Africa/Nairobi"))
    instant = pl.Series([datetime(2026, 1, 31, 21, 30)]).dt.replace_time_zone("UTC")
    assert local_dates(instant, "Africa/Nairobi").to_list() == [date(2026, 2, 1)]
