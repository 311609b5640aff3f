"""Branches: how they compare, how they move over time, what each one sells."""

import polars as pl
import streamlit as st

from ui import charts, forecast_panel, page_data
from ui import format as fmt
from ui.page import begin, colours, fact_tile, no_comparison_reason, show_chart, stop_if_empty
from ui.profile import member_profile
from ui.tables import against_target, data_table

state = begin("Branches", "How do the branches compare, and how are they moving over time?")


def forecast_panels() -> None:
    """Where the month lands and the flagged days: below the board, or a profile."""
    forecast_panel.landing(state)
    forecast_panel.anomaly_list(state, forecast_panel.flagged_days(state))


# One branch in focus (a user who sees one branch has nothing to compare it with): its profile.
data = page_data.branches(state)
if isinstance(data, page_data.Profile):
    member_profile(state, data, after=forecast_panels)  # its profile, not a board of one
table = data.table
stop_if_empty(table.is_empty(), "branches")
branch_colours = colours("branch", state.version)
selling = table.filter(pl.col("orders") > 0)
stop_if_empty(selling.is_empty(), "branch sales")

top = selling.row(0, named=True)
tiles = st.columns(4)
fact_tile(
    tiles[0],
    "Branches selling",
    f"{selling.height} of {table.height}",
    "Branches with at least one invoice in the window, of those in scope.",
)
fact_tile(
    tiles[1],
    "Top branch",
    top["branch"],
    "Highest net sales in the window.",
    delta=f"{fmt.pct(top['share_of_net_sales'])} of sales",
)
if "growth_pct" in table.columns and table["growth_pct"].drop_nulls().len():
    grower = table.sort("growth_pct", descending=True, nulls_last=True).row(0, named=True)
    fact_tile(
        tiles[2],
        "Fastest growing",
        grower["branch"],
        "Largest net-sales growth vs the comparison window.",
        delta=fmt.pct(grower["growth_pct"]),
    )
else:
    fact_tile(tiles[2], "Fastest growing", "–", no_comparison_reason(state))
weakest = selling.sort("gross_margin_pct", nulls_last=True).row(0, named=True)
fact_tile(
    tiles[3],
    "Lowest margin",
    weakest["branch"],
    "Lowest gross margin in the window.",
    delta=fmt.pct(weakest["gross_margin_pct"]),
)

left, right = st.columns(2)
with left:
    st.subheader("Net sales and share")
    show_chart(
        charts.leaderboard_bar(table, "branch", "net_sales", "Net sales", branch_colours),
        key="branch_bar",
        drill_into="branches",
    )
with right:
    st.subheader(f"Net sales by {state.filters.grain}")
    trend_chart = charts.member_lines(
        data.trend,
        "branch",
        "net_sales",
        "Net sales (KES)",
        branch_colours,
        grain=state.view.grain,
        partial=state.partial_periods,
    )
    # Drawn now, redrawn with the flagged days once the forecast is fitted (at the end).
    trend_slot = st.empty()
    with trend_slot.container():
        show_chart(trend_chart)

st.subheader("Branch by month")
by_month = data.by_month.with_columns(month=pl.col("period").dt.strftime("%Y-%m"))
metric = (
    st.segmented_control(
        "Show", ["Net sales", "Gross profit"], default="Net sales", key="branch_month_metric"
    )
    or "Net sales"
)
show_chart(
    charts.heatmap(
        by_month,
        "month",
        "branch",
        "net_sales" if metric == "Net sales" else "gross_profit",
        "kes",
        metric,
        x_label="Month",
        y_label="Branch",
    ),
)

st.subheader("What each branch sells")
st.caption("Each product line's share of the branch's net sales.")
show_chart(
    charts.heatmap(
        data.line_mix,
        "product_line",
        "branch",
        "share_of_branch",
        "pct",
        "Share of branch",
        x_label="Product line",
        y_label="Branch",
    ),
)

against_target(table, "branch", name="branches-targets", filters=state.filters, window=state.window)

st.subheader("All branches")
data_table(
    table, name="branches", filters=state.filters, window=state.window, drill_column="branch"
)

forecast_panel.landing(state)
flagged = forecast_panel.flagged_days(state)
forecast_panel.anomaly_list(state, flagged)
if state.view.grain == "day" and not flagged.is_empty():
    with trend_slot.container():
        show_chart(charts.with_anomalies(trend_chart, flagged, state.view.grain))
elif not flagged.is_empty():
    st.caption("The trend chart rings these days at the day grain.")
