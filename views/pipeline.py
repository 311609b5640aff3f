"""Pipeline: what is being sold, what we win and lose and why, how long deals take."""

from typing import Any

import polars as pl
import streamlit as st

from core.kpi.activities import BY_NAME as ACTIVITY_KPIS
from core.kpi.influence import INFLUENCE_DAYS
from core.kpi.pipeline import BY_NAME, STUCK_LIMIT
from ui import format as fmt
from ui import page_data
from ui.charts import pipeline as charts
from ui.page import begin, fact_tile, show_chart
from ui.tables import data_table

NO_DEALS = (
    "No CRM deals are loaded for the branches you may see. An admin loads a CRM export "
    "(HubSpot, Salesforce, Pipedrive, Zoho or Odoo) on the Upload page with the dataset "
    "*CRM deals*, or with `python -m ingest FILE --dataset opportunities`."
)

NO_ACTIVITIES = (
    "No sales activity (call, visit, meeting, quote, demo) is recorded on the deals in "
    "view. An admin loads a CRM's activity export on the Upload page with the dataset "
    "*Sales activities*, or with `python -m ingest FILE --dataset activities`."
)


def change(row: dict[str, object], name: str) -> str | None:
    """The tile's delta against the comparison window: points for rates, % for the rest."""
    current, previous = row.get(name), row.get(f"{name}_prev")
    if not isinstance(current, int | float) or not isinstance(previous, int | float):
        return None
    if BY_NAME[name].format == "pct":
        return f"{fmt.points(current - previous)} vs comparison"
    if previous == 0:
        return None
    return f"{(current - previous) / previous * 100:+.1f}% vs comparison"


def tile(column: Any, row: dict[str, object], name: str, value: str) -> None:
    kpi = BY_NAME[name]
    fact_tile(column, kpi.label, value, kpi.description, delta=change(row, name))


state = begin("Pipeline", "What is in the pipeline, what do we win and lose, and why?")
data = page_data.pipeline(state)
if data.stored == 0:
    st.info(NO_DEALS, icon=":material/filter_alt:")
    st.stop()
row = data.summary.row(0, named=True)

tiles = st.columns(4)
tile(tiles[0], row, "open_amount", fmt.kes_compact(row["open_amount"]))
tile(tiles[1], row, "won_amount", fmt.kes_compact(row["won_amount"]))
tile(tiles[2], row, "win_rate", fmt.pct(row["win_rate"]))
tile(tiles[3], row, "avg_won_amount", fmt.kes_compact(row["avg_won_amount"]))
tiles = st.columns(4)
tile(tiles[0], row, "open_deals", fmt.count(row["open_deals"]))
fact_tile(
    tiles[1],
    "Deals closed",
    f"{fmt.count(row['won_deals'])} won · {fmt.count(row['lost_deals'])} lost",
    "Deals won and deals lost (closed) inside the window.",
    delta=change(row, "won_deals"),
)
cycle = row["median_cycle_days"]
tile(tiles[2], row, "median_cycle_days", "–" if cycle is None else f"{cycle:.0f} days")
tile(tiles[3], row, "velocity_per_day", fmt.kes_compact(row["velocity_per_day"]))

left, right = st.columns(2)
with left:
    st.subheader("Stage funnel")
    st.caption(
        "Deals created in the window by the furthest stage they reached; the label is the "
        "share that went on to the next stage."
    )
    if data.funnel.is_empty():
        st.info("No deal was created in this window.", icon=":material/info:")
    else:
        show_chart(charts.funnel(data.funnel))
with right:
    st.subheader("Open pipeline by age")
    st.caption("Deals still open on the window's last day, by the days they have been open.")
    show_chart(charts.open_by_age(data.ageing))

st.subheader("Won and lost by salesperson")
closed = data.salespeople.filter((pl.col("won_deals") + pl.col("lost_deals")) > 0)
if closed.is_empty():
    st.info("No deal closed in this window.", icon=":material/info:")
else:
    show_chart(charts.won_and_lost(closed, "salesperson"), key="won_lost", drill_into="salespeople")

left, right = st.columns(2)
with left:
    st.subheader("Lead sources")
    st.caption("Won and lost amounts per source of the deal; the tooltip gives the win rate.")
    sources = data.lead_sources.filter((pl.col("won_deals") + pl.col("lost_deals")) > 0)
    if not sources.is_empty():
        show_chart(charts.won_and_lost(sources, "lead_source"), key="sources")
with right:
    st.subheader("Why deals are lost")
    if data.lost_reasons.is_empty():
        st.info("No deal was lost in this window.", icon=":material/info:")
    else:
        data_table(
            data.lost_reasons.with_columns(pl.col("lost_reason").fill_null("(not recorded)")),
            name="lost-reasons",
            filters=state.filters,
            window=state.window,
        )

st.subheader("Revenue the won deals brought, by lead source")
st.caption(
    f"Invoiced net sales of the invoices a won deal names, or, for a deal naming none, the "
    f"same customer's invoices in the {INFLUENCE_DAYS} days after it closed; each invoice "
    "counts once."
)
if data.influenced.is_empty():
    st.info("No deal was won in this window.", icon=":material/info:")
else:
    data_table(
        data.influenced.with_columns(pl.col("lead_source").fill_null("(not recorded)")),
        name="influenced-revenue",
        filters=state.filters,
        window=state.window,
    )

st.subheader("Activities and outcomes")
if data.activities.is_empty():
    st.info(NO_ACTIVITIES, icon=":material/info:")
else:
    visits = data.visits.row(0, named=True)
    tiles = st.columns(4)
    for column, name, value in (
        (tiles[0], "win_rate_with_visit", fmt.pct(visits["win_rate_with_visit"])),
        (tiles[1], "closed_with_visit", fmt.count(visits["closed_with_visit"])),
        (tiles[2], "win_rate_without_visit", fmt.pct(visits["win_rate_without_visit"])),
        (tiles[3], "closed_without_visit", fmt.count(visits["closed_without_visit"])),
    ):
        kpi = ACTIVITY_KPIS[name]
        fact_tile(column, kpi.label, value, kpi.description)
    left, right = st.columns(2)
    with left:
        st.caption(
            "Of the deals closed in the window, the win rate of those with an activity of "
            "the type before closing and of those without."
        )
        show_chart(charts.win_rate_by_activity(data.activities), key="activity_win_rates")
    with right:
        data_table(data.activities, name="activities", filters=state.filters, window=state.window)

st.subheader(f"Oldest open deals (up to {STUCK_LIMIT})")
if data.stuck.is_empty():
    st.info("No deal is open on the window's last day.", icon=":material/info:")
else:
    data_table(data.stuck, name="stuck-deals", filters=state.filters, window=state.window)

st.subheader("All salespeople")
data_table(
    data.salespeople,
    name="pipeline-salespeople",
    filters=state.filters,
    window=state.window,
    drill_column="salesperson",
)
st.subheader("Branches")
data_table(
    data.branches,
    name="pipeline-branches",
    filters=state.filters,
    window=state.window,
    drill_column="branch",
)
