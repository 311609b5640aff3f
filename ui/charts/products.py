"""What product sales are made of: the Pareto curve, the ABC classes and the treemap of
lines and products."""

from __future__ import annotations

import polars as pl

from core.kpi.products import A_LIMIT
from ui import format as fmt
from ui.charts.base import (
    GRID,
    PALETTE,
    Chart,
    rounded,
    treemap,
    value_axis,
)


def pareto(products: pl.DataFrame) -> Chart:
    """Cumulative share of net sales against the share of products, with the line where
    class A ends (`A_LIMIT`)."""
    ranked = products.filter(pl.col("cumulative_share").is_not_null())
    n = ranked.height
    data = [
        [round(100 * (i + 1) / n, 3), rounded(100 * share, 3), f"{name} ({pid})",
         f"{(i + 1) / n:.0%}", fmt.pct(share)]
        for i, (share, pid, name) in enumerate(
            ranked.select("cumulative_share", "product_id", "product_name").iter_rows()
        )
    ]  # fmt: skip
    option = {
        "grid": {**GRID, "top": 40, "bottom": 30},
        "tooltip": {
            "trigger": "item",
            "formatter": "{@[2]}<br/>Top {@[3]} of products: {@[4]} of net sales",
        },
        "xAxis": value_axis(
            "Share of products (best first)", percent=True, below=True, min=0, max=100, interval=20
        ),
        "yAxis": value_axis("Cumulative share", percent=True, min=0, max=100, interval=20),
        "series": [
            {
                "type": "line",
                "name": "Cumulative share",
                "data": data,
                "encode": {"x": 0, "y": 1},
                "showSymbol": False,
                "markLine": {
                    "silent": True,
                    "symbol": "none",
                    "lineStyle": {"type": "dashed"},
                    "label": {
                        "formatter": f"{A_LIMIT:.0%} of net sales",
                        "position": "insideEndBottom",
                    },
                    "data": [{"yAxis": round(A_LIMIT * 100)}],
                },
            }
        ],
    }
    return Chart(option)


ABC_COLOURS = {"A": "#1b7837", "B": "#f1a340", "C": "#b2182b"}


def abc_bars(summary: pl.DataFrame) -> Chart:
    """Products and share of net sales per ABC class."""
    classes = summary["abc_class"].to_list()
    data = [
        {
            "value": [
                c,
                rounded(100 * (share or 0), 2),
                f"{products:,} products",
                fmt.pct(share),
            ],
            "itemStyle": {"color": ABC_COLOURS.get(c, PALETTE[0])},
        }
        for c, share, products in zip(
            classes, summary["share_of_net_sales"], summary["products"], strict=True
        )
    ]
    option = {
        "grid": GRID,
        "tooltip": {"trigger": "item", "formatter": "Class {@[0]}: {@[3]} of net sales, {@[2]}"},
        "xAxis": {"type": "category", "data": classes},
        "yAxis": value_axis("Share of sales", percent=True),
        "series": [
            {
                "type": "bar",
                "data": data,
                "encode": {"x": 0, "y": 1},
                "label": {"show": True, "position": "inside", "formatter": "{@[2]}"},
            }
        ],
    }
    return Chart(option)


def line_product_treemap(products: pl.DataFrame, colours: dict[str, str]) -> Chart:
    """Product lines split into their products, sized by net sales (negative totals left out)."""
    shown = products.filter(pl.col("net_sales") > 0)
    data = []
    for (line,), rows in sorted(
        shown.partition_by("product_line", as_dict=True).items(),
        key=lambda kv: -float(kv[1]["net_sales"].sum()),
    ):
        total = float(rows["net_sales"].sum())
        data.append(
            {
                "name": str(line),
                "value": [round(total, 2), fmt.kes(total)],
                "itemStyle": {"color": colours.get(str(line), "#dddddd")},
                "children": [
                    {"name": f"{name} ({pid})", "value": [round(float(v), 2), fmt.kes(v)]}
                    for name, pid, v in rows.sort("net_sales", descending=True)
                    .select("product_name", "product_id", "net_sales")
                    .iter_rows()
                ],
            }
        )
    return Chart(treemap(data, "Net sales"), height=450)
