"""The page's line of dates: what window, against what, and whether today is still running."""

from __future__ import annotations

from datetime import date

from core.filters import Filters
from core.store import Window
from ui.page import window_caption

TODAY = date(2026, 12, 2)
RECORDED = Window(date(2023, 12, 3), TODAY)


def test_all_data_ending_today_says_so_beside_its_days_not_after_the_missing_growth() -> None:
    caption, compared = window_caption(
        Filters(), RECORDED, Window(date(2020, 12, 3), date(2023, 12, 2)), RECORDED, TODAY
    )
    assert caption == (
        "All data: 03 Dec 2023 to 02 Dec 2026 (today is still in progress) · compared with "
        "03 Dec 2020 to 02 Dec 2023, when no sales were recorded: no growth to show"
    )
    assert compared is False


def test_a_period_ending_today_sets_today_so_far_against_a_whole_day() -> None:
    month = Window(date(2026, 12, 1), TODAY)
    caption, compared = window_caption(
        Filters(period="this-month"),
        month,
        Window(date(2026, 11, 29), date(2026, 11, 30)),
        RECORDED,
        TODAY,
    )
    assert caption == (
        "This month: 01 Dec 2026 to 02 Dec 2026 · compared with 29 Nov 2026 to 30 Nov 2026 "
        "(today is still in progress: its sales so far against a whole day)"
    )
    assert compared is True
    alone, compared = window_caption(Filters(period="this-month"), month, None, RECORDED, TODAY)
    assert alone == "This month: 01 Dec 2026 to 02 Dec 2026 (today is still in progress)"
    assert compared is True  # no comparison: nothing is missing


def test_fixed_dates_in_the_past_say_nothing_of_today() -> None:
    june = Window(date(2026, 6, 1), date(2026, 6, 30))
    caption, _ = window_caption(
        Filters(start=june.start, end=june.end), june, None, RECORDED, TODAY
    )
    assert caption == "01 Jun 2026 to 30 Jun 2026"
