"""Lines over time: a KPI against the comparison window, and the leading members' lines;
periods only partly inside the window are shaded."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import polars as pl

from ui.charts.base import (
    GRID,
    HEIGHT,
    LEGEND_ROW,
    PALETTE,
    PARTIAL_SHADE,
    Chart,
    bottom_legend,
    rounded,
    value_axis,
)

MONTHS_IN = {"month": 1, "quarter": 3, "year": 12}


def _buckets(periods: Sequence[date], grain: str) -> list[date]:
    """Every bucket from the first period to the last, so a bucket without sales keeps its place."""
    if not periods:
        return []
    if grain in MONTHS_IN:
        first, last = (p.year * 12 + p.month - 1 for p in (periods[0], periods[-1]))
        return [date(m // 12, m % 12 + 1, 1) for m in range(first, last + 1, MONTHS_IN[grain])]
    step = 7 if grain == "week" else 1
    first_day, last_day = periods[0].toordinal(), periods[-1].toordinal()
    return [date.fromordinal(d) for d in range(first_day, last_day + 1, step)]


def _period_label(period: date, grain: str) -> str:
    if grain == "year":
        return f"{period.year}"
    if grain == "quarter":
        return f"{period.year} Q{(period.month - 1) // 3 + 1}"
    if grain == "month":
        return period.strftime("%b %Y")
    return period.isoformat()  # a day, or a week by its Monday


def _day(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _period_axis(
    periods: Sequence[date], grain: str, partial: Sequence[date]
) -> tuple[dict[str, Any], dict[date, str]]:
    """A category x axis of the `grain` buckets' dates, and each period's label on it.

    Categories, not a time axis: a time axis labels one bucket with hours, and
    puts its ticks between the buckets of a week or a quarter."""
    days = sorted({_day(p) for p in periods})
    labels = {day: _period_label(day, grain) for day in _buckets(days, grain)}
    axis: dict[str, Any] = {"type": "category", "data": list(labels.values())}
    if partial:
        # ECharts places a band's edges on ticks: with a tick only every few buckets
        # the shade of a partial bucket would spread into its neighbours.
        axis["axisTick"] = {"interval": 0}
    return axis, labels


def _partial_series(partial: Sequence[date], labels: dict[date, str]) -> list[dict[str, Any]]:
    """Grey bands over the buckets only partly inside the window, so a dip there is not
    read as a collapse; the axis tooltip of such a bucket says "partial period".

    A bar series carries the bands because ECharts stretches a bar series' mark
    area over the whole bucket (a line's would shrink to its middle); its values
    are text, so it draws no bar and the tooltip shows the words."""
    shaded = [labels[day] for day in sorted({_day(p) for p in partial}) if day in labels]
    if not shaded:
        return []
    return [
        {
            "type": "bar",
            "name": "In the window",
            "data": [[label, "partial period"] for label in shaded],
            "itemStyle": {"color": "#888888"},
            "markArea": {
                "silent": True,
                "itemStyle": {"color": PARTIAL_SHADE},
                "label": {"position": "insideTop", "color": "#888888"},
                "data": [
                    [{"name": "partial", "xAxis": label}, {"xAxis": label}] for label in shaded
                ],
            },
        }
    ]


def _symbol_size(alone: bool) -> int:
    return 10 if alone else 4  # ECharts' 4 px point is lost when it is the whole chart


def _trend_option(
    series: list[dict[str, Any]],
    legend_names: Sequence[str],
    x_axis: dict[str, Any],
    y_axis: dict[str, Any],
    value_format: str,
) -> Chart:
    """A chart of lines over buckets with every member in its legend."""
    legend, rows = bottom_legend(legend_names)
    option = {
        "grid": {**GRID, "top": 40, "bottom": 10 + LEGEND_ROW * rows},
        "legend": legend,
        "tooltip": {"trigger": "axis", "valueFormatter": value_format},
        "xAxis": x_axis,
        "yAxis": y_axis,
        "series": series,
    }
    return Chart(option, height=HEIGHT + LEGEND_ROW * (rows - 1))


def trend_with_comparison(
    current: pl.DataFrame,
    previous: pl.DataFrame | None,
    value: str,
    label: str,
    *,
    grain: str,
    partial: Sequence[date] = (),
) -> Chart:
    """A line over the window; the comparison window's line aligned by bucket position.

    `grain`: the buckets' size (the view's), which names them ("Mar 2025", "2025 Q1").
    `partial`: the buckets (their `period`) only partly inside the window, shaded."""
    x_axis, labels = _period_axis(current["period"].to_list(), grain, partial)
    periods = [labels[_day(p)] for p in current["period"].to_list()]
    alone = len(labels) == 1  # one bucket draws no line, only its point: make that bigger
    series: list[dict[str, Any]] = [
        {
            "type": "line",
            "name": label,
            "data": [[p, rounded(v)] for p, v in zip(periods, current[value], strict=True)],
            "showSymbol": True,
            "symbolSize": _symbol_size(alone),
        }
    ]
    if previous is not None and not previous.is_empty():
        n = min(current.height, previous.height)
        series.append(
            {
                "type": "line",
                "name": f"{label} (comparison)",
                "data": [
                    [p, rounded(v)]
                    for p, v in zip(periods[:n], previous[value].head(n), strict=True)
                ],
                "lineStyle": {"type": "dotted"},
                "showSymbol": alone,
                "symbolSize": _symbol_size(alone),
            }
        )
    names = [s["name"] for s in series]
    series += _partial_series(partial, labels)
    return _trend_option(series, names, x_axis, value_axis("KES"), "%,.0f")


def member_lines(
    frame: pl.DataFrame,
    key: str,
    value: str,
    label: str,
    colours: dict[str, str] | None = None,
    members: list[str] | None = None,
    *,
    grain: str,
    partial: Sequence[date] = (),
) -> Chart:
    """One line per member over time (optionally only `members`).

    `grain`: the buckets' size (the view's), which names them ("Mar 2025", "2025 Q1").
    `partial`: the buckets (their `period`) only partly inside the window, shaded."""
    shown = frame.filter(pl.col(key).is_in(members)) if members is not None else frame
    percent = value.endswith("_pct")
    x_axis, labels = _period_axis(shown["period"].to_list(), grain, partial)
    alone = len(labels) == 1  # one bucket draws no line, only its point: make that bigger
    series: list[dict[str, Any]] = []
    for (member,), rows in sorted(
        shown.sort("period").partition_by(key, as_dict=True).items(), key=lambda kv: str(kv[0])
    ):
        points = zip(rows["period"].to_list(), rows[value].to_list(), strict=True)
        series.append(
            {
                "type": "line",
                "name": str(member),
                "data": [
                    [labels[_day(p)], rounded(v * 100 if percent and v is not None else v)]
                    for p, v in points
                ],
                "itemStyle": {"color": (colours or {}).get(str(member), PALETTE[0])},
                "showSymbol": True,
                "symbolSize": _symbol_size(alone),
            }
        )
    names = [s["name"] for s in series]
    series += _partial_series(partial, labels)
    return _trend_option(
        series,
        names,
        x_axis,
        value_axis(label, percent=percent),
        "%.1f%%" if percent else "%,.0f",
    )


ANOMALY_COLOUR = "#D62728"  # red rings: read as "look here" over any branch's colour


def with_anomalies(chart: Chart, flagged: pl.DataFrame, grain: str) -> Chart:
    """`chart` (a `member_lines` of daily net sales) with a ring on each flagged branch-day.

    `flagged`: `core.forecast.anomalies` rows (`branch`, `day`, `net_sales`,
    `expected`, `lo_95`, `hi_95`). Only a day grain has a point per day to ring;
    at any other grain the chart is returned as it is (the page lists the days).
    """
    axis = chart.option.get("xAxis", {}).get("data", [])
    if grain != "day" or flagged.is_empty() or not axis:
        return chart
    shown = set(axis)
    points = [
        {
            "value": [_period_label(row["day"], "day"), rounded(row["net_sales"])],
            "name": str(row["branch"]),
        }
        for row in flagged.iter_rows(named=True)
        if _period_label(row["day"], "day") in shown
    ]
    if not points:
        return chart
    ring = {
        "type": "scatter",
        "name": "Outside its 95% interval",
        "data": points,
        "symbolSize": 14,
        "itemStyle": {"color": "rgba(0, 0, 0, 0)", "borderColor": ANOMALY_COLOUR, "borderWidth": 2},
        "tooltip": {"trigger": "item"},
        "z": 5,
    }
    option = {**chart.option, "series": [*chart.option["series"], ring]}
    return Chart(option, height=chart.height, members=chart.members)
