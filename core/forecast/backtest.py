"""Rolling-origin backtest of the model against seasonal naive: MAPE, MASE, coverage.

Each origin (cutoff) fits both models on the days up to it and forecasts the
next `horizon` days; the origins step forward by the horizon, so every day of
the last `windows` x `horizon` days is forecast once, from the days before its
window (statsforecast's `cross_validation`). MASE divides each window's mean
absolute error by the mean absolute change from one season to the next over
the days before the origin: below 1 beats the in-sample seasonal-naive step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from core.forecast import models
from core.forecast.series import daily_sales
from core.store import SalesStore, Scope

# Four weeks ahead from each origin, six origins: half a year of days forecast,
# each at a lead of one to 28 days (a month's rest is at most 30).
HORIZON = 28
WINDOWS = 6
MONTHLY_HORIZON = 12  # AirPassengers: a year ahead...
MONTHLY_WINDOWS = 3  # ...from each of its last three years' starts


@dataclass(frozen=True)
class Score:
    """One model's accuracy on one data set."""

    data: str
    model: str
    mape_pct: float
    mase: float
    coverage_80: float
    coverage_95: float


def cross_validate(
    series: pl.DataFrame,
    season: int,
    horizon: int,
    windows: int,
    freq: str = "1d",
    forms: str = models.DAILY_FORMS,
) -> pl.DataFrame:
    """`unique_id`, `ds`, `cutoff`, `y`, and per model its forecast and interval ends."""
    engine = models.engine([models.model(season, forms), models.baseline(season)], freq)
    result: pl.DataFrame = engine.cross_validation(
        df=series,
        h=horizon,
        step_size=horizon,
        n_windows=windows,
        level=list(models.LEVELS),
    )
    return result


def _scales(series: pl.DataFrame, cutoffs: pl.DataFrame, season: int) -> pl.DataFrame:
    """Per series and cutoff: the mean absolute seasonal change up to the cutoff."""
    changes = series.sort("ds").with_columns(
        change=(pl.col("y") - pl.col("y").shift(season).over("unique_id")).abs()
    )
    return (
        cutoffs.join(changes, on="unique_id")
        .filter(pl.col("ds") <= pl.col("cutoff"))
        .group_by("unique_id", "cutoff")
        .agg(scale=pl.col("change").mean())
    )


def scores(cv: pl.DataFrame, series: pl.DataFrame, season: int, data: str) -> list[Score]:
    """MAPE (days with non-zero sales), MASE and interval coverage of both models."""
    cutoffs = cv.select("unique_id", "cutoff").unique()
    scaled = cv.join(_scales(series, cutoffs, season), on=["unique_id", "cutoff"])
    found = []
    for name in (models.MODEL, models.BASELINE):
        error = (pl.col("y") - pl.col(name)).abs()
        row = scaled.select(
            mape=(error / pl.col("y").abs()).filter(pl.col("y") != 0).mean() * 100,
            mase=(error / pl.col("scale")).mean(),
            **{
                f"coverage_{level}": pl.col("y")
                .is_between(pl.col(f"{name}-lo-{level}"), pl.col(f"{name}-hi-{level}"))
                .mean()
                for level in models.LEVELS
            },
        ).row(0, named=True)
        found.append(
            Score(
                data,
                name,
                float(row["mape"]),
                float(row["mase"]),
                float(row["coverage_80"]),
                float(row["coverage_95"]),
            )
        )
    return found


def backtest_series(
    series: pl.DataFrame, data: str, horizon: int = HORIZON, windows: int = WINDOWS
) -> list[Score]:
    """The backtest of daily `series` (`unique_id`, `ds`, `y`) with a weekly season."""
    cv = cross_validate(series, models.WEEK, horizon, windows)
    return scores(cv, series, models.WEEK, data)


def store_series(store: SalesStore) -> pl.DataFrame:
    """Every branch's and the total's daily net sales in `store`, to its last day."""
    found = store.date_range(Scope())
    if found is None:
        raise ValueError("the store holds no sales to backtest")
    return daily_sales(store, Scope(), found.end)


def backtest_store(
    store: SalesStore, data: str = "store", horizon: int = HORIZON, windows: int = WINDOWS
) -> list[Score]:
    """The backtest of every branch's and the total's daily net sales in `store`."""
    return backtest_series(store_series(store), data, horizon, windows)


@dataclass(frozen=True)
class MonthScore:
    """How the month totals' intervals fared: the share of month totals inside them."""

    data: str
    months: int  # month totals judged (series x origins)
    mape_pct: float
    coverage_80: float
    coverage_95: float


def month_totals(series: pl.DataFrame, data: str, origins: int = WINDOWS) -> MonthScore:
    """Forecast the next whole month from each of the last `origins` month ends (the
    month before the last one back), and score its total and its simulated interval."""
    from core.forecast.projection import add_months, forecast_series

    last = series["ds"].max()
    assert isinstance(last, date)
    ends = [add_months(last, -k) - timedelta(days=1) for k in range(origins, 0, -1)]
    judged = []
    for end in ends:
        history = series.filter(pl.col("ds") <= end)
        month = forecast_series(history, end, months=1).monthly
        month = month.filter(pl.col("period") == add_months(end, 1))
        actual = (
            series.filter(pl.col("ds").dt.month_start() == add_months(end, 1))
            .group_by("unique_id")
            .agg(actual=pl.col("y").sum())
        )
        judged.append(month.join(actual, left_on="branch", right_on="unique_id"))
    every = pl.concat(judged)
    row = every.select(
        mape=((pl.col("actual") - pl.col("forecast")).abs() / pl.col("actual").abs()).mean() * 100,
        c80=pl.col("actual").is_between(pl.col("lo_80"), pl.col("hi_80")).mean(),
        c95=pl.col("actual").is_between(pl.col("lo_95"), pl.col("hi_95")).mean(),
    ).row(0, named=True)
    return MonthScore(data, every.height, row["mape"], row["c80"], row["c95"])


def air_passengers() -> pl.DataFrame:
    """The monthly AirPassengers series (1949-1960) that ships inside statsforecast."""
    from statsforecast.utils import AirPassengersDF

    frame = pl.from_pandas(AirPassengersDF)
    return frame.select(
        unique_id=pl.lit("AirPassengers"),
        ds=pl.col("ds").dt.date().dt.month_start(),
        y=pl.col("y").cast(pl.Float64),
    )


def backtest_air_passengers() -> list[Score]:
    """AutoETS (every form: the series has a trend) against seasonal naive, season 12."""
    series = air_passengers()
    cv = cross_validate(
        series, 12, MONTHLY_HORIZON, MONTHLY_WINDOWS, freq="1mo", forms=models.ALL_FORMS
    )
    return scores(cv, series, 12, "AirPassengers")


def markdown(results: list[Score]) -> str:
    """A table of the scores, and per data set how much the model beats the baseline."""
    lines = [
        "| data | model | MAPE | MASE | 80% interval covers | 95% interval covers |",
        "|---|---|---|---|---|---|",
    ]
    for s in results:
        lines.append(
            f"| {s.data} | {s.model} | {s.mape_pct:.1f}% | {s.mase:.3f} | "
            f"{s.coverage_80:.0%} | {s.coverage_95:.0%} |"
        )
    return "\n".join(lines) + "\n"


def month_markdown(score: MonthScore) -> str:
    """One line on the month totals' backtest."""
    return (
        f"Month totals ({score.data}, {score.months} judged): MAPE {score.mape_pct:.1f}%, "
        f"the 80% interval held {score.coverage_80:.0%} of them, the 95% interval "
        f"{score.coverage_95:.0%}.\n"
    )


def gain(results: list[Score], data: str) -> tuple[float, float]:
    """The model's MAPE and MASE as fractions below the baseline's on `data` (0.25: 25%
    lower)."""
    by_model = {s.model: s for s in results if s.data == data}
    ours, base = by_model[models.MODEL], by_model[models.BASELINE]
    return 1 - ours.mape_pct / base.mape_pct, 1 - ours.mase / base.mase
