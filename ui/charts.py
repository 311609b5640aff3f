"""Plotly charts with one colour per branch and per product line on every page."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import polars as pl

from ui import format as fmt

PALETTE = px.colors.qualitative.Safe + px.colors.qualitative.Vivid
PLOT_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}


def colour_map(members: list[str]) -> dict[str, str]:
    """Colours by the member's position among all members, so they never change between charts."""
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(sorted(members))}


def styled(fig: go.Figure, title: str | None = None) -> go.Figure:
    fig.update_layout(margin=PLOT_MARGIN, title=title, legend_title_text="", hovermode="x unified")
    return names_as_text(fig)


# Trace attributes that carry names from the data into what Plotly draws.
_NAMED_ATTRIBUTES = ("x", "y", "labels", "ids", "parents", "text", "hovertext")


def names_as_text(fig: go.Figure) -> go.Figure:
    """Names from the data shown as typed: Plotly reads `<b>`, `<a href>` in any label.

    `customdata` keeps the raw names: drill-down reads the member from it.
    """
    for trace in fig.data:
        for attribute in _NAMED_ATTRIBUTES:
            values = getattr(trace, attribute, None)
            if values is None or isinstance(values, str):
                continue
            if any(isinstance(v, str) for v in values):
                trace[attribute] = [fmt.chart_text(v) if isinstance(v, str) else v for v in values]
        if isinstance(getattr(trace, "name", None), str):
            trace.name = fmt.chart_text(trace.name)
    return fig


def trend_with_comparison(
    current: pl.DataFrame, previous: pl.DataFrame | None, value: str, label: str
) -> go.Figure:
    """A line over the window; the comparison window's line aligned by bucket position."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=current["period"].to_list(),
            y=current[value].to_list(),
            name=label,
            mode="lines+markers",
        )
    )
    if previous is not None and not previous.is_empty():
        n = min(current.height, previous.height)
        fig.add_trace(
            go.Scatter(
                x=current["period"].head(n).to_list(),
                y=previous[value].head(n).to_list(),
                name=f"{label} (comparison)",
                mode="lines",
                line={"dash": "dot"},
                customdata=previous["period"].head(n).to_list(),
                hovertemplate="%{customdata}: %{y:,.0f}",
            )
        )
    fig.update_yaxes(tickformat=",.0f")
    return styled(fig)


def _money_axis(fig: go.Figure, axis: str = "x") -> None:
    (fig.update_xaxes if axis == "x" else fig.update_yaxes)(tickformat=",.0f", title_text="KES")


def leaderboard_bar(
    frame: pl.DataFrame,
    key: str,
    value: str,
    label: str,
    colours: dict[str, str] | None = None,
    top: int = 15,
) -> go.Figure:
    """Horizontal bars of the top members, best on top; each bar carries its member to drill."""
    shown = frame.filter(pl.col(value).is_not_null()).sort(value, descending=True).head(top)
    members = shown[key].to_list()
    colour = [colours.get(m, PALETTE[0]) for m in members] if colours else PALETTE[0]
    margin = (
        shown["gross_margin_pct"].to_list()
        if "gross_margin_pct" in shown.columns
        else [None] * len(members)
    )
    fig = go.Figure(
        go.Bar(
            x=shown[value].to_list(),
            y=members,
            orientation="h",
            marker_color=colour,
            customdata=[[m, g] for m, g in zip(members, margin, strict=True)],
            hovertemplate="%{y}<br>"
            + label
            + ": KES %{x:,.0f}<br>Margin: %{customdata[1]:.1%}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", type="category")
    _money_axis(fig)
    fig.update_layout(height=max(260, 28 * len(members) + 80), hovermode="closest")
    return styled(fig)


def profit_map(frame: pl.DataFrame, key: str, colours: dict[str, str] | None = None) -> go.Figure:
    """Net sales (x) against gross margin (y), bubble size = orders: who sells most profitably."""
    shown = frame.filter(pl.col("net_sales") > 0)
    fig = px.scatter(
        shown.to_pandas(),
        x="net_sales",
        y="gross_margin_pct",
        size="orders",
        color=key,
        color_discrete_map=colours,
        hover_name=key,
        custom_data=[key],
        labels={
            "net_sales": "Net sales (KES)",
            "gross_margin_pct": "Gross margin",
            "orders": "Orders",
        },
    )
    fig.update_yaxes(tickformat=".1%")
    fig.update_xaxes(tickformat=",.0f")
    fig.update_layout(showlegend=shown.height <= 12, hovermode="closest")
    return styled(fig)


def member_lines(
    frame: pl.DataFrame,
    key: str,
    value: str,
    label: str,
    colours: dict[str, str] | None = None,
    members: list[str] | None = None,
) -> go.Figure:
    """One line per member over time (optionally only `members`)."""
    shown = frame.filter(pl.col(key).is_in(members)) if members is not None else frame
    fig = px.line(
        shown.sort("period").to_pandas(),
        x="period",
        y=value,
        color=key,
        color_discrete_map=colours,
        markers=True,
        labels={value: label, "period": ""},
    )
    fig.update_yaxes(tickformat=".0%" if value.endswith("_pct") else ",.0f")
    return styled(fig)


def pareto(products: pl.DataFrame) -> go.Figure:
    """Cumulative share of net sales against the share of products, with the 80% line."""
    ranked = products.filter(pl.col("cumulative_share").is_not_null())
    n = ranked.height
    x = [(i + 1) / n for i in range(n)]
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=ranked["cumulative_share"].to_list(),
            mode="lines",
            name="Cumulative share",
            customdata=ranked.select("product_id", "product_name").rows(),
            hovertemplate="%{customdata[1]} (%{customdata[0]})<br>Top %{x:.0%} of products: "
            "%{y:.1%} of net sales<extra></extra>",
        )
    )
    fig.add_hline(
        y=0.8,
        line_dash="dash",
        annotation_text="80% of net sales",
        annotation_position="bottom right",
    )
    fig.update_xaxes(tickformat=".0%", title_text="Share of products (best first)")
    fig.update_yaxes(tickformat=".0%", title_text="Cumulative share of net sales", range=[0, 1.05])
    fig.update_layout(hovermode="closest")
    return styled(fig)


ABC_COLOURS = {"A": "#1b7837", "B": "#f1a340", "C": "#b2182b"}


def abc_bars(summary: pl.DataFrame) -> go.Figure:
    """Products and share of net sales per ABC class."""
    fig = go.Figure(
        go.Bar(
            x=summary["abc_class"].to_list(),
            y=summary["share_of_net_sales"].to_list(),
            marker_color=[ABC_COLOURS.get(c, PALETTE[0]) for c in summary["abc_class"].to_list()],
            text=[f"{p:,} products" for p in summary["products"].to_list()],
            textposition="auto",
            hovertemplate="Class %{x}: %{y:.1%} of net sales, %{text}<extra></extra>",
        )
    )
    fig.update_yaxes(tickformat=".0%", title_text="Share of net sales")
    fig.update_layout(hovermode="closest")
    return styled(fig)


def line_product_treemap(products: pl.DataFrame, colours: dict[str, str]) -> go.Figure:
    """Product lines split into their products, sized by net sales (negative totals shown as 0)."""
    shown = products.filter(pl.col("net_sales") > 0).with_columns(
        label=pl.col("product_name") + " (" + pl.col("product_id") + ")"
    )
    fig = px.treemap(
        shown.to_pandas(),
        path=[px.Constant("All product lines"), "product_line", "label"],
        values="net_sales",
        color="product_line",
        color_discrete_map={"(?)": "#dddddd", **colours},
        custom_data=["gross_margin_pct"],
    )
    fig.update_traces(
        hovertemplate="%{label}<br>Net sales: KES %{value:,.0f}<extra></extra>",
        root_color="#f3f3f3",
    )
    fig.update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 0})
    return names_as_text(fig)


def heatmap(
    frame: pl.DataFrame,
    x: str,
    y: str,
    z: str,
    value_format: str,
    title: str,
    x_label: str = "",
    y_label: str = "",
) -> go.Figure:
    """A grid of `z` by `x` and `y` (missing cells blank), values printed in the cells."""
    # Sorted by x first, so the pivot's discovery order is x order (names would sort "10" < "2").
    grid = frame.sort(x).pivot(on=x, index=y, values=z).sort(y)
    columns = [c for c in grid.columns if c != y]
    values = grid.select(columns).to_numpy()
    text_format = "%{z:.0%}" if value_format == "pct" else "%{z:,.3s}"
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=columns,
            y=grid[y].to_list(),
            colorscale="Blues",
            texttemplate=text_format,
            hovertemplate=f"{y_label or y}: %{{y}}<br>{x_label or x}: %{{x}}<br>{title}: "
            + ("%{z:.1%}" if value_format == "pct" else "KES %{z:,.0f}")
            + "<extra></extra>",
            colorbar={"tickformat": ".0%" if value_format == "pct" else ",.2s"},
        )
    )
    fig.update_yaxes(type="category", autorange="reversed", title_text=y_label)
    fig.update_xaxes(type="category", title_text=x_label)
    fig.update_layout(height=max(300, 34 * grid.height + 120), hovermode="closest")
    return styled(fig)


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


def segment_map(summary: pl.DataFrame) -> go.Figure:
    """RFM segments as tiles sized by customers, with their net sales in the hover."""
    shown = summary.filter(pl.col("segment").is_not_null() & (pl.col("customers") > 0))
    fig = px.treemap(
        shown.to_pandas(),
        path=["segment"],
        values="customers",
        color="segment",
        color_discrete_map=SEGMENT_COLOURS,
        custom_data=["monetary", "share_of_net_sales"],
    )
    fig.update_traces(
        texttemplate="%{label}<br>%{value:,} customers<br>%{customdata[1]:.0%} of sales",
        hovertemplate="%{label}<br>%{value:,} customers<br>Net sales: KES %{customdata[0]:,.0f}"
        "<br>%{customdata[1]:.1%} of customers' net sales<extra></extra>",
    )
    fig.update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 0})
    return fig
