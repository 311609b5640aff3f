"""A dimension's members side by side: the leaderboard bar and the profit map (volume
against margin)."""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from ui import format as fmt
from ui.charts.base import (
    GRID,
    PALETTE,
    Chart,
    rounded,
    value_axis,
)


def leaderboard_bar(
    frame: pl.DataFrame,
    key: str,
    value: str,
    label: str,
    colours: dict[str, str] | None = None,
    top: int = 15,
) -> Chart:
    """Horizontal bars of the top members, best on top; each bar carries its member to drill."""
    ranked = frame.filter(pl.col(value).is_not_null()).sort(value, descending=True)
    shown = ranked.head(top)
    members = [str(m) for m in shown[key].to_list()]
    margins = (
        shown["gross_margin_pct"].to_list()
        if "gross_margin_pct" in shown.columns
        else [None] * len(members)
    )
    data = [
        {
            # x, y, then the tooltip's texts: the name travels as data, never as template.
            "value": [rounded(v), i, member, fmt.kes(v), fmt.pct(g)],
            "itemStyle": {"color": (colours or {}).get(member, PALETTE[0])},
        }
        for i, (member, v, g) in enumerate(
            zip(members, shown[value].to_list(), margins, strict=True)
        )
    ]
    option = {
        "grid": {**GRID, "right": 40, "bottom": 30},
        "tooltip": {
            "trigger": "item",
            "formatter": f"{{@[2]}}<br/>{label}: {{@[3]}}<br/>Margin: {{@[4]}}",
        },
        "xAxis": value_axis("KES", below=True),
        "yAxis": {"type": "category", "data": members, "inverse": True},
        "series": [
            {
                "type": "bar",
                "data": data,
                "encode": {"x": 0, "y": 1},
                "selectedMode": "single",
                "cursor": "pointer",
            }
        ],
    }
    if ranked.height > top:  # the rest are not missing: they sold less
        option["title"] = {
            "text": f"Top {top} of {ranked.height}",
            "right": 0,
            "top": 0,
            "textStyle": {"fontSize": 12, "fontWeight": "normal", "color": "#666666"},
        }
    return Chart(option, height=max(260, 28 * len(members) + 80), members=tuple(members))


def _bubble_sizes(orders: list[int | None]) -> list[float]:
    largest = max((o or 0 for o in orders), default=0) or 1
    return [round(8 + 40 * math.sqrt((o or 0) / largest), 1) for o in orders]


NAMED_BUBBLES = 10  # more names crowd a half-width chart; the rest are in the tooltip


def _bubble_label(net: float, turn: float, named: bool) -> dict[str, Any]:
    """A name right of its bubble, or left of it past `turn` so it stays inside the chart.

    Names to the right as far as room allows: two names facing each other from
    neighbouring bubbles are what collide."""
    return {"show": named, "position": "left" if net > turn else "right"}


def profit_map(frame: pl.DataFrame, key: str, colours: dict[str, str] | None = None) -> Chart:
    """Net sales (x) against gross margin (y), bubble size = orders: who sells most profitably.

    Only the biggest bubbles (most orders) are named; overlapping names are moved or hidden."""
    shown = frame.filter(pl.col("net_sales") > 0)
    members = [str(m) for m in shown[key].to_list()]
    orders = shown["orders"].to_list()
    sales = shown["net_sales"].to_list()
    by_orders = sorted(range(len(members)), key=lambda i: -(orders[i] or 0))
    named = set(by_orders[:NAMED_BUBBLES])
    low, high = min(sales, default=0), max(sales, default=0)
    turn = low + 0.75 * (high - low)  # a name of about a quarter of the chart's width fits
    data = [
        {
            "value": [
                rounded(net),
                rounded((g or 0) * 100),
                member,
                fmt.kes(net),
                fmt.pct(g),
                f"{o or 0:,}",
            ],
            "symbolSize": size,
            "itemStyle": {"color": (colours or {}).get(member, PALETTE[0]), "opacity": 0.8},
            "label": _bubble_label(net, turn, i in named),
        }
        for i, (member, net, g, o, size) in enumerate(
            zip(
                members,
                sales,
                shown["gross_margin_pct"].to_list(),
                orders,
                _bubble_sizes(orders),
                strict=True,
            )
        )
    ]
    option = {
        "grid": {**GRID, "right": 40, "bottom": 30},
        "tooltip": {
            "trigger": "item",
            "formatter": "{@[2]}<br/>Net sales: {@[3]}<br/>Gross margin: {@[4]}<br/>Orders: {@[5]}",
        },
        "xAxis": value_axis("Net sales (KES)", below=True, scale=True),
        # Room above and below the outermost bubbles, so they are not cut in half.
        "yAxis": value_axis("Gross margin", percent=True, scale=True, boundaryGap=["8%", "8%"]),
        "series": [
            {
                "type": "scatter",
                "data": data,
                "encode": {"x": 0, "y": 1},
                "label": {"formatter": "{@[2]}"},
                # Names that would overlap move apart, a line back to their bubble; only a
                # crowd (a sales team) also hides some, each still in its bubble's tooltip.
                "labelLayout": {"moveOverlap": "shiftY"}
                | ({"hideOverlap": True} if len(members) > NAMED_BUBBLES else {}),
                "labelLine": {"show": True, "lineStyle": {"color": "#9e9e9e"}},
                "selectedMode": "single",
                "cursor": "pointer",
            }
        ],
    }
    return Chart(option, members=tuple(members))
