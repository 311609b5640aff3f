"""Customers: who matters, who is new, who is slipping away."""

import polars as pl
import streamlit as st

from core.kpi import customers as kpi
from core.periods import is_month_end
from ui import charts, page_data
from ui import format as fmt
from ui.page import begin, fact_tile, show_chart, stop_if_empty
from ui.tables import data_table

state = begin(
    "Customers", "Which customers matter, and which are slipping away? (Walk-ins excluded.)"
)
data = page_data.customers(state)
table = data.table
stop_if_empty(table.is_empty(), "customers")
segments = kpi.segment_summary(table)
# From the table above: as a panel of its own it computed the whole RFM table again.
split = kpi.new_and_returning(table, state.window)
concentration = kpi.concentration(table)
lifetime = data.lifetime

new = split.filter(pl.col("status") == "new").row(0, named=True)
slipping, slipping_sales = kpi.slipping_away(table)
top_tenth = concentration.filter(pl.col("top_pct") == 0.10).row(0, named=True)
tiles = st.columns(5)
fact_tile(
    tiles[0],
    "Active customers",
    fmt.count(table.height),
    "Customers with an invoice in the window (walk-ins not counted).",
)
fact_tile(
    tiles[1],
    "New customers",
    fmt.count(new["customers"]),
    "Customers whose first-ever purchase (in this slice) is inside the window.",
    delta=f"{fmt.pct(new['share_of_customers'])} of active",
)
fact_tile(
    tiles[2],
    "Slipping away",
    fmt.count(slipping),
    f"Customers in the {', '.join(kpi.SLIPPING[:-1])} and {kpi.SLIPPING[-1]} segments.",
    delta=f"{fmt.kes_compact(slipping_sales)} in sales",
)
fact_tile(
    tiles[3],
    "Top 10% share",
    fmt.pct(top_tenth["share_of_net_sales"]),
    f"Share of customers' net sales from the top {top_tenth['customers']:,} customers.",
)
fact_tile(
    tiles[4],
    "Lifetime value",
    fmt.kes_compact(lifetime.value),
    "m r / (1 + d - r): m = gross profit per customer over the last 365 days "
    f"({fmt.kes(lifetime.avg_yearly_gross_profit)}), r = share of the year before's "
    f"customers who bought again ({fmt.pct(lifetime.retention)}), "
    f"d = {lifetime.discount_rate:.0%}.",
)

left, right = st.columns([3, 2])
with left:
    st.subheader("RFM segments")
    if state.window.days < kpi.SHORT_RFM_DAYS:
        st.caption(
            f"Scored over {fmt.plural(state.window.days, 'day')} only: recency and "
            "frequency have little room to differ, so a customer's segment can change from "
            f"one day to the next. A window of {kpi.SHORT_RFM_DAYS} days or more gives "
            "steadier segments."
        )
    note = table["rfm_note"][0]
    if note is not None:
        st.info(note, icon=":material/info:")
    show_chart(charts.segment_map(segments))
with right:
    st.subheader("New and returning")
    data_table(split, name="new-and-returning", filters=state.filters, window=state.window)
    st.subheader("Concentration")
    data_table(concentration, name="concentration", filters=state.filters, window=state.window)

data_table(segments, name="segments", filters=state.filters, window=state.window)
with st.expander("How segments are assigned"):
    st.markdown(
        "Each customer gets R, F and M scores from 1 to 5 (5 = the most recent, most invoices, "
        "highest net sales) by how many customers do worse: with *w* of the *n* customers "
        "strictly worse, the score is min(5, 1 + ⌊5 *w* / *n*⌋).\n\n"
        "- Customers with equal values score alike, at the lowest score any of them would "
        "reach: when half of all customers bought once, they all score F 1 (and F 2 may stay "
        "empty) rather than an average F that would make many of them look loyal. Splitting "
        "them by row order instead would score identical customers differently.\n"
        "- The customers with the best value always score 5.\n"
        "- A measure on which every customer is the same (recency over a single day) tells "
        "nothing: everyone scores 3 on it, and a note above the chart says so.\n\n"
        "FM is (F + M) / 2; the first matching row wins."
    )
    st.table(
        pl.DataFrame(
            [
                {
                    "Segment": name,
                    "R": f"{r_lo}–{r_hi}" if r_lo != r_hi else str(r_lo),
                    "FM": f"{fm_lo}–{fm_hi}",
                }
                for name, r_lo, r_hi, fm_lo, fm_hi in kpi.SEGMENTS
            ]
        )
    )

st.subheader("Cohort retention")
st.caption(
    "Customers first buying in each month of the window, and the share still buying "
    "each month after."
)
cohorts = data.cohorts
end = state.window.end
filling: list[tuple[str, str]] = []
if not cohorts.is_empty() and not is_month_end(end):
    # Each cohort's last month is the window's: cut short, so still filling.
    last = cohorts.filter(pl.col("months_since") == pl.col("months_since").max().over("cohort"))
    filling = [(str(m), str(c)) for m, c in last.select("months_since", "cohort").iter_rows()]
    st.caption(
        f"The window ends on {end:%d %b %Y}, so each cohort's last month, {end:%b %Y}, has "
        f"only {fmt.plural(end.day, 'day')} in it: its retention (the dashed cells) is still "
        "filling, not falling."
    )
if not cohorts.is_empty() and cohorts["months_since"].max() == 0:
    st.caption(
        "The window holds one calendar month, so every cohort is in its first month, "
        "100% by definition: retention needs a window over two months or more."
    )
if cohorts.is_empty():
    st.info("No customer made a first purchase inside this window.")
else:
    show_chart(
        charts.heatmap(
            cohorts,
            "months_since",
            "cohort",
            "retention_pct",
            "pct",
            "Retention",
            x_label="Months since first purchase",
            y_label="First purchase",
            partial=filling,
            partial_note=f"still filling: {end:%b %Y} so far",
        ),
    )
    data_table(cohorts, name="cohorts", filters=state.filters, window=state.window)

st.subheader("Customers")
segment_pick = st.multiselect(
    "Segments", kpi.SEGMENT_NAMES, placeholder="All segments", key="customer_segments"
)
shown = table.filter(pl.col("segment").is_in(segment_pick)) if segment_pick else table
data_table(shown, name="customers", filters=state.filters, window=state.window)
