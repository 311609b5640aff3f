"""Plotly charts with one colour per branch and per product line on every page."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import polars as pl

PALETTE = px.colors.qualitative.Safe + px.colors.qualitative.Vivid
PLOT_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}


def colour_map(members: list[str]) -> dict[str, str]:
    """Colours by the member's position among all members, so they never change between charts."""
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(sorted(members))}


def styled(fig: go.Figure, title: str | None = None) -> go.Figure:
    fig.update_layout(margin=PLOT_MARGIN, title=title, legend_title_text="", hovermode="x unified")
    return fig


def trend_with_comparison(
    current: pl.DataFrame, previous: pl.DataFrame | None, value: str, label: str
) -> go.Figure:
    """A line over the window; the comparison window's line aligned by bucket position."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=current["period"].to_list(), y=current[value].to_list(),
                             name=label, mode="lines+markers"))
    if previous is not None and not previous.is_empty():
        n = min(current.height, previous.height)
        fig.add_trace(go.Scatter(
            x=current["period"].head(n).to_list(), y=previous[value].head(n).to_list(),
            name=f"{label} (comparison)", mode="lines", line={"dash": "dot"},
            customdata=previous["period"].head(n).to_list(),
            hovertemplate="%{customdata}: %{y:,.0f}",
        ))
    fig.update_yaxes(tickformat=",.0f")
    return styled(fig)
