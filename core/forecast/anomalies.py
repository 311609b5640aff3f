"""Branch-days whose net sales fell outside the 95% interval of a one-step forecast.

Each day of the view (its last `MAX_DAYS`) is judged against the forecast the
model would have made the evening before, from the days before it
(`core.forecast.models.one_step`). About one day in twenty falls outside a 95%
interval by chance alone, so a flag says "look at this day", not "something
broke"; a run of flags, or one far outside, is the signal.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from core.forecast import models
from core.forecast.series import MIN_HISTORY_DAYS, TOTAL, daily_sales, history_end
from core.kpi.view import View
from core.store import SalesStore

# A quarter of days judged at most: each judged day is one update of every branch's
# model, and a flag older than a quarter is history, not news.
MAX_DAYS = 92
SCHEMA = {
    "branch": pl.String(),
    "day": pl.Date(),
    "net_sales": pl.Float64(),
    "expected": pl.Float64(),
    "lo_95": pl.Float64(),
    "hi_95": pl.Float64(),
}


def flag(series: pl.DataFrame, days: int) -> pl.DataFrame:
    """The days among the last `days` of each daily series outside its one-step 95% interval.

    Parameters
    ----------
    series
        `unique_id` (a branch), `ds`, `y`, every day listed; the whole business's
        series (`TOTAL`) is left out: a branch-day is what a manager can act on.
    days
        How many of the last days to judge. A series needs `MIN_HISTORY_DAYS`
        days before them to learn from, or it is left out.

    Returns
    -------
    pl.DataFrame
        `branch`, `day`, `net_sales`, `expected` (the forecast), `lo_95`, `hi_95`,
        by day then branch.
    """
    branches = series.filter(pl.col("unique_id") != TOTAL)
    counts = branches.group_by("unique_id").agg(n=pl.len())
    keep = counts.filter(pl.col("n") >= days + MIN_HISTORY_DAYS)["unique_id"]
    usable = branches.filter(pl.col("unique_id").is_in(keep.implode()))
    if days < 1 or usable.is_empty():
        return pl.DataFrame(schema=SCHEMA)
    judged = models.one_step(usable, days)
    outside = judged.filter(~pl.col("y").is_between(pl.col("lo_95"), pl.col("hi_95")))
    return (
        outside.select(
            branch="unique_id",
            day="ds",
            net_sales="y",
            expected="forecast",
            lo_95="lo_95",
            hi_95="hi_95",
        )
        .cast(SCHEMA)  # type: ignore[arg-type]
        .sort("day", "branch")
    )


def anomalies(store: SalesStore, view: View, *, today: date | None = None) -> pl.DataFrame:
    """The flagged branch-days of the view's window (its last `MAX_DAYS` up to yesterday
    when it reaches `today`), within the view's scope and the user's branches."""
    if view.window is None:
        return pl.DataFrame(schema=SCHEMA)
    end = history_end(view.window.end, today)
    if end < view.window.start:
        return pl.DataFrame(schema=SCHEMA)
    days = min(MAX_DAYS, (end - view.window.start).days + 1)
    series = daily_sales(store, view.scope, end)
    return flag(series, days).filter(pl.col("day") >= end - timedelta(days=days - 1))
