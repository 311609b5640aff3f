"""Comparison windows, worked out on the calendar by hand."""

from __future__ import annotations

from datetime import date

import pytest

from core.periods import comparison_window, previous_window, year_ago_window
from core.store import Window


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        # whole month -> whole previous month (31 days -> 30 days)
        (
            Window(date(2026, 10, 1), date(2026, 10, 31)),
            Window(date(2026, 9, 1), date(2026, 9, 30)),
        ),
        # month to date: 1-25 Nov -> 1-25 Oct
        (
            Window(date(2026, 11, 1), date(2026, 11, 25)),
            Window(date(2026, 10, 1), date(2026, 10, 25)),
        ),
        # March to date past February's end: 1-30 Mar -> all of February (clipped)
        (Window(date(2026, 3, 1), date(2026, 3, 30)), Window(date(2026, 2, 1), date(2026, 2, 28))),
        # whole quarter Q1 -> Q4 of the year before
        (
            Window(date(2026, 1, 1), date(2026, 3, 31)),
            Window(date(2025, 10, 1), date(2025, 12, 31)),
        ),
        # whole year
        (
            Window(date(2025, 1, 1), date(2025, 12, 31)),
            Window(date(2024, 1, 1), date(2024, 12, 31)),
        ),
        # year to date after a leap year: the same calendar days, 1 Jan-30 Jun (not 29 Jun)
        (Window(date(2025, 1, 1), date(2025, 6, 30)), Window(date(2024, 1, 1), date(2024, 6, 30))),
        # ... and into a leap year (not 1 Jul, which is 181 days on)
        (Window(date(2024, 1, 1), date(2024, 6, 30)), Window(date(2023, 1, 1), date(2023, 6, 30))),
        # quarter to date ending on a month's last day: to the last day, 31 August
        (
            Window(date(2024, 10, 1), date(2024, 11, 30)),
            Window(date(2024, 7, 1), date(2024, 8, 31)),
        ),
        (Window(date(2025, 4, 1), date(2025, 5, 31)), Window(date(2025, 1, 1), date(2025, 2, 28))),
        # quarter to date mid-month: the same day three months back
        (
            Window(date(2024, 10, 1), date(2024, 11, 29)),
            Window(date(2024, 7, 1), date(2024, 8, 29)),
        ),
        # one day, even the first of a month, against the day before
        (Window(date(2024, 3, 1), date(2024, 3, 1)), Window(date(2024, 2, 29), date(2024, 2, 29))),
        (
            Window(date(2026, 5, 20), date(2026, 5, 20)),
            Window(date(2026, 5, 19), date(2026, 5, 19)),
        ),
        # any other window: equal length ending the day before (10 days)
        (Window(date(2026, 5, 11), date(2026, 5, 20)), Window(date(2026, 5, 1), date(2026, 5, 10))),
    ],
)
def test_previous_window(window: Window, expected: Window) -> None:
    assert previous_window(window) == expected


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (Window(date(2026, 1, 1), date(2026, 6, 30)), Window(date(2025, 1, 1), date(2025, 6, 30))),
        # the whole of February 2025 against the whole of (leap) February 2024
        (Window(date(2025, 2, 1), date(2025, 2, 28)), Window(date(2024, 2, 1), date(2024, 2, 29))),
        # 29 February has no twin: it becomes the 28th
        (
            Window(date(2024, 2, 10), date(2024, 2, 29)),
            Window(date(2023, 2, 10), date(2023, 2, 28)),
        ),
        # one day at February's end is that day, not the rest of a leap February
        (
            Window(date(2025, 2, 28), date(2025, 2, 28)),
            Window(date(2024, 2, 28), date(2024, 2, 28)),
        ),
        # a window from mid-month to a month's end keeps its days
        (
            Window(date(2025, 2, 15), date(2025, 2, 28)),
            Window(date(2024, 2, 15), date(2024, 2, 28)),
        ),
        # twelve whole months to a February end: the year before ends on the leap 29th
        (Window(date(2024, 3, 1), date(2025, 2, 28)), Window(date(2023, 3, 1), date(2024, 2, 29))),
        # a mid-month end stays mid-month
        (Window(date(2025, 3, 5), date(2025, 3, 20)), Window(date(2024, 3, 5), date(2024, 3, 20))),
    ],
)
def test_year_ago_window(window: Window, expected: Window) -> None:
    assert year_ago_window(window) == expected


def test_no_comparison() -> None:
    assert comparison_window(Window(date(2026, 1, 1), date(2026, 1, 2)), "none") is None
