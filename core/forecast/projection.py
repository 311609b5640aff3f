"""Where sales will land: the rest of the month and the next months, daily and monthly.

The daily rows are the model's forecasts with its 80% and 95% intervals. A
month's row is its projected total: the sales already made in it plus the sum
of its remaining days' forecasts. Its interval comes from simulation, not from
adding up the days' intervals: the model draws `PATHS` futures of every day,
each month's total is taken along each future, and the interval is the spread
of those totals. Adding the days' interval ends would treat every day as going
as badly as it can at once (far too wide); treating the days as independent
would ignore that the model carries a bad day into the next (too narrow).
docs/forecast.md has the backtest of both the days and the months.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from core.forecast import models
from core.forecast.series import TOTAL, daily_sales, history_end, long_enough
from core.kpi.view import View
from core.presets import business_today
from core.settings import load_settings
from core.store import SalesStore, Scope

# "The next 1-6 months": the default shows the farthest, the CLI may ask fewer.
MONTHS = 6
MAX_MONTHS = 6
# Futures drawn per series. Drawing is most of a forecast's cost (statsforecast draws
# one path per call): on six branches and the total, 300 paths take 2.4 s and 1,000
# take 7 s. Across seeds the 95% bounds of a month's total move by a median 3.2% of
# the interval's width at 300 paths and 1.8% at 1,000; the seed is fixed, so a page
# shows the same bounds on every visit.
PATHS = 300
SEED = 7
# The columns of the `forecast` export, in order.
COLUMNS = ("branch", "period", "forecast", "lo_80", "hi_80", "lo_95", "hi_95")
SCHEMA = {
    "branch": pl.String(),
    "period": pl.Date(),
    **{c: pl.Float64() for c in COLUMNS[2:]},
}
# Quantiles of the simulated totals that bound each interval.
QUANTILES = {"lo_95": 0.025, "lo_80": 0.10, "hi_80": 0.90, "hi_95": 0.975}
# Days of history kept beside the forecast, for the chart that draws both.
RECENT_DAYS = 91
RECENT_SCHEMA = {"branch": pl.String(), "period": pl.Date(), "net_sales": pl.Float64()}


@dataclass(frozen=True)
class Forecast:
    """A view's forecast: the days and the months after its history's last day."""

    history_end: date | None  # None: nothing to forecast from
    daily: pl.DataFrame  # COLUMNS, `period` a day
    monthly: pl.DataFrame  # COLUMNS, `period` a month's first day, with sales made in it
    month_to_date: pl.DataFrame  # branch, net_sales: the first month's sales up to history_end
    recent: pl.DataFrame  # branch, period, net_sales: the last `RECENT_DAYS` days learnt from

    def table(self, grain: str) -> pl.DataFrame:
        """The daily rows for the day grain, the monthly rows for any other."""
        return self.daily if grain == "day" else self.monthly


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def horizon_days(end: date, months: int) -> list[date]:
    """Every day after `end` to the last day of the `months`-th month after `end`'s."""
    last = add_months(end, months + 1) - timedelta(days=1)
    return pl.date_range(end + timedelta(days=1), last, "1d", eager=True).to_list()


def empty(end: date | None = None) -> Forecast:
    table = pl.DataFrame(schema=SCHEMA)
    mtd = pl.DataFrame(schema={"branch": pl.String(), "net_sales": pl.Float64()})
    return Forecast(end, table, table, mtd, pl.DataFrame(schema=RECENT_SCHEMA))


def forecast_series(series: pl.DataFrame, end: date, months: int = MONTHS) -> Forecast:
    """The forecast of daily `series` (`unique_id`, `ds`, `y`) ending on `end`.

    Series shorter than `core.forecast.series.MIN_HISTORY_DAYS` are left out.
    """
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"months must be 1 to {MAX_MONTHS}, got {months}")
    usable = long_enough(series)
    if usable.is_empty():
        return empty(end)
    days = horizon_days(end, months)
    branches = [b for b in usable["unique_id"].unique().to_list() if b != TOTAL]
    # One branch is the whole business: its model is fitted once and listed under both.
    alone = branches[0] if len(branches) == 1 else None
    fitted = usable.filter(pl.col("unique_id") != alone) if alone else usable
    projection = models.project(fitted, len(days), PATHS, SEED)
    if alone:
        projection.paths[alone] = projection.paths[TOTAL]
        projection = models.Projection(
            pl.concat([projection.daily, projection.daily.with_columns(unique_id=pl.lit(alone))]),
            projection.paths,
        )
    daily = projection.daily.rename({"unique_id": "branch", "ds": "period"}).select(COLUMNS)
    first_month = month_start(days[0])
    mtd = (
        usable.filter(pl.col("ds") >= first_month)
        .group_by("unique_id")
        .agg(net_sales=pl.col("y").sum())
        .rename({"unique_id": "branch"})
    )
    made = dict(zip(mtd["branch"], mtd["net_sales"], strict=True))
    month_of_day = np.array([(d.year - days[0].year) * 12 + d.month - days[0].month for d in days])
    n_months = int(month_of_day.max()) + 1
    periods = [add_months(first_month, k) for k in range(n_months)]
    rows = []
    for branch, future in projection.paths.items():
        points = daily.filter(pl.col("branch") == branch)["forecast"].to_numpy()
        already = np.zeros(n_months)
        already[0] = made.get(branch, 0.0)
        point_totals = np.bincount(month_of_day, weights=points, minlength=n_months) + already
        path_totals = (
            np.stack(
                [np.bincount(month_of_day, weights=path, minlength=n_months) for path in future]
            )
            + already
        )
        bounds = {name: np.quantile(path_totals, q, axis=0) for name, q in QUANTILES.items()}
        for k, period in enumerate(periods):
            rows.append(
                {
                    "branch": branch,
                    "period": period,
                    "forecast": float(point_totals[k]),
                    **{name: float(values[k]) for name, values in bounds.items()},
                }
            )
    monthly = pl.DataFrame(rows, schema=SCHEMA).select(COLUMNS)
    recent = (
        usable.filter(pl.col("ds") > end - timedelta(days=RECENT_DAYS))
        .rename({"unique_id": "branch", "ds": "period", "y": "net_sales"})
        .cast(RECENT_SCHEMA)  # type: ignore[arg-type]
        .sort("branch", "period")
    )
    return Forecast(
        end, _ordered(daily), _ordered(monthly), mtd.select("branch", "net_sales"), recent
    )


def _ordered(table: pl.DataFrame) -> pl.DataFrame:
    """Branches by name, the whole business last; periods in order."""
    return table.sort(pl.col("branch") == TOTAL, "branch", "period")


def forecast(
    store: SalesStore,
    view: View,
    *,
    months: int = MONTHS,
    today: date | None = None,
    per_branch: bool = True,
) -> Forecast:
    """The forecast of net sales per branch and in total, from the view's scope.

    Parameters
    ----------
    store
        The store to read.
    view
        Its scope (members and the user's branch restriction) decides which sales
        the models learn from; its window's end is the last day they learn from.
    months
        How many whole months after the rest of the current one (1-6).
    today
        The business day; a window that reaches it learns up to yesterday, since
        today's sales are still coming in. None: up to the window's end.
    per_branch
        False: the whole business alone (one fit instead of one per branch and the
        total, with the same figures for the total).
    """
    if view.window is None:
        return empty()
    end = history_end(view.window.end, today)
    return forecast_through(store, view.scope, end, months=months, per_branch=per_branch)


def forecast_through(
    store: SalesStore, scope: Scope, end: date, *, months: int = MONTHS, per_branch: bool = True
) -> Forecast:
    """`forecast` learnt from `scope`'s sales up to `end`: all that a view's forecast
    depends on, so the views that share both (this month, this quarter, the last 7
    days, all ending today) share one fit."""
    series = daily_sales(store, scope, end)
    if not per_branch:
        series = series.filter(pl.col("unique_id") == TOTAL)
    return forecast_series(series, end, months)


def forecast_table(store: SalesStore, view: View) -> pl.DataFrame:
    """The `forecast` export: daily rows at the day grain, monthly rows otherwise.

    Learns up to the window's end, or up to yesterday when the window reaches
    today in `SALES_TIMEZONE`: the same table as `python -m core.forecast`.
    """
    today = business_today(load_settings().timezone)
    return forecast(store, view, today=today).table(view.grain)
