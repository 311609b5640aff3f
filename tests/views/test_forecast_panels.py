"""The forecast panels in AppTest over the sample store, and the ringed trend chart."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.filters import Filters
from core.forecast import projection
from core.forecast.projection import forecast
from core.forecast.series import TOTAL
from core.kpi.view import resolve_view
from core.stores.embedded import EmbeddedStore
from tests.views.apps import page_failed, run_page
from ui import charts
from ui import format as fmt
from ui.forecast_panel import anomaly_line

WINDOW = {"start": "2026-10-01", "end": "2026-10-20", "branch": "Mombasa"}


def test_a_branch_shows_where_the_month_lands(
    sample_env: Path, sample_store: EmbeddedStore
) -> None:
    app = run_page("branches", **WINDOW)
    assert not page_failed(app), [e.value for e in app.error]
    view = resolve_view(
        sample_store, Filters(date(2026, 10, 1), date(2026, 10, 20), branches=("Mombasa",))
    )
    october = forecast(sample_store, view).monthly.row(0, named=True)
    tile = next(m for m in app.metric if m.label == "October 2026, forecast")
    assert tile.value.replace("\\", "") == fmt.kes_compact(october["forecast"])  # escaped Markdown
    assert any(m.label == "95% range" for m in app.metric)


def test_windows_ending_on_the_same_day_share_one_fit(
    sample_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The forecast learns from the scope's sales up to the window's end: a window that
    starts earlier, or another grain, asks for no second fit."""
    fits: list[date] = []
    fit = projection.forecast_through

    def counted(*args: Any, **kwargs: Any) -> projection.Forecast:
        fits.append(args[2])
        return fit(*args, **kwargs)

    monkeypatch.setattr(projection, "forecast_through", counted)
    tiles = []
    for start, grain in (("2026-10-01", "day"), ("2026-09-01", "week")):
        app = run_page("branches", **{**WINDOW, "start": start, "grain": grain})
        assert not page_failed(app), [e.value for e in app.error]
        tiles.append(next(m.value for m in app.metric if m.label == "October 2026, forecast"))
    assert tiles[0] == tiles[1]
    assert fits == [date(2026, 10, 20)]


def test_the_overview_lands_the_whole_business_as_branches_does(
    sample_env: Path, sample_store: EmbeddedStore
) -> None:
    app = run_page("overview", start="2026-10-01", end="2026-10-20")
    assert not page_failed(app), [e.value for e in app.error]
    view = resolve_view(sample_store, Filters(date(2026, 10, 1), date(2026, 10, 20)))
    every = forecast(sample_store, view).monthly.filter(pl.col("branch") == TOTAL)
    alone = forecast(sample_store, view, per_branch=False).monthly
    # The total's fit and futures do not depend on the branches fitted beside it.
    assert_frame_equal(alone, every)
    october = alone.row(0, named=True)
    tiles = {m.label: m.value.replace("\\", "") for m in app.metric}  # escaped Markdown
    assert tiles["October 2026, forecast"] == fmt.kes_compact(october["forecast"])
    low, high = fmt.kes_compact(october["lo_95"]), fmt.kes_compact(october["hi_95"])
    assert tiles["95% range"] == f"{low} - {high}"


@pytest.mark.parametrize("branches", [["Mombasa"], ["Mombasa", "Kisumu"]], ids=["profile", "board"])
def test_branches_page_lists_the_flagged_days(sample_env: Path, branches: list[str]) -> None:
    app = run_page("branches", **{**WINDOW, "branch": branches}, grain="day")
    assert not page_failed(app), [e.value for e in app.error]
    assert any(h.value == "Days outside the expected range" for h in app.subheader)


def test_anomaly_line_reads_like_a_sentence() -> None:
    row = {
        "branch": "Mombasa",
        "day": date(2026, 11, 3),
        "net_sales": 120_412.0,
        "expected": 400_000.0,
        "lo_95": 309_700.0,
        "hi_95": 480_200.0,
    }
    assert anomaly_line(row) == "Mombasa, Tue 3 Nov: KES 120,400, expected KES 310,000-480,000"


def test_trend_chart_rings_the_flagged_days_at_the_day_grain() -> None:
    trend = pl.DataFrame(
        {
            "period": [date(2026, 11, 2), date(2026, 11, 3)] * 2,
            "branch": ["Mombasa", "Mombasa", "Kisumu", "Kisumu"],
            "net_sales": [300_000.0, 120_400.0, 200_000.0, 210_000.0],
        }
    )
    flagged = pl.DataFrame(
        {
            "branch": ["Mombasa"],
            "day": [date(2026, 11, 3)],
            "net_sales": [120_400.0],
            "expected": [400_000.0],
            "lo_95": [310_000.0],
            "hi_95": [480_000.0],
        }
    )
    chart = charts.member_lines(trend, "branch", "net_sales", "Net sales (KES)", grain="day")
    ringed = charts.with_anomalies(chart, flagged, "day")
    ring = ringed.option["series"][-1]
    assert ring["type"] == "scatter"
    assert ring["data"] == [{"value": ["2026-11-03", 120400.0], "name": "Mombasa"}]
    assert charts.with_anomalies(chart, flagged, "month") is chart
