"""Overview: headline KPIs against the comparison window, and the trend."""

import streamlit as st

from core import cache
from core.kpi.catalogue import BY_NAME
from ui import charts
from ui import format as fmt
from ui.filter_bar import allowed_branches, filter_bar

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

st.title("Overview")
filters = filter_bar()
version = cache.data_version()
view = cache.view_for(filters, allowed_branches(), version)
if view.window is None:
    st.info("No sales match these filters. Widen the dates or clear a filter.")
    st.stop()

headline = cache.area("overview", view, version).row(0, named=True)
caption = f"{view.window.start} to {view.window.end}"
if view.comparison is not None:
    caption += f" · compared with {view.comparison.start} to {view.comparison.end}"
st.caption(caption)
for row_start in range(0, len(HEADLINE_TILES), 4):
    columns = st.columns(4)
    for column, name in zip(columns, HEADLINE_TILES[row_start : row_start + 4], strict=False):
        kpi = BY_NAME[name]
        column.metric(
            kpi.label,
            fmt.kpi_value(name, headline[name], compact=True),
            delta=fmt.delta(name, headline),
            help=f"{kpi.description} Exact: {fmt.kpi_value(name, headline[name])}.",
            border=True,
            delta_color="inverse" if name == "discount_rate" else "normal",
        )
with st.expander("Exact figures"):
    st.table(
        {
            "KPI": [BY_NAME[n].label for n in HEADLINE_TILES],
            "Value": [fmt.kpi_value(n, headline[n]) for n in HEADLINE_TILES],
            "Comparison": [fmt.kpi_value(n, headline.get(f"{n}_prev")) for n in HEADLINE_TILES],
        }
    )

trend = cache.area("trend", view, version)
previous = cache.panel("trend_comparison", view, version) if view.comparison else None
st.subheader(f"Net sales by {filters.grain}")
st.plotly_chart(
    charts.trend_with_comparison(trend, previous, "net_sales", "Net sales (KES)"),
    width="stretch",
)
st.dataframe(
    trend.select("period", "net_sales", "gross_profit", "gross_margin_pct", "orders", "aov"),
    hide_index=True,
    width="stretch",
    column_config={
        "net_sales": st.column_config.NumberColumn("Net sales", format="KES %,.0f"),
        "gross_profit": st.column_config.NumberColumn("Gross profit", format="KES %,.0f"),
        "gross_margin_pct": st.column_config.NumberColumn("Margin", format="percent"),
        "aov": st.column_config.NumberColumn("AOV", format="KES %,.0f"),
    },
)
