"""Overview: headline KPIs with growth, and the trend by grain."""

from __future__ import annotations

from datetime import date

import polars as pl

from core.kpi.catalogue import HEADLINE, add_kpis, growth, store_measures
from core.kpi.view import View
from core.store import MEASURE_DTYPES, Grain, SalesStore, Window
from core.stores.buckets import bucket_start


def _headline_row(store: SalesStore, view: View, window: object) -> pl.DataFrame:
    frame = store.aggregate(view.scope, window, measures=store_measures())  # type: ignore[arg-type]
    return add_kpis(frame).select(HEADLINE)


def _nothing_row() -> pl.DataFrame:
    """The headline of no lines: counts and sums 0, every ratio empty."""
    measures = store_measures()
    zeros = pl.DataFrame([[0] * len(measures)], schema=measures, orient="row")
    return add_kpis(zeros.cast({m: MEASURE_DTYPES[m] for m in measures})).select(HEADLINE)


def overview(store: SalesStore, view: View) -> pl.DataFrame:
    """One row: every headline KPI, plus `<kpi>_prev` and `<kpi>_growth_pct` with a comparison.

    Always one row, with the same columns: where nothing matches (no data in
    an open-ended range) the sums and counts are 0 and every ratio is empty.
    """
    current = _nothing_row() if view.window is None else _headline_row(store, view, view.window)
    if view.compare == "none":
        return current
    previous = (
        _nothing_row() if view.comparison is None else _headline_row(store, view, view.comparison)
    ).rename({k: f"{k}_prev" for k in HEADLINE})
    both = pl.concat([current, previous], how="horizontal")
    return both.with_columns(
        [growth(pl.col(k), pl.col(f"{k}_prev")).alias(f"{k}_growth_pct") for k in HEADLINE]
    )


# The trend the Overview draws and tabulates. Without customer counts, whose distinct
# count per period was the dearest part of its query (a year by month at 10M lines:
# 230-314 ms with every headline measure, 155-208 ms without the customers).
SALES_TREND: tuple[str, ...] = ("net_sales", "gross_profit", "gross_margin_pct", "orders", "aov")


def trend(
    store: SalesStore, view: View, comparison: bool = False, kpis: tuple[str, ...] = HEADLINE
) -> pl.DataFrame:
    """The KPIs `kpis` per time bucket (`period` = bucket start) over the window.

    With `comparison=True`, the same over the comparison window, so pages can
    overlay it (aligned by bucket position). The store is asked only for the
    measures `kpis` need.
    """
    window = view.comparison if comparison else view.window
    if window is None:
        return pl.DataFrame(schema={"period": pl.Date, **{k: pl.Float64 for k in kpis}})
    measures = store_measures(kpis)
    frame = store.aggregate(view.scope, window, grain=view.grain, measures=measures)
    calendar = bucket_calendar(window, view.grain)
    filled = calendar.join(frame, on="period", how="left").with_columns(
        pl.col(m).fill_null(0) for m in measures
    )
    return add_kpis(filled, kpis).select("period", *kpis).sort("period")


def _bucket_of_each_day(window: Window, grain: Grain) -> pl.DataFrame:
    """`period`: the bucket start of every day of `window`, one row per day."""
    days = pl.DataFrame({"day": pl.date_range(window.start, window.end, "1d", eager=True)})
    return days.select(bucket_start(pl.col("day"), grain).alias("period"))


def bucket_calendar(window: Window, grain: Grain) -> pl.DataFrame:
    """Every bucket start from the one holding `window.start` to the one holding its end."""
    return _bucket_of_each_day(window, grain).unique().sort("period")


def partial_periods(window: Window, grain: Grain, today: date | None = None) -> list[date]:
    """The bucket starts of `window`'s buckets that only partly lie inside it.

    A trend's first and last buckets often hold a few days of the window (two
    days of December in an all-data view): charts mark them, so a short
    bucket is not read as a fall in sales. With `today` in the window, today's
    bucket is partial too, even a whole one: today's sales are still coming in.
    """
    buckets = _bucket_of_each_day(window, grain).group_by("period").agg(inside=pl.len())
    length = {
        "day": pl.lit(1),
        "week": pl.lit(7),
        "month": pl.col("period").dt.month_end().dt.day(),
        "quarter": (pl.col("period").dt.offset_by("1q") - pl.col("period")).dt.total_days(),
        "year": (pl.col("period").dt.offset_by("1y") - pl.col("period")).dt.total_days(),
    }[grain]
    partial = set(buckets.filter(pl.col("inside") < length)["period"].to_list())
    if today is not None and window.start <= today <= window.end:
        partial |= set(_bucket_of_each_day(Window(today, today), grain)["period"].to_list())
    return sorted(partial)
