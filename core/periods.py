"""Comparison windows: previous period and same period last year, like-for-like."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import TYPE_CHECKING

from core.store import Window

if TYPE_CHECKING:  # core.filters reads named periods (core.presets), which use these
    from core.filters import Compare


def shift_year(day: date, years: int) -> date:
    """`day` moved by `years` calendar years; 29 February becomes the 28th."""
    year = day.year + years
    last = calendar.monthrange(year, day.month)[1]
    return day.replace(year=year, day=min(day.day, last))


def unit_start(day: date, unit: str) -> date:
    """The first day of the month, quarter or year (`unit`) holding `day`."""
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


def shift_months(day: date, months: int) -> date:
    """`day` moved by `months` calendar months (back if negative), clipped to the month's end."""
    return _add_months(day, months)


def unit_end(start: date, unit: str) -> date:
    """The last day of the month, quarter or year (`unit`) that begins on `start`."""
    return _unit_end(start, unit)


def is_month_end(day: date) -> bool:
    """Whether `day` is the last day of its month."""
    return day.day == calendar.monthrange(day.year, day.month)[1]


def _months_back(day: date, months: int, to_month_end: bool) -> date:
    """`day` moved back `months` calendar months: to that month's last day when
    `to_month_end`, else to the same day of the month (clipped to its end)."""
    moved = _add_months(day, -months)
    if to_month_end:
        return moved.replace(day=calendar.monthrange(moved.year, moved.month)[1])
    return moved


def previous_window(window: Window) -> Window:
    """The window just before `window`, like-for-like for calendar periods.

    A single day is compared with the day before. A whole month, quarter or
    year is compared with the whole one before it. A period-to-date (longer
    than a day, starting on a month, quarter or year start and ending inside
    it) is compared with the same calendar days of the previous period: 1-25
    November against 1-25 October, 1 January-30 June against the same days a
    year before, 1 October-30 November against 1 July-31 August (an end on a
    month's last day stays on the last day), 1-30 March against all of
    February (clipped to its end). Any other window is compared with the
    window of equal length ending the day before it starts.
    """
    if window.days > 1:
        for unit in ("month", "quarter", "year"):
            start = unit_start(window.start, unit)
            end = _unit_end(start, unit)
            if window.start == start and window.end <= end:
                months = _unit_months(unit)
                previous_start = _add_months(start, -months)
                previous_end = _unit_end(previous_start, unit)
                same_days = _months_back(window.end, months, is_month_end(window.end))
                return Window(previous_start, min(same_days, previous_end))
    end = window.start - timedelta(days=1)
    return Window(end - timedelta(days=window.days - 1), end)


def year_ago_window(window: Window) -> Window:
    """The same calendar days one year earlier (29 February becomes the 28th).

    A window of whole months (starting on a month's first day and ending on a
    month's last day) ends on that month's last day a year earlier, so
    February 2025 is compared with the whole of February 2024; any other
    window keeps its days, so 28 February 2025 alone is compared with 28
    February 2024 alone.
    """
    whole_months = window.start.day == 1 and is_month_end(window.end)
    end = _months_back(window.end, 12, whole_months)
    return Window(shift_year(window.start, -1), end)


def comparison_window(window: Window, compare: Compare) -> Window | None:
    """The window `compare` asks for, or None for `none`."""
    if compare == "previous":
        return previous_window(window)
    if compare == "yoy":
        return year_ago_window(window)
    return None
