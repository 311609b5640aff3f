"""The pipeline's charts: the stage funnel, won against lost per member, open deals by age,
win rates with and without each activity."""

from __future__ import annotations

import polars as pl

from ui import format as fmt
from ui.charts.base import GRID, PALETTE, Chart, rounded, value_axis

WON_COLOUR, LOST_COLOUR, OPEN_COLOUR = "#117733", "#CC6677", "#88CCEE"


def funnel(stages: pl.DataFrame) -> Chart:
    """Horizontal bars of the deals that entered each stage, in order, with the share of
    them that reached the next stage as the bar's label."""
    names = [str(s) for s in stages["stage"].to_list()]
    data = [
        {
            "value": [entered, i, name, fmt.count(entered), fmt.pct(conversion)],
            "itemStyle": {"color": WON_COLOUR if i == len(names) - 1 else PALETTE[4]},
        }
        for i, (name, entered, conversion) in enumerate(
            zip(names, stages["entered"].to_list(), stages["conversion_pct"].to_list(), strict=True)
        )
    ]
    option = {
        "grid": {**GRID, "right": 90, "bottom": 30},
        "tooltip": {"trigger": "item", "formatter": "{@[2]}<br/>Entered: {@[3]}<br/>"
                    "Reached the next stage: {@[4]}"},
        "xAxis": value_axis("Deals", below=True),
        "yAxis": {"type": "category", "data": names, "inverse": True},
        "series": [
            {
                "type": "bar",
                "data": data,
                "encode": {"x": 0, "y": 1},
                "label": {"show": True, "position": "right", "formatter": "{@[3]} → {@[4]}"},
            }
        ],
    }  # fmt: skip
    return Chart(option, height=max(220, 40 * len(names) + 70))


def _bars(name: str, colour: str, values: list[list[object]]) -> dict[str, object]:
    """One series of horizontal bars: each value is [x, row, then what the tooltip names]."""
    return {
        "type": "bar",
        "name": name,
        "itemStyle": {"color": colour},
        "data": [{"value": value} for value in values],
        "encode": {"x": 0, "y": 1},
    }


def won_and_lost(table: pl.DataFrame, key: str, top: int = 15) -> Chart:
    """Won and lost amounts per member side by side, most won on top; the tooltip gives
    the win rate. Each row carries its member to drill."""
    shown = table.head(top)
    members = [str(m) for m in shown[key].fill_null("(none)").to_list()]
    rates = [fmt.pct(r) for r in shown["win_rate"].to_list()]

    def series(column: str, name: str, colour: str) -> dict[str, object]:
        values: list[list[object]] = [
            [rounded(v), i, member, fmt.kes(v), rate]
            for i, (member, v, rate) in enumerate(
                zip(members, shown[column].to_list(), rates, strict=True)
            )
        ]
        return {**_bars(name, colour, values), "selectedMode": "single", "cursor": "pointer"}

    option = {
        "grid": {**GRID, "right": 40, "top": 40, "bottom": 30},
        "legend": {"top": 0},
        "tooltip": {
            "trigger": "item",
            "formatter": "{@[2]}<br/>{a}: {@[3]}<br/>Win rate: {@[4]}",
        },
        "xAxis": value_axis("KES", below=True),
        "yAxis": {"type": "category", "data": members, "inverse": True},
        "series": [
            series("won_amount", "Won", WON_COLOUR),
            series("lost_amount", "Lost", LOST_COLOUR),
        ],
    }
    return Chart(option, height=max(260, 44 * len(members) + 90), members=tuple(members))


def open_by_age(bands: pl.DataFrame) -> Chart:
    """Open pipeline amount per age band, youngest first; the tooltip gives the deals."""
    labels = [f"{band} days" for band in bands["age_band"].to_list()]
    data = [
        {"value": [i, rounded(amount), label, fmt.kes(amount), fmt.count(deals)]}
        for i, (label, amount, deals) in enumerate(
            zip(labels, bands["open_amount"].to_list(), bands["open_deals"].to_list(), strict=True)
        )
    ]
    option = {
        "grid": {**GRID, "bottom": 30},
        "tooltip": {"trigger": "item", "formatter": "{@[2]}<br/>{@[3]} in {@[4]} deals"},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": value_axis("KES"),
        "series": [
            {
                "type": "bar",
                "data": data,
                "encode": {"x": 0, "y": 1},
                "itemStyle": {"color": OPEN_COLOUR},
            }
        ],
    }
    return Chart(option, height=280)


def win_rate_by_activity(table: pl.DataFrame) -> Chart:
    """Per activity type, the win rate of the deals closed with one before closing beside
    that of the deals closed without; the tooltip gives the activities per won deal."""
    shown = table.filter(pl.col("win_rate_with").is_not_null())
    types = [str(t).capitalize() for t in shown["activity_type"].to_list()]
    per_won = [fmt.number(v) for v in shown["activities_per_won_deal"].to_list()]

    def series(column: str, name: str, colour: str) -> dict[str, object]:
        values = [
            [None if r is None else round(r * 100, 1), i, kind, fmt.pct(r), n]
            for i, (kind, r, n) in enumerate(
                zip(types, shown[column].to_list(), per_won, strict=True)
            )
        ]
        return _bars(name, colour, values)

    option = {
        "grid": {**GRID, "right": 40, "top": 40, "bottom": 30},
        "legend": {"top": 0},
        "tooltip": {
            "trigger": "item",
            "formatter": "{@[2]}<br/>{a}: {@[3]}<br/>Per won deal: {@[4]}",
        },
        "xAxis": value_axis("Win rate", percent=True, below=True, max=100),
        "yAxis": {"type": "category", "data": types, "inverse": True},
        "series": [
            series("win_rate_with", "With the activity", WON_COLOUR),
            series("win_rate_without", "Without", LOST_COLOUR),
        ],
    }
    return Chart(option, height=max(240, 44 * len(types) + 90))
