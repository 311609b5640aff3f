"""Named periods: their days on a given today, worked out by hand, and their URL codec."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from core.filters import Filters, from_query_params
from core.presets import PERIODS, period_window
from core.store import Window

D = date.fromisoformat

# (today, period, first day, last day), each written out from a calendar.
CASES = [
    ("2026-12-02", "yesterday", "2026-12-01", "2026-12-01"),
    ("2026-12-02", "last-7-days", "2026-11-25", "2026-12-01"),
    ("2026-12-02", "last-30-days", "2026-11-02", "2026-12-01"),
    ("2026-12-02", "this-month", "2026-12-01", "2026-12-02"),
    ("2026-12-02", "last-month", "2026-11-01", "2026-11-30"),
    ("2026-12-02", "quarter-to-date", "2026-10-01", "2026-12-02"),
    ("2026-12-02", "last-quarter", "2026-07-01", "2026-09-30"),
    ("2026-12-02", "year-to-date", "2026-01-01", "2026-12-02"),
    ("2026-12-02", "last-year", "2025-01-01", "2025-12-31"),
    ("2026-12-02", "last-12-months", "2025-12-03", "2026-12-02"),
    # New Year's Day: every "last" period lies in the year before.
    ("2024-01-01", "yesterday", "2023-12-31", "2023-12-31"),
    ("2024-01-01", "last-7-days", "2023-12-25", "2023-12-31"),
    ("2024-01-01", "this-month", "2024-01-01", "2024-01-01"),
    ("2024-01-01", "last-month", "2023-12-01", "2023-12-31"),
    ("2024-01-01", "quarter-to-date", "2024-01-01", "2024-01-01"),
    ("2024-01-01", "last-quarter", "2023-10-01", "2023-12-31"),
    ("2024-01-01", "last-year", "2023-01-01", "2023-12-31"),
    ("2024-01-01", "last-12-months", "2023-01-02", "2024-01-01"),
    # Leap days.
    ("2024-03-01", "yesterday", "2024-02-29", "2024-02-29"),
    ("2024-03-01", "last-30-days", "2024-01-31", "2024-02-29"),
    ("2024-03-01", "last-month", "2024-02-01", "2024-02-29"),
    ("2024-02-29", "last-12-months", "2023-03-01", "2024-02-29"),
    ("2025-03-31", "last-month", "2025-02-01", "2025-02-28"),
    ("2025-03-31", "last-12-months", "2024-04-01", "2025-03-31"),
    ("2025-04-01", "last-quarter", "2025-01-01", "2025-03-31"),
]


@pytest.mark.parametrize(("today", "period", "first", "last"), CASES)
def test_period_days(today: str, period: str, first: str, last: str) -> None:
    assert period_window(period, D(today)) == Window(D(first), D(last))


@pytest.mark.parametrize("period", PERIODS)
def test_every_period_on_every_day_of_two_years_ends_by_today(period: str) -> None:
    for offset in range(2 * 366):
        today = date(2023, 1, 1) + timedelta(days=offset)
        window = period_window(period, today)
        assert window.start <= window.end <= today, (period, today)
        assert window.end >= today - timedelta(days=366), (period, today)


def test_an_unknown_period_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        period_window("last-fortnight", D("2026-12-02"))


def test_a_period_link_carries_the_period_not_the_dates() -> None:
    parsed = from_query_params({"period": "last-month", "grain": "week"}, today=D("2026-12-02"))
    assert parsed.notices == ()
    assert parsed.filters == Filters(
        start=D("2026-11-01"), end=D("2026-11-30"), grain="week", period="last-month"
    )
    assert parsed.filters.to_query_params() == {"period": "last-month", "grain": "week"}


def test_the_same_link_opened_a_month_later_shows_that_month() -> None:
    link = Filters(start=D("2026-12-01"), end=D("2026-12-02"), period="this-month")
    reopened = from_query_params(link.to_query_params(), today=D("2027-01-15")).filters
    assert (reopened.start, reopened.end) == (D("2027-01-01"), D("2027-01-15"))


def test_fixed_dates_stay_fixed() -> None:
    params = {"start": "2026-11-01", "end": "2026-11-30"}
    parsed = from_query_params(params, today=D("2027-06-01"))
    assert (parsed.filters.start, parsed.filters.end, parsed.filters.period) == (
        D("2026-11-01"),
        D("2026-11-30"),
        None,
    )
    assert parsed.filters.to_query_params() == params


def test_a_period_beside_dates_wins_and_says_so() -> None:
    parsed = from_query_params(
        {"period": "Year-To-Date", "start": "2020-01-01", "end": "not a date"},
        today=D("2026-12-02"),
    )
    assert (parsed.filters.start, parsed.filters.end) == (D("2026-01-01"), D("2026-12-02"))
    assert parsed.filters.period == "year-to-date"
    assert parsed.notices == ("Ignored start and end: period=year-to-date sets the dates.",)


def test_an_unknown_period_is_dropped_with_a_notice_and_the_dates_kept() -> None:
    parsed = from_query_params(
        {"period": "<b>fortnight</b>", "start": "2026-01-01"}, today=D("2026-12-02")
    )
    assert parsed.filters.period is None
    assert parsed.filters.start == D("2026-01-01")
    (notice,) = parsed.notices
    assert notice.startswith("Ignored period='<b>fortnight</b>': expected one of yesterday,")
