"""Heat maps of one value by two dimensions (branch by month, cohorts, line mix)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import polars as pl

from ui import format as fmt
from ui.charts.base import (
    BLUES,
    CHAR_WIDTH,
    GRID,
    LINE_HEIGHT,
    Chart,
    rounded,
)

LABELLED_COLUMNS = 14  # printed values fit cells this many to a full-width row at 1400 px
HEATMAP_WIDTH = 900  # px of a full-width heat map's cells at 1400 px, less the row names


def _wrapped_lines(text: str, width: int) -> int:
    """Lines `text` takes when broken between words to fit `width` px."""
    lines, used = 1, 0
    for word in text.split():
        size = CHAR_WIDTH * (len(word) + (1 if used else 0))
        if used and used + size > width:
            lines, used = lines + 1, CHAR_WIDTH * len(word)
        else:
            used += size
    return lines


def _column_axis(xs: list[str], name: str) -> dict[str, Any]:
    """The heat map's x axis: with few columns every name shows, broken onto more lines
    to fit its column; with many (months) ECharts shows every few."""
    axis: dict[str, Any] = {
        "type": "category",
        "data": xs,
        "name": name,
        "nameLocation": "middle",
        "nameGap": 30,
        "splitArea": {"show": True},
    }
    if len(xs) <= LABELLED_COLUMNS:
        width = min(120, HEATMAP_WIDTH // max(len(xs), 1) - 8)  # 8 px between names
        lines = max((_wrapped_lines(x, width) for x in xs), default=1)
        # Without a line height the theme's broken lines are drawn on top of each other.
        axis["axisLabel"] = {
            "interval": 0,
            "width": width,
            "overflow": "break",
            "lineHeight": LINE_HEIGHT,
        }
        axis["nameGap"] = 30 + LINE_HEIGHT * (lines - 1)
    return axis


def _colour_key(low: float, high: float, pct: bool) -> dict[str, Any]:
    """The heat map's colour scale, low to high, above its top right corner."""
    text = [fmt.pct(v, 0) if pct else fmt.compact(v) for v in (high, low)]
    # No hover link: it would print the hovered cell's raw value (5430281, 0.25) on the key.
    return {"show": True, "orient": "horizontal", "top": 0, "right": 10, "text": text,
            "itemWidth": 10, "itemHeight": 120, "hoverLink": False}  # fmt: skip


# A heat map cell whose figure is still filling (a month the window cuts short).
PARTIAL_CELL = {"borderColor": "#555", "borderWidth": 2, "borderType": "dashed"}


def heatmap(
    frame: pl.DataFrame,
    x: str,
    y: str,
    z: str,
    value_format: str,
    title: str,
    x_label: str = "",
    y_label: str = "",
    partial: Collection[tuple[str, str]] = (),
    partial_note: str = "partial",
) -> Chart:
    """A grid of `z` by `x` and `y` (missing cells blank).

    Values are printed in the cells while the columns are few enough for them to
    fit; past that, the colour (with its key above) and the tooltip tell them.
    `partial` cells (`x`, `y` as text) get a dashed border and `partial_note` in
    their tooltip: a figure still filling, not a low one."""
    xs = sorted({str(v) for v in frame[x].to_list()}, key=_natural)
    ys = sorted({str(v) for v in frame[y].to_list()}, key=_natural)
    x_index = {v: i for i, v in enumerate(xs)}
    y_index = {v: i for i, v in enumerate(ys)}
    pct = value_format == "pct"
    marked = set(partial)
    cells = [
        [x_index[str(a)], y_index[str(b)], rounded(c, 4), fmt.pct(c, 0) if pct else fmt.compact(c),
         str(a), str(b), fmt.pct(c) if pct else fmt.kes(c),
         f" ({partial_note})" if (str(a), str(b)) in marked else ""]
        for a, b, c in frame.select(x, y, z).iter_rows()
        if c is not None
    ]  # fmt: skip
    data: list[Any] = [
        {"value": cell, "itemStyle": PARTIAL_CELL} if cell[7] else cell for cell in cells
    ]
    values = [float(row[2]) for row in cells if row[2] is not None]
    low, high = min(values, default=0), max(values, default=1)
    labelled = len(xs) <= LABELLED_COLUMNS
    option = {
        "grid": {**GRID, "top": 10 if labelled else 30, "bottom": 35 if x_label else 10},
        "tooltip": {
            "trigger": "item",
            "formatter": f"{y_label or y}: {{@[5]}}<br/>{x_label or x}: {{@[4]}}<br/>"
            f"{title}: {{@[6]}}{{@[7]}}",
        },
        "xAxis": _column_axis(xs, x_label),
        "yAxis": {"type": "category", "data": ys, "inverse": True, "splitArea": {"show": True}},
        "visualMap": {
            **({"show": False} if labelled else _colour_key(low, high, pct)),
            "dimension": 2,
            "min": low,
            "max": high,
            "inRange": {"color": BLUES},
        },
        "series": [
            {
                "type": "heatmap",
                "data": data,
                "label": {"show": labelled, "formatter": "{@[3]}"},
                "emphasis": {"itemStyle": {"borderColor": "#333", "borderWidth": 1}},
            }
        ],
    }  # fmt: skip
    return Chart(option, height=max(300, 34 * len(ys) + (120 if labelled else 140)))


def _natural(text: str) -> tuple[Any, ...]:
    """Numbers as numbers ("2" before "10"), everything else as text."""
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)
