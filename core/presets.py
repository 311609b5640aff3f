"""Named date ranges relative to today ("This month", "Last 7 days") and their URL names.

A link or a scheduled export that names a period (`period=this-month`,
`--period last-month`) keeps its meaning: opened next month, it shows next
month, where the same link written as fixed dates would still show this one.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.periods import shift_year, unit_start
from core.store import Grain, Window

# URL and command-line name -> the label the Period box shows, in the box's order.
PERIODS: dict[str, str] = {
    "yesterday": "Yesterday",
    "last-7-days": "Last 7 days",
    "last-30-days": "Last 30 days",
    "this-month": "This month",
    "last-month": "Last month",
    "quarter-to-date": "Quarter to date",
    "last-quarter": "Last quarter",
    "year-to-date": "Year to date",
    "last-year": "Last year",
    "last-12-months": "Last 12 months",
}
BY_LABEL: dict[str, str] = {label: name for name, label in PERIODS.items()}
# A link's word for every day with data: a page opened without dates opens on
# `opening_period` instead, so "all data" has to be said to be kept.
ALL_DATA_PERIOD = "all"
# The grain a period is shown in when picked: a week by month is one dot, a year by day noise.
GRAINS_OF: dict[str, Grain] = {
    "yesterday": "day",
    "last-7-days": "day",
    "last-30-days": "day",
    "this-month": "day",
    "last-month": "day",
    "quarter-to-date": "week",
    "last-quarter": "week",
    "year-to-date": "month",
    "last-year": "month",
    "last-12-months": "month",
}


def period_window(period: str, today: date) -> Window:
    """The days `period` covers on `today` (a day in the business time zone).

    The "to date" periods and the last 12 months end today. The rolling
    "last 7/30 days" are whole days and end yesterday: on a morning before
    today's sales are in, they compare complete days with complete days.

    Raises
    ------
    KeyError
        If `period` is not one of `PERIODS`.
    """
    yesterday = today - timedelta(days=1)
    if period == "yesterday":
        return Window(yesterday, yesterday)
    if period == "last-7-days":
        return Window(today - timedelta(days=7), yesterday)
    if period == "last-30-days":
        return Window(today - timedelta(days=30), yesterday)
    if period == "this-month":
        return Window(today.replace(day=1), today)
    if period == "last-month":
        end = today.replace(day=1) - timedelta(days=1)
        return Window(end.replace(day=1), end)
    if period == "quarter-to-date":
        return Window(unit_start(today, "quarter"), today)
    if period == "last-quarter":
        end = unit_start(today, "quarter") - timedelta(days=1)
        return Window(unit_start(end, "quarter"), end)
    if period == "year-to-date":
        return Window(today.replace(month=1, day=1), today)
    if period == "last-year":
        return Window(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
    if period == "last-12-months":
        return Window(shift_year(today, -1) + timedelta(days=1), today)
    raise KeyError(period)


def business_today(timezone: str) -> date:
    """Today's date where the business is (`SALES_TIMEZONE`), not where the server is."""
    return datetime.now(ZoneInfo(timezone)).date()


# What a page opened without dates shows, in order of preference: the month so far if it
# has sales, else last month; each compared like-for-like with the period before.
OPENING_PERIODS: tuple[str, ...] = ("this-month", "last-month")


def opening_period(recorded: Window | None, today: date) -> str | None:
    """The period a link without dates opens on: the first of `OPENING_PERIODS` that
    holds a recorded sale (`recorded`: the first and last day with sales), else None
    (every day with data).

    A manager opening the dashboard in the morning sees the month so far against the
    same days of last month; on the 1st, before a sale, last month against the one before.
    """
    for period in OPENING_PERIODS:
        if recorded is not None and recorded.overlaps(period_window(period, today)):
            return period
    return None
