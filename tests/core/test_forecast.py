"""The forecast on the real embedded store: shape, nested intervals, branch restriction,
anomaly flags, the backtest against seasonal naive, the export against the CLI.

statsforecast fits real models here: each test keeps its series few and short
(one branch, a month ahead) to stay within seconds.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from core.filters import Filters
from core.forecast import backtest
from core.forecast.anomalies import anomalies, flag
from core.forecast.projection import add_months, forecast
from core.forecast.series import TOTAL, daily_sales
from core.kpi.schemas import ForecastTable
from core.kpi.view import resolve_view
from core.store import Scope
from core.stores.embedded import EmbeddedStore
from ingest.sample import generate_sales
from tests.conftest import to_stored

END = date(2026, 10, 20)  # mid-month: the first month's total has sales to date


@pytest.fixture(scope="module")
def mombasa_forecast(sample_store: EmbeddedStore):
    view = resolve_view(sample_store, Filters(start=date(2026, 10, 1), end=END), ("Mombasa",))
    return forecast(sample_store, view, months=1)


def test_days_and_months_ahead_with_nested_intervals(mombasa_forecast) -> None:
    daily, monthly = mombasa_forecast.daily, mombasa_forecast.monthly
    ForecastTable.validate(daily)
    ForecastTable.validate(monthly)
    days = daily.filter(pl.col("branch") == "Mombasa")["period"].to_list()
    assert days[0] == END + timedelta(days=1)
    assert days[-1] == date(2026, 11, 30)  # the rest of October and the next month
    assert len(days) == (date(2026, 11, 30) - END).days
    assert monthly["period"].unique().sort().to_list() == [date(2026, 10, 1), date(2026, 11, 1)]
    ends = ("lo_95", "lo_80", "forecast", "hi_80", "hi_95")
    for table in (daily, monthly):
        for lower, upper in pairwise(ends):
            assert (table[lower] <= table[upper]).all(), (lower, upper)
    # A month's interval is wider than any of its days': a total carries many days' errors.
    november = monthly.filter((pl.col("branch") == "Mombasa") & (pl.col("period").dt.month() == 11))
    assert november["hi_95"][0] - november["lo_95"][0] > (daily["hi_95"] - daily["lo_95"]).max()


def test_restricted_user_forecasts_only_its_branches(mombasa_forecast) -> None:
    for table in (mombasa_forecast.daily, mombasa_forecast.monthly):
        assert set(table["branch"]) == {"Mombasa", TOTAL}
        # The whole business a Mombasa viewer sees is Mombasa.
        mine = table.filter(pl.col("branch") == "Mombasa").drop("branch")
        total = table.filter(pl.col("branch") == TOTAL).drop("branch")
        assert mine.equals(total)


def test_month_total_is_sales_to_date_plus_the_days_forecast(
    mombasa_forecast, sample_store: EmbeddedStore
) -> None:
    made = sample_store.aggregate(
        Scope(branches=("Mombasa",)), _window(date(2026, 10, 1), END), measures=("net_sales",)
    )["net_sales"][0]
    rest = mombasa_forecast.daily.filter(
        (pl.col("branch") == "Mombasa") & (pl.col("period") < date(2026, 11, 1))
    )["forecast"].sum()
    october = mombasa_forecast.monthly.filter(
        (pl.col("branch") == "Mombasa") & (pl.col("period") == date(2026, 10, 1))
    )
    assert october["forecast"][0] == pytest.approx(made + rest)
    assert october["lo_95"][0] > made * 0.99  # what is sold stays sold (returns aside)


def _window(start: date, end: date):
    from core.store import Window

    return Window(start, end)


def _weekly_series(days: int, seed: int, noise: float = 0.05) -> pl.DataFrame:
    """A branch's daily sales: a weekly pattern (slow Sundays) with known noise."""
    rng = np.random.default_rng(seed)
    start = date(2025, 1, 6)
    week = np.array([1.0, 1.05, 1.1, 1.0, 1.2, 1.3, 0.5])
    level = 100_000 * week[np.arange(days) % 7]
    return pl.DataFrame(
        {
            "unique_id": "Mombasa",
            "ds": pl.date_range(start, start + timedelta(days=days - 1), "1d", eager=True),
            "y": level * (1 + noise * rng.standard_normal(days)),
        }
    )


def test_a_planted_outlier_day_is_flagged_and_not_in_the_clean_series() -> None:
    clean = _weekly_series(200, seed=3)
    planted_day = clean["ds"][185]
    planted = clean.with_columns(
        y=pl.when(pl.col("ds") == planted_day).then(pl.col("y") * 0.3).otherwise(pl.col("y"))
    )
    flagged = flag(planted, 30)
    assert planted_day in flagged["day"].to_list()
    row = flagged.filter(pl.col("day") == planted_day).row(0, named=True)
    assert row["net_sales"] < row["lo_95"] <= row["expected"] <= row["hi_95"]
    assert planted_day not in flag(clean, 30)["day"].to_list()


@pytest.fixture(scope="module")
def generated_lines() -> pl.DataFrame:
    return generate_sales(40_000, seed=5, end=date(2026, 10, 31), years=1)


PLANTED = date(2026, 10, 14)


def _store_of(lines: pl.DataFrame, directory: Path) -> EmbeddedStore:
    store = EmbeddedStore(directory / "sales")
    store.write(to_stored(lines), "append")
    return store


@pytest.mark.parametrize("planted", [True, False], ids=["planted", "clean"])
def test_a_planted_outlier_day_in_a_generated_store_is_flagged(
    generated_lines: pl.DataFrame, tmp_path: Path, planted: bool
) -> None:
    lines = generated_lines
    if planted:  # Mombasa sells eight times its usual on one day
        that_day = (pl.col("branch") == "Mombasa") & (pl.col("sold_at").dt.date() == PLANTED)
        lines = lines.with_columns(
            quantity=pl.when(that_day).then(pl.col("quantity") * 8).otherwise(pl.col("quantity")),
            discount=pl.when(that_day).then(pl.col("discount") * 8).otherwise(pl.col("discount")),
        )
    store = _store_of(lines, tmp_path)
    view = resolve_view(store, Filters(start=date(2026, 10, 1), end=END), ("Mombasa",))
    found = anomalies(store, view)
    assert (PLANTED in found["day"].to_list()) is planted


def test_anomalies_from_the_store_are_the_users_branches_inside_the_window(
    sample_store: EmbeddedStore,
) -> None:
    view = resolve_view(sample_store, Filters(start=date(2026, 9, 1), end=END), ("Mombasa",))
    found = anomalies(sample_store, view)
    assert set(found["branch"]) <= {"Mombasa"}
    assert found["day"].is_between(date(2026, 9, 1), END).all()
    assert (~found["net_sales"].is_between(found["lo_95"], found["hi_95"])).all()


def test_the_80_percent_interval_covers_about_80_percent_of_held_out_days() -> None:
    series = _weekly_series(400, seed=5, noise=0.1)
    cv = backtest.cross_validate(series, 7, horizon=28, windows=4)
    covered = cv["y"].is_between(cv["AutoETS-lo-80"], cv["AutoETS-hi-80"]).mean()
    assert 0.70 <= covered <= 0.90


def test_the_backtest_beats_seasonal_naive_on_the_sample(sample_store: EmbeddedStore) -> None:
    scores = backtest.backtest_store(sample_store, "sample", horizon=28, windows=2)
    by_model = {s.model: s for s in scores}
    ours, baseline = by_model["AutoETS"], by_model["SeasonalNaive"]
    assert ours.mape_pct < baseline.mape_pct
    assert ours.mase < baseline.mase
    again = backtest.backtest_store(sample_store, "sample", horizon=28, windows=2)
    # Reproducible (no random draw in a backtest) up to the order of float sums.
    for first, second in zip(scores, again, strict=True):
        assert (first.data, first.model) == (second.data, second.model)
        assert first.mape_pct == pytest.approx(second.mape_pct, rel=1e-9)
        assert first.mase == pytest.approx(second.mase, rel=1e-9)
        assert (first.coverage_80, first.coverage_95) == (second.coverage_80, second.coverage_95)


def test_daily_sales_list_every_day_and_sum_to_the_total(sample_store: EmbeddedStore) -> None:
    series = daily_sales(sample_store, Scope(), END)
    total = series.filter(pl.col("unique_id") == TOTAL)
    branches = series.filter(pl.col("unique_id") != TOTAL).group_by("ds").agg(pl.col("y").sum())
    assert total["ds"].diff().drop_nulls().dt.total_days().eq(1).all()
    joined = total.join(branches, on="ds", suffix="_branches")
    assert (joined["y"] - joined["y_branches"]).abs().max() < 0.01


@pytest.mark.slow
def test_the_export_area_is_the_cli_table(sample_data_dir: Path, monkeypatch, capsys) -> None:
    from core.__main__ import main as export_main
    from core.forecast.__main__ import main as forecast_main

    monkeypatch.setenv("SALES_DATA_DIR", str(sample_data_dir))
    monkeypatch.setenv("SALES_BACKEND", "embedded")
    options = ["--start", "2026-10-01", "--end", "2026-10-20", "--branch", "mombasa"]
    assert export_main(["export", "forecast", *options, "--grain", "day"]) == 0
    exported = capsys.readouterr().out
    assert forecast_main([*options, "--grain", "day"]) == 0
    assert capsys.readouterr().out == exported
    table = pl.read_csv(exported.encode(), try_parse_dates=True)
    assert table.columns == ["branch", "period", "forecast", "lo_80", "hi_80", "lo_95", "hi_95"]
    assert table["period"].max() == add_months(END, 7) - timedelta(days=1)
