"""What every chart shares: the `Chart` it returns, the palette, sizes, value axes,
legends and the treemap series."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# Colour-blind safe qualitative colours, then more (Plotly's Safe and Vivid sets).
PALETTE = (
    "#88CCEE", "#CC6677", "#DDCC77", "#117733", "#332288", "#AA4499",
    "#44AA99", "#999933", "#882255", "#661100", "#6699CC", "#888888",
    "#E58606", "#5D69B1", "#52BCA3", "#99C945", "#CC61B0", "#24796C",
    "#DAA51B", "#2F8AC4", "#764E9F", "#ED645A", "#CC3A8E", "#A5AA99",
)  # fmt: skip
HEIGHT = 350
GRID = {"left": 10, "right": 20, "top": 30, "bottom": 10, "containLabel": True}
BLUES = ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"]
PARTIAL_SHADE = "rgba(128, 128, 128, 0.15)"  # grey that reads on light and dark themes
CHAR_WIDTH = 7  # px of an average 12 px character, to size labels before they are drawn
LINE_HEIGHT = 15  # px a line of 12 px text


@dataclass(frozen=True)
class Chart:
    option: dict[str, Any]
    height: int = HEIGHT
    # The member behind each data index of series 0, for charts one can click to drill.
    members: tuple[str, ...] = field(default_factory=tuple)

    @property
    def spec(self) -> dict[str, Any]:
        """The option as drawn: without the entry animation, which delays the final picture."""
        return {"animation": False, **self.option}

    def member_at(self, selection: Any) -> str | None:
        """The member of the first selected point of series 0, if any."""
        for group in selection.get("selected", []) if selection else []:
            if group.get("series_index", 0) != 0:
                continue
            for index in group.get("data_indices", []):
                if isinstance(index, int) and 0 <= index < len(self.members):
                    return self.members[index]
        return None


def colour_map(members: list[str]) -> dict[str, str]:
    """Colours by the member's position among all members, so they never change between charts."""
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(sorted(members))}


def rounded(value: float | None, digits: int = 2) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), digits)


def value_axis(
    name: str, *, percent: bool = False, below: bool = False, **settings: Any
) -> dict[str, Any]:
    """A value axis named `name`: `percent` for values already in percent (x100),
    `below` for its name under the axis rather than at its end.

    Every split is labelled: the Streamlit theme hides labels that would touch,
    which leaves an uneven-looking scale (0, 5M, 15M), so there are fewer splits instead."""
    label: dict[str, Any] = {"hideOverlap": False}
    if percent:
        label["formatter"] = "{value}%"
    axis: dict[str, Any] = {
        "type": "value",
        "name": name,
        # ECharts' 5 splits crowd a half-width chart with "25,000,000"s, side by side below it.
        "splitNumber": 3 if below else 4,
        "axisLabel": label,
        **settings,
    }
    if below:
        axis.update(nameLocation="middle", nameGap=25)
    return axis


LEGEND_WIDTH = 560  # px a legend has in a half-width chart at 1400 px, the narrowest in use
LEGEND_ROW = 22  # px per legend row
LISTED_MEMBERS = 12  # a legend this long still fits in a few rows; beyond it, it scrolls


def _legend_rows(names: Sequence[str]) -> int:
    """How many rows a wrapping legend of `names` takes: each item is its symbol, text, gap."""
    rows, used = 1, 0
    for name in names:
        width = 25 + 5 + CHAR_WIDTH * len(name) + 10  # ECharts' symbol, its gap, text, itemGap
        if used and used + width > LEGEND_WIDTH:
            rows, used = rows + 1, 0
        used += width
    return rows


def bottom_legend(names: Sequence[str]) -> tuple[dict[str, Any], int]:
    """A legend under the chart listing every name, and the rows it takes.

    Up to `LISTED_MEMBERS` names wrap onto more rows rather than page ("1/2"),
    which would hide members; a longer legend scrolls in one row."""
    if len(names) > LISTED_MEMBERS:
        return {"type": "scroll", "bottom": 0, "data": list(names)}, 1
    return {"type": "plain", "bottom": 0, "data": list(names)}, _legend_rows(names)


def treemap(data: list[dict[str, Any]], label: str) -> dict[str, Any]:
    return {
        "tooltip": {"trigger": "item", "formatter": f"{{b}}<br/>{label}: {{@[1]}}"},
        "series": [
            {
                "type": "treemap",
                "data": data,
                "roam": False,
                "nodeClick": False,
                "breadcrumb": {"show": False},
                "width": "100%",
                "height": "100%",
                "top": 0,
                "left": 0,
                "upperLabel": {"show": True, "height": 22},
                "levels": [
                    {"itemStyle": {"borderWidth": 2, "gapWidth": 2, "borderColor": "#f3f3f3"}},
                    {"itemStyle": {"gapWidth": 1}},
                ],
            }
        ],
    }
