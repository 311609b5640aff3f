"""The forecasting model, its seasonal-naive baseline and the statsforecast calls.

The model is AutoETS with a weekly season (statsforecast picks the error, trend
and season forms of each series by AICc). It was chosen by the rolling-origin
backtest of `core.forecast.backtest` on the sample data, against AutoARIMA and
MSTL (weekly, and weekly with yearly on three years): the figures and the
reasons are in docs/forecast.md. No model is written here: every fit, forecast,
simulation and cross-validation is the library's.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

# A business week: the strongest cycle in daily sales (Sunday is slow).
WEEK = 7
# The prediction intervals the tables and charts show, in percent.
LEVELS: tuple[int, ...] = (80, 95)
# One process fits its series one after another: the app serves pages beside it on
# two cores, and a process pool would pay statsforecast's import again per worker.
N_JOBS = 1
MODEL = "AutoETS"
BASELINE = "SeasonalNaive"
DAILY_SCHEMA = {
    "unique_id": pl.String(),
    "ds": pl.Date(),
    **{c: pl.Float64() for c in ("forecast", "lo_80", "hi_80", "lo_95", "hi_95")},
}


# AutoETS's forms searched for daily sales: any error, no trend, any season. With the
# trend forms searched too it picked the same model for every sample series and window
# of the backtest (identical figures) at six to eight times the CPU time of a fit (0.8-1.1 s
# against 0.1-0.2 s for three years of one branch).
DAILY_FORMS = "ZNZ"
# Every form, for series with a trend to find (the monthly AirPassengers).
ALL_FORMS = "ZZZ"


def model(season_length: int = WEEK, forms: str = DAILY_FORMS) -> Any:
    """The chosen model: AutoETS over a weekly season, its form chosen by AICc."""
    from statsforecast.models import AutoETS

    return AutoETS(season_length=season_length, model=forms, alias=MODEL)


def baseline(season_length: int = WEEK) -> Any:
    """Seasonal naive: each day is the same weekday of the last week."""
    from statsforecast.models import SeasonalNaive

    return SeasonalNaive(season_length=season_length, alias=BASELINE)


def engine(models: list[Any], freq: str = "1d") -> Any:
    """A `StatsForecast` over `models` for series at `freq` (polars frequency string)."""
    from statsforecast import StatsForecast

    return StatsForecast(models=models, freq=freq, n_jobs=N_JOBS)


def renamed(frame: pl.DataFrame, name: str = MODEL) -> pl.DataFrame:
    """A statsforecast result with the model's columns as `forecast`, `lo_80`, ... `hi_95`."""
    columns = {name: "forecast"}
    for level in LEVELS:
        columns[f"{name}-lo-{level}"] = f"lo_{level}"
        columns[f"{name}-hi-{level}"] = f"hi_{level}"
    present = {k: v for k, v in columns.items() if k in frame.columns}
    return frame.rename(present)


@dataclass(frozen=True)
class Projection:
    """The days after a series' end: point forecasts with intervals, and simulated futures."""

    daily: pl.DataFrame  # unique_id, ds, forecast, lo_80, hi_80, lo_95, hi_95
    paths: dict[str, npt.NDArray[np.float64]]  # unique_id -> (paths, horizon) array


def series_seed(seed: int, uid: str) -> int:
    """A seed of its own for series `uid`, the same in every run."""
    return seed + zlib.crc32(uid.encode()) % 1_000_000


def project(series: pl.DataFrame, horizon: int, paths: int, seed: int) -> Projection:
    """Fit the model to each series once, then forecast its next `horizon` days with the
    80% and 95% intervals and draw `paths` futures of them (reproducible by `seed`).

    Each simulated future redraws the errors from the fitted model's own
    distribution and feeds them through its states, so a run of low days carries
    into the next as the model says it does: sums of a path's days (a month's
    total) then have the spread the model implies, where adding the days'
    interval ends would not. Each series draws from its own seed (`seed` and its
    id), so its futures do not depend on which other series are projected with it:
    the whole business's month reads the same on the Overview as on Branches.
    """
    frames, futures = [], {}
    groups = series.sort("unique_id", "ds").partition_by("unique_id", as_dict=True)
    for (uid,), rows in groups.items():
        fitted = model().fit(rows["y"].to_numpy().astype(np.float64))
        predicted = fitted.predict(h=horizon, level=list(LEVELS))
        last: date = rows["ds"][-1]
        first = last + timedelta(days=1)
        days = pl.date_range(first, first + timedelta(days=horizon - 1), "1d", eager=True)
        columns = {"forecast": predicted["mean"]}
        for level in LEVELS:
            columns[f"lo_{level}"] = predicted[f"lo-{level}"]
            columns[f"hi_{level}"] = predicted[f"hi-{level}"]
        frames.append(pl.DataFrame({"unique_id": str(uid), "ds": days, **columns}))
        futures[str(uid)] = np.asarray(
            fitted.simulate(h=horizon, n_paths=paths, seed=series_seed(seed, str(uid))),
            dtype=np.float64,
        )
    daily = pl.concat(frames) if frames else pl.DataFrame(schema=DAILY_SCHEMA)
    return Projection(daily.cast(DAILY_SCHEMA), futures)  # type: ignore[arg-type]


def one_step(series: pl.DataFrame, days: int) -> pl.DataFrame:
    """`unique_id`, `ds`, `y`, `forecast`, `lo_95`, `hi_95`: for each of the last `days`
    days of every series, the forecast made the evening before, from the days before it.

    The model is fitted once on the days before the first of them and then only
    updated with each new day (statsforecast's `refit=False`): a one-step-ahead
    backtest that costs one fit, never a day judged by a model that saw it.
    """
    result = engine([model()]).cross_validation(
        df=series, h=1, step_size=1, n_windows=days, refit=False, level=[95]
    )
    return renamed(result).select("unique_id", "ds", "y", "forecast", "lo_95", "hi_95")


def next_day(series: pl.DataFrame, uid: str) -> float | None:
    """The model's forecast of the day after series `uid` ends (from its days alone), or
    None when the series is missing or too short to fit."""
    from core.forecast.series import long_enough

    rows = long_enough(series).filter(pl.col("unique_id") == uid).sort("ds")
    if rows.is_empty():
        return None
    fitted = model().fit(rows["y"].to_numpy().astype(np.float64))
    return float(fitted.predict(h=1)["mean"][0])
