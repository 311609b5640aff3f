"""Overview: headline KPIs against the comparison window and targets, the four answers,
the trend, and where the month lands."""

import streamlit as st

from core.kpi import customers as customer_kpis
from core.kpi.catalogue import BY_NAME
from ui import charts, forecast_panel, page_data
from ui import format as fmt
from ui.page import begin, fact_tile, kpi_tiles, show_chart, stop_if_empty
from ui.tables import data_table, downloads

HEADLINE_TILES = (
    "net_sales",
    "gross_profit",
    "gross_margin_pct",
    "orders",
    "aov",
    "active_customers",
    "units",
    "discount_rate",
)

state = begin("Overview", "How is the business doing, and where should you look first?")
view = state.view
data = page_data.overview(state)
headline = data.totals.row(0, named=True)
stop_if_empty(not headline["orders"], "sales")
kpi_tiles(headline, HEADLINE_TILES)
targets_row = st.columns(4)
if data.attainment is not None and headline.get("target") is not None:
    attained = data.attainment
    partly = attained.months_with_target < attained.months_in_window
    fact_tile(
        targets_row[0],
        "Net sales vs target",
        fmt.pct(headline["attainment_pct"], 0),
        "Net sales / target over the window; each month's target counts in proportion to "
        "its days in the window."
        + (
            f" Only {fmt.plural(attained.months_with_target, 'month')} of "
            f"{attained.months_in_window} have a target: the other months count in neither."
            if partly
            else ""
        ),
        delta=f"{fmt.kes_compact(attained.actual)} of {fmt.kes_compact(headline['target'])}",
    )
for tile, rate in zip(targets_row[1:3], data.run_rates, strict=True):
    label = "This month" if rate.period == "month" else "This quarter"
    fact_tile(
        tile,
        f"{label}: projected",
        fmt.kes_compact(rate.projected) if rate.projected is not None else "–",
        f"Net sales projected to {rate.end:%d %b %Y} from {fmt.kes(rate.actual)} in "
        f"{rate.to_date.start:%d %b}-{rate.to_date.end:%d %b} ({rate.method or 'no sales yet'}). "
        "The date filter does not change it; the member filters do.",
        delta=(
            f"target {fmt.kes_compact(rate.target)} ({fmt.pct(rate.projected_attainment_pct, 0)})"
            if rate.target is not None
            else "no target"
        ),
    )
with st.expander("Exact figures"):
    st.table(
        {
            "KPI": [BY_NAME[n].label for n in HEADLINE_TILES],
            "Value": [fmt.kpi_exact(n, headline[n]) for n in HEADLINE_TILES],
            "Comparison": [fmt.kpi_exact(n, headline.get(f"{n}_prev")) for n in HEADLINE_TILES],
        }
    )
    downloads(data.totals, "overview", state.filters, key="exact_figures", window=state.window)

st.subheader("At a glance")
top_row, bottom_row = st.columns(2), st.columns(2)
answers = [*top_row, *bottom_row]
leaders = {row["dimension"]: row for row in data.leaders.iter_rows(named=True)}
if best := leaders.get("salesperson"):
    answers[0].page_link(
        "views/salespeople.py",
        label=f"Most gross profit, salesperson: {fmt.plain(best['member'])}",
        icon=":material/badge:",
        help=f"{fmt.kes(best['gross_profit'])} at {fmt.pct(best['gross_margin_pct'])}",
    )
if earner := leaders.get("product_line"):
    answers[1].page_link(
        "views/products.py",
        label=f"Most gross profit, line: {fmt.plain(earner['member'])}",
        icon=":material/inventory_2:",
        help=f"{fmt.kes(earner['gross_profit'])} gross profit",
    )
if lead := leaders.get("branch"):
    answers[2].page_link(
        "views/branches.py",
        label=f"Leading branch: {fmt.plain(lead['member'])}",
        icon=":material/storefront:",
        help=f"{fmt.pct(lead['share_of_net_sales'])} of net sales",
    )
slipping, slipping_sales = customer_kpis.slipping_away(data.segments)
short = state.window.days < customer_kpis.SHORT_RFM_DAYS
answers[3].page_link(
    "views/customers.py",
    label=f"Customers slipping away: {slipping:,}" + (" (a short window)" if short else ""),
    icon=":material/groups:",
    help=f"{fmt.kes(slipping_sales)} of net sales in the window."
    + (
        f" Scored over {fmt.plural(state.window.days, 'day')} only: a customer who bought a "
        "few days ago can already count as slipping away. A window of "
        f"{customer_kpis.SHORT_RFM_DAYS} days or more gives a steadier figure."
        if short
        else ""
    ),
)

st.subheader(f"Net sales by {state.filters.grain}")
show_chart(
    charts.trend_with_comparison(
        data.trend,
        data.previous,
        "net_sales",
        "Net sales (KES)",
        grain=view.grain,
        partial=state.partial_periods,
    )
)
data_table(data.trend, name="trend", filters=state.filters, window=state.window)
# Last: the first visit of a new view fits the model (a fraction of a second).
forecast_panel.landing(state, per_branch=False)
