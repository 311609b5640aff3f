"""The RFM segment map: one tile per segment, sized by customers."""

from __future__ import annotations

from typing import Any

import polars as pl

from ui import format as fmt
from ui.charts.base import (
    Chart,
    treemap,
)

SEGMENT_COLOURS = {
    "Champions": "#1a9850",
    "Loyal": "#66bd63",
    "Potential loyalist": "#a6d96a",
    "New": "#74add1",
    "Promising": "#abd9e9",
    "Needs attention": "#fee08b",
    "About to sleep": "#fdae61",
    "Cannot lose them": "#d73027",
    "At risk": "#f46d43",
    "Hibernating": "#bababa",
    "Lost": "#878787",
}


def text_colour_on(background: str) -> str:
    """Near-black on a light fill, white on a dark one (WCAG relative luminance)."""
    channels = [int(background[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    # Against white text (1.0) and near-black (#1a1a1a, 0.01): the higher contrast ratio wins.
    return "#1a1a1a" if (luminance + 0.05) / 0.06 > 1.05 / (luminance + 0.05) else "#ffffff"


def _segment_tile(segment: str, customers: int, monetary: float, share: float) -> dict[str, Any]:
    """One segment's tile: its colour, and the text colour that reads best on it."""
    fill = SEGMENT_COLOURS.get(segment, "#bababa")
    return {
        "name": segment,
        "value": [
            customers,
            f"{customers:,} customers, {fmt.kes(monetary)}",
            f"{customers:,} customers",
            fmt.pct(share, 0).replace("-0%", "0%"),  # a sliver of returns is no share
        ],
        "itemStyle": {"color": fill},
        "label": {"color": text_colour_on(fill)},
    }


def segment_map(summary: pl.DataFrame) -> Chart:
    """RFM segments as tiles sized by customers, with their net sales in the hover."""
    shown = summary.filter(pl.col("segment").is_not_null() & (pl.col("customers") > 0))
    data = [
        _segment_tile(*row)
        for row in shown.select(
            "segment", "customers", "monetary", "share_of_net_sales"
        ).iter_rows()
    ]
    option = treemap(data, "Customers")
    # A small tile cuts its lines short rather than spilling into its neighbours.
    option["series"][0]["label"] = {
        "formatter": "{b}\n{@[2]}\n{@[3]} of sales",
        "overflow": "truncate",
        "lineHeight": 16,  # ECharts' default spacing overprints the three lines
    }
    option["series"][0]["upperLabel"] = {"show": False}
    return Chart(option, height=400)
