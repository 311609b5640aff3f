"""ECharts option objects with one colour per branch and per product line on every page.

Each function returns a `Chart`: the option for `st.echarts_chart`, its height,
and the member each selectable point stands for (for drill-down).

ECharts, not Plotly: Streamlit's ECharts bundle is a quarter of Plotly's, and
a page opened in a new tab drew five charts 1.2 s sooner with it on this machine.

Names from the data never go into a template or a label's formatter (those
are HTML); they travel as data and reach the screen through `{b}` and `{@[i]}`
placeholders, which are inserted as escaped text, and through axis labels,
which ECharts draws as text.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl

from ui import format as fmt

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
                if 0 <= index < len(self.members):
                    return self.members[index]
        return None


def colour_map(members: list[str]) -> dict[str, str]:
    """Colours by the member's position among all members, so they never change between charts."""
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(sorted(members))}


def _rounded(value: float | None, digits: int = 2) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), digits)


def _value_axis(
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


def _legend(names: Sequence[str]) -> tuple[dict[str, Any], int]:
    """A legend under the chart listing every name, and the rows it takes.

    Up to `LISTED_MEMBERS` names wrap onto more rows rather than page ("1/2"),
    which would hide members; a longer legend scrolls in one row."""
    if len(names) > LISTED_MEMBERS:
        return {"type": "scroll", "bottom": 0, "data": list(names)}, 1
    return {"type": "plain", "bottom": 0, "data": list(names)}, _legend_rows(names)


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
    legend, rows = _legend(legend_names)
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
            "data": [[p, _rounded(v)] for p, v in zip(periods, current[value], strict=True)],
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
                    [p, _rounded(v)]
                    for p, v in zip(periods[:n], previous[value].head(n), strict=True)
                ],
                "lineStyle": {"type": "dotted"},
                "showSymbol": alone,
                "symbolSize": _symbol_size(alone),
            }
        )
    names = [s["name"] for s in series]
    series += _partial_series(partial, labels)
    return _trend_option(series, names, x_axis, _value_axis("KES"), "%,.0f")


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
            "value": [_rounded(v), i, member, fmt.kes(v), fmt.pct(g)],
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
        "xAxis": _value_axis("KES", below=True),
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
                _rounded(net),
                _rounded((g or 0) * 100),
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
        "xAxis": _value_axis("Net sales (KES)", below=True, scale=True),
        # Room above and below the outermost bubbles, so they are not cut in half.
        "yAxis": _value_axis("Gross margin", percent=True, scale=True, boundaryGap=["8%", "8%"]),
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
    series = []
    for (member,), rows in sorted(
        shown.sort("period").partition_by(key, as_dict=True).items(), key=lambda kv: str(kv[0])
    ):
        points = zip(rows["period"].to_list(), rows[value].to_list(), strict=True)
        series.append(
            {
                "type": "line",
                "name": str(member),
                "data": [
                    [labels[_day(p)], _rounded(v * 100 if percent and v is not None else v)]
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
        _value_axis(label, percent=percent),
        "%.1f%%" if percent else "%,.0f",
    )


def pareto(products: pl.DataFrame) -> Chart:
    """Cumulative share of net sales against the share of products, with the 80% line."""
    ranked = products.filter(pl.col("cumulative_share").is_not_null())
    n = ranked.height
    data = [
        [round(100 * (i + 1) / n, 3), _rounded(100 * share, 3), f"{name} ({pid})",
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
        "xAxis": _value_axis(
            "Share of products (best first)", percent=True, below=True, min=0, max=100, interval=20
        ),
        "yAxis": _value_axis("Cumulative share", percent=True, min=0, max=100, interval=20),
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
                    "label": {"formatter": "80% of net sales", "position": "insideEndBottom"},
                    "data": [{"yAxis": 80}],
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
                _rounded(100 * (share or 0), 2),
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
        "yAxis": _value_axis("Share of sales", percent=True),
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


def _treemap(data: list[dict[str, Any]], label: str) -> dict[str, Any]:
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
    return Chart(_treemap(data, "Net sales"), height=450)


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
        [x_index[str(a)], y_index[str(b)], _rounded(c, 4), fmt.pct(c, 0) if pct else fmt.compact(c),
         str(a), str(b), fmt.pct(c) if pct else fmt.kes(c),
         f" ({partial_note})" if (str(a), str(b)) in marked else ""]
        for a, b, c in frame.select(x, y, z).iter_rows()
        if c is not None
    ]  # fmt: skip
    data: list[Any] = [
        {"value": cell, "itemStyle": PARTIAL_CELL} if cell[7] else cell for cell in cells
    ]
    values = [row[2] for row in cells if row[2] is not None]
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
    option = _treemap(data, "Customers")
    # A small tile cuts its lines short rather than spilling into its neighbours.
    option["series"][0]["label"] = {
        "formatter": "{b}\n{@[2]}\n{@[3]} of sales",
        "overflow": "truncate",
        "lineHeight": 16,  # ECharts' default spacing overprints the three lines
    }
    option["series"][0]["upperLabel"] = {"show": False}
    return Chart(option, height=400)


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
            "value": [_period_label(row["day"], "day"), _rounded(row["net_sales"])],
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
