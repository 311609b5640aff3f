"""Salespeople: who sells most, who sells most profitably, who is climbing."""

import polars as pl
import streamlit as st

from ui import charts, page_data
from ui import format as fmt
from ui.page import (
    begin,
    colours,
    fact_tile,
    kpi_tiles,
    no_comparison_reason,
    show_chart,
    stop_if_empty,
)
from ui.profile import member_profile
from ui.tables import against_target, beside_pipeline, data_table

# A margin leader must sell at least this share of the top seller's net sales,
# so one tiny sale at a high margin does not top the board.
MARGIN_LEADER_MIN_SHARE_OF_TOP = 0.25
TREND_MEMBERS = 6

state = begin("Salespeople", "Who sells most profitably, and who is moving up or down?")
data = page_data.salespeople(state)
if isinstance(data, page_data.Profile):
    member_profile(state, data)  # its profile, not a board of one
table = data.table
selling = table.filter(pl.col("orders") > 0)
stop_if_empty(selling.is_empty(), "salespeople")
rep_colours = colours("salesperson", state.version)

top = selling.row(0, named=True)
eligible = selling.filter(pl.col("net_sales") >= MARGIN_LEADER_MIN_SHARE_OF_TOP * top["net_sales"])
margin_leader = eligible.sort(
    ["gross_margin_pct", "salesperson"], descending=[True, False], nulls_last=True
).row(0, named=True)
tiles = st.columns(4)
fact_tile(
    tiles[0],
    "Salespeople selling",
    fmt.count(selling.height),
    "Salespeople with at least one invoice in the window.",
)
fact_tile(
    tiles[1],
    "Top seller",
    top["salesperson"],
    "Highest net sales in the window.",
    delta=fmt.kes_compact(top["net_sales"]),
)
fact_tile(
    tiles[2],
    "Best margin",
    margin_leader["salesperson"],
    "Highest gross margin among salespeople selling at least a quarter of the top "
    "seller's net sales.",
    delta=fmt.pct(margin_leader["gross_margin_pct"]),
)
if "rank_change" in selling.columns and selling["rank_change"].drop_nulls().len():
    climber = selling.sort(["rank_change", "net_sales"], descending=True, nulls_last=True).row(
        0, named=True
    )
    fact_tile(
        tiles[3],
        "Biggest climber",
        climber["salesperson"],
        "Most places gained in the net-sales ranking vs the comparison window.",
        delta=f"+{climber['rank_change']} places" if climber["rank_change"] else "no change",
    )
else:
    fact_tile(tiles[3], "Biggest climber", "–", no_comparison_reason(state))

totals = data.totals.row(0, named=True)
kpi_tiles(totals, ("net_sales", "gross_profit", "gross_margin_pct", "aov"))

left, right = st.columns(2)
with left:
    st.subheader("Leaderboard by net sales")
    show_chart(
        charts.leaderboard_bar(selling, "salesperson", "net_sales", "Net sales", rep_colours),
        key="rep_bar",
        drill_into="salespeople",
    )
with right:
    st.subheader("Volume against margin")
    st.caption("Right is more sales, up is a better margin; bubble size is orders.")
    show_chart(
        charts.profit_map(selling, "salesperson", rep_colours),
        key="rep_scatter",
        drill_into="salespeople",
    )

st.subheader(f"Top {TREND_MEMBERS} salespeople by {state.filters.grain}")
leaders = selling.head(TREND_MEMBERS)["salesperson"].to_list()
show_chart(
    charts.member_lines(
        data.trend,
        "salesperson",
        "net_sales",
        "Net sales (KES)",
        rep_colours,
        leaders,
        grain=state.view.grain,
        partial=state.partial_periods,
    ),
)

against_target(
    table,
    "salesperson",
    name="salespeople-targets",
    filters=state.filters,
    window=state.window,
)

beside_pipeline(
    table,
    data.pipeline,
    "salesperson",
    name="salespeople-pipeline",
    filters=state.filters,
    window=state.window,
)

st.subheader("All salespeople")
data_table(
    table,
    name="salespeople",
    filters=state.filters,
    window=state.window,
    drill_column="salesperson",
)
