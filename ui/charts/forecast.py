"""The forecast drawn after its history: daily net sales, then the forecast line inside
its 80% and 95% bands."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from ui.charts.base import GRID, Chart, rounded, value_axis

HISTORY_COLOUR, FORECAST_COLOUR = "#332288", "#CC6677"
BAND_80, BAND_95 = "rgba(204, 102, 119, 0.35)", "rgba(204, 102, 119, 0.15)"


def _band(
    name: str, days: list[str], low: list[Any], high: list[Any], colour: str
) -> list[dict[str, Any]]:
    """A band as ECharts draws one: its low edge (no fill), and the width stacked on it."""
    stack = f"band-{name}"
    width = [
        None if lo is None or hi is None else rounded(hi - lo)
        for lo, hi in zip(low, high, strict=True)
    ]
    return [
        {
            "type": "line",
            "name": f"{name} low",
            "data": [[d, rounded(v)] for d, v in zip(days, low, strict=True)],
            "stack": stack,
            "lineStyle": {"opacity": 0},
            "symbol": "none",
            "tooltip": {"show": False},
        },
        {
            "type": "line",
            "name": name,
            "data": [[d, v] for d, v in zip(days, width, strict=True)],
            "stack": stack,
            "lineStyle": {"opacity": 0},
            "areaStyle": {"color": colour},
            "itemStyle": {"color": colour},
            "symbol": "none",
            "tooltip": {"show": False},
        },
    ]


def forecast_band(
    recent: pl.DataFrame, daily: pl.DataFrame, branch: str, until: date | None = None
) -> Chart:
    """`branch`'s recent daily net sales, then its daily forecast (to `until`, if given)
    with the 95% and 80% bands; the tooltip gives each day's values."""
    past = recent.filter(pl.col("branch") == branch).sort("period")
    ahead = daily.filter(pl.col("branch") == branch).sort("period")
    if until is not None:
        ahead = ahead.filter(pl.col("period") <= until)
    days = [d.isoformat() for d in ahead["period"].to_list()]
    # The forecast line starts at the last known day, so the two lines join.
    joined_days = [*past["period"].tail(1).cast(pl.String).to_list(), *days]
    joined = [*past["net_sales"].tail(1).to_list(), *ahead["forecast"].to_list()]
    series = [
        *_band("95%", days, ahead["lo_95"].to_list(), ahead["hi_95"].to_list(), BAND_95),
        *_band("80%", days, ahead["lo_80"].to_list(), ahead["hi_80"].to_list(), BAND_80),
        {
            "type": "line",
            "name": "Net sales",
            "data": [
                [d.isoformat(), rounded(v)]
                for d, v in zip(past["period"].to_list(), past["net_sales"].to_list(), strict=True)
            ],
            "symbol": "none",
            "lineStyle": {"color": HISTORY_COLOUR, "width": 1.5},
            "itemStyle": {"color": HISTORY_COLOUR},
        },
        {
            "type": "line",
            "name": "Forecast",
            "data": [[d, rounded(v)] for d, v in zip(joined_days, joined, strict=True)],
            "symbol": "none",
            "lineStyle": {"color": FORECAST_COLOUR, "width": 1.5, "type": "dashed"},
            "itemStyle": {"color": FORECAST_COLOUR},
        },
    ]
    option = {
        "grid": {**GRID, "top": 40, "bottom": 30},
        "legend": {"top": 0, "data": ["Net sales", "Forecast", "80%", "95%"]},
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "time"},
        "yAxis": value_axis("KES"),
        "series": series,
    }
    return Chart(option, height=320)
