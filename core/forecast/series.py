"""Daily net sales per branch and for the whole business: what the models learn from."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from core.store import SalesStore, Scope, Window

# The name of the whole business's series, beside each branch's.
TOTAL = "All branches"
# Three years of days: two whole yearly cycles and a third to test on, and a bound on
# how long a fit takes (an ETS fit grows with the series' length).
MAX_HISTORY_DAYS = 3 * 365 + 1
# Fewer days than four weeks give a weekly model too few cycles to learn from.
MIN_HISTORY_DAYS = 28

SERIES_SCHEMA = {"unique_id": pl.String(), "ds": pl.Date(), "y": pl.Float64()}


def history_end(window_end: date, today: date | None) -> date:
    """The last whole day a forecast learns from: the window's end, or yesterday when the
    window reaches today (today's sales are still coming in)."""
    if today is not None and window_end >= today:
        return today - timedelta(days=1)
    return window_end


def daily_sales(store: SalesStore, scope: Scope, end: date) -> pl.DataFrame:
    """`unique_id` (a branch, or `TOTAL`), `ds` (a business day), `y` (net sales), sorted.

    Every day from a branch's first sale (at most `MAX_HISTORY_DAYS` before `end`) to
    `end` is listed, a day without sales as 0; the total's series is the sum of the
    branches' on every day. `scope` is the view's, with the user's branch restriction,
    so a restricted user's forecast learns from its own branches only. Empty when the
    scope has no sale up to `end`.
    """
    earliest = end - timedelta(days=MAX_HISTORY_DAYS - 1)
    found = store.date_range(scope)
    if found is None or found.start > end:
        return pl.DataFrame(schema=SERIES_SCHEMA)
    window = Window(max(found.start, earliest), end)
    frame = store.aggregate(scope, window, by=("branch",), grain="day", measures=("net_sales",))
    if frame.is_empty():
        return pl.DataFrame(schema=SERIES_SCHEMA)
    days = pl.DataFrame({"ds": pl.date_range(window.start, window.end, "1d", eager=True)})
    firsts = frame.group_by("branch").agg(first=pl.col("period").min())
    grid = (
        firsts.join(days, how="cross")
        .filter(pl.col("ds") >= pl.col("first"))
        .join(frame.select("branch", ds="period", y="net_sales"), on=["branch", "ds"], how="left")
        .select(unique_id="branch", ds="ds", y=pl.col("y").fill_null(0.0))
    )
    total = (
        grid.group_by("ds").agg(pl.col("y").sum()).select(unique_id=pl.lit(TOTAL), ds="ds", y="y")
    )
    return pl.concat([grid, total]).cast(SERIES_SCHEMA).sort("unique_id", "ds")  # type: ignore[arg-type]


def long_enough(series: pl.DataFrame, minimum: int = MIN_HISTORY_DAYS) -> pl.DataFrame:
    """The series with at least `minimum` days: the rest cannot be forecast honestly."""
    counts = series.group_by("unique_id").agg(n=pl.len())
    keep = counts.filter(pl.col("n") >= minimum)["unique_id"]
    return series.filter(pl.col("unique_id").is_in(keep.implode()))
