"""Comparison windows: previous period and same period last year, like-for-like."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from core.filters import Compare
from core.store import Window


def _shift_year(day: date, years: int) -> date:
    year = day.year + years
    last = calendar.monthrange(year, day.month)[1]
    return day.replace(year=year, day=min(day.day, last))


def _unit_start(day: date, unit: str) -> date:
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)
    return day.replace(month=1, day=1)


def _unit_months(unit: str) -> int:
    return {"month": 1, "quarter": 3, "year": 12}[unit]


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _unit_end(start: date, unit: str) -> date:
    return _add_months(start, _unit_months(unit)) - timedelta(days=1)


def previous_window(window: Window) -> Window:
    """The window just before `window`, like-for-like for calendar periods.

    A whole month, quarter or year is compared with the whole one before it.
    A period-to-date (starting on a month, quarter or year start and ending
    inside it) is compared with the same number of days from the start of the
    previous period (clipped to that period's end): 1-25 November against 1-25
    October. Any other window is compared with the window of equal length
    ending the day before it starts.
    """
    for unit in ("month", "quarter", "year"):
        start = _unit_start(window.start, unit)
        end = _unit_end(start, unit)
        if window.start == start and window.end <= end:
            previous_start = _add_months(start, -_unit_months(unit))
            previous_end = _unit_end(previous_start, unit)
            if window.end == end:
                return Window(previous_start, previous_end)
            same_days = previous_start + timedelta(days=window.days - 1)
            return Window(previous_start, min(same_days, previous_end))
    end = window.start - timedelta(days=1)
    return Window(end - timedelta(days=window.days - 1), end)


def year_ago_window(window: Window) -> Window:
    """The same calendar days one year earlier (29 February becomes the 28th).

    A window ending on a month's last day ends on that month's last day a year
    earlier, so February 2025 is compared with the whole of February 2024.
    """
    end = _shift_year(window.end, -1)
    if window.end.day == calendar.monthrange(window.end.year, window.end.month)[1]:
        end = end.replace(day=calendar.monthrange(end.year, end.month)[1])
    return Window(_shift_year(window.start, -1), end)


def comparison_window(window: Window, compare: Compare) -> Window | None:
    """The window `compare` asks for, or None for `none`."""
    if compare == "previous":
        return previous_window(window)
    if compare == "yoy":
        return year_ago_window(window)
    return None
