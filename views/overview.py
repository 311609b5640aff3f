"""Overview: headline KPIs against the comparison window, the trend, and the four answers."""

import streamlit as st

from core import cache
from core.kpi import customers as customer_kpis
from core.kpi.catalogue import BY_NAME
from ui import charts, forecast_panel
from ui import format as fmt
from ui.page import begin, kpi_tiles, show_chart, stop_if_empty
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
view, version = state.view, state.version
headline = cache.area("overview", view, version).row(0, named=True)
stop_if_empty(not headline["orders"], "sales")
kpi_tiles(headline, HEADLINE_TILES)
with st.expander("Exact figures"):
    st.table(
        {
            "KPI": [BY_NAME[n].label for n in HEADLINE_TILES],
            "Value": [fmt.kpi_exact(n, headline[n]) for n in HEADLINE_TILES],
            "Comparison": [fmt.kpi_exact(n, headline.get(f"{n}_prev")) for n in HEADLINE_TILES],
        }
    )
    exact = cache.area("overview", view, version)
    downloads(exact, "overview", state.filters, key="exact_figures", window=view.window)

st.subheader("At a glance")
top_row, bottom_row = st.columns(2), st.columns(2)
answers = [*top_row, *bottom_row]
leaders = {
    row["dimension"]: row for row in cache.panel("leaders", view, version).iter_rows(named=True)
}
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
slipping, slipping_sales = customer_kpis.slipping_away(cache.panel("segments", view, version))
short = view.window.days < customer_kpis.SHORT_RFM_DAYS
answers[3].page_link(
    "views/customers.py",
    label=f"Customers slipping away: {slipping:,}" + (" (a short window)" if short else ""),
    icon=":material/groups:",
    help=f"{fmt.kes(slipping_sales)} of net sales in the window."
    + (
        f" Scored over {fmt.plural(view.window.days, 'day')} only: a customer who bought a "
        "few days ago can already count as slipping away. A window of "
        f"{customer_kpis.SHORT_RFM_DAYS} days or more gives a steadier figure."
        if short
        else ""
    ),
)

trend = cache.panel("sales_trend", view, version)
# A comparison window before the first sale would draw a line of zeros: left out.
compared = view.comparison is not None and state.comparison_has_data
previous = cache.panel("trend_comparison", view, version) if compared else None
st.subheader(f"Net sales by {state.filters.grain}")
show_chart(
    charts.trend_with_comparison(
        trend,
        previous,
        "net_sales",
        "Net sales (KES)",
        grain=view.grain,
        partial=state.partial_periods,
    )
)
data_table(trend, name="trend", filters=state.filters, window=view.window)

forecast_panel.landing(state)
