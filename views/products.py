"""Products and product lines: what earns, what makes most sales, what stopped selling."""

import polars as pl
import streamlit as st

from core import cache
from core.kpi.products import A_LIMIT, SLOW_MOVER_DAYS
from ui import charts, page_data
from ui import format as fmt
from ui.filter_bar import product_labels
from ui.page import begin, colours, fact_tile, show_chart, stop_if_empty
from ui.profile import breakdowns, member_profile, standing_tiles
from ui.tables import data_table

state = begin("Products", "Which products and product lines earn, and which have stopped selling?")
data = page_data.products(state)
if isinstance(data, page_data.Profile):
    # its profile, not a board of one
    member_profile(state, data, product_labels((data.member,))[0])
products, lines = data.products, data.lines
selling = products.filter(pl.col("orders") > 0)
stop_if_empty(selling.is_empty(), "product sales")
line_colours = colours("product_line", state.version)
summary = cache.abc_summary(products)
a_class = summary.filter(pl.col("abc_class") == "A")
slow = products.filter(pl.col("slow_mover"))
top_line = lines.filter(pl.col("net_sales").is_not_null()).row(0, named=True)

tiles = st.columns(4)
fact_tile(
    tiles[0],
    "Products sold",
    fmt.count(selling.height),
    f"Products with at least one invoice in the window, of {products.height:,} in scope.",
)
a_count = int(a_class["products"].sum()) if a_class.height else 0
fact_tile(
    tiles[1],
    "A products",
    fmt.count(a_count),
    f"Products that together make the first {A_LIMIT:.0%} of net sales (ABC analysis).",
    delta=f"{a_count / max(products.height, 1):.0%} of products",
)
fact_tile(
    tiles[2],
    "Slow movers",
    fmt.count(slow.height),
    f"Products with no sale in the {SLOW_MOVER_DAYS} days up to {state.window.end:%d %b %Y}.",
)
if (line := data.line) is not None:
    # One line: its own sales (the "top" line would name itself), where it stands and
    # who sells it; the products below are its own.
    fact_tile(
        tiles[3],
        "Net sales",
        fmt.kes_compact(top_line["net_sales"]),
        f"The net sales of {line.member} in the window.",
        delta=f"{fmt.pct(top_line['gross_margin_pct'])} margin",
    )
    standing_tiles(state, "product_lines", line.member, line.member, line.peers)
    breakdowns(line.breakdowns)
else:
    fact_tile(
        tiles[3],
        "Top line by net sales",
        top_line["product_line"],
        "Product line with the highest net sales (the Overview names the line with the most "
        "gross profit).",
        delta=f"{fmt.pct(top_line['gross_margin_pct'])} margin",
    )
    st.subheader("Product lines")
    left, right = st.columns(2)
    with left:
        show_chart(
            charts.leaderboard_bar(lines, "product_line", "net_sales", "Net sales", line_colours),
            key="line_bar",
            drill_into="product_lines",
        )
    with right:
        show_chart(
            charts.profit_map(lines.filter(pl.col("orders") > 0), "product_line", line_colours),
            key="line_scatter",
            drill_into="product_lines",
        )
    data_table(
        lines,
        name="product-lines",
        filters=state.filters,
        window=state.window,
        drill_column="product_line",
    )

st.subheader("Where the sales come from")
show_chart(charts.line_product_treemap(products, line_colours))

left, right = st.columns([3, 2])
with left:
    st.markdown("**Pareto: share of net sales by share of products**")
    show_chart(charts.pareto(products))
with right:
    st.markdown("**ABC classes**")
    show_chart(charts.abc_bars(summary))

st.subheader("All products")
data_table(
    products,
    name="products",
    filters=state.filters,
    window=state.window,
    drill_column="product_id",
)

st.subheader(f"Slow movers (no sale in the {SLOW_MOVER_DAYS} days to {state.window.end:%d %b %Y})")
if slow.is_empty():
    st.success(
        f"Every product in scope sold in the {SLOW_MOVER_DAYS} days up to "
        f"{state.window.end:%d %b %Y}."
    )
else:
    data_table(
        slow.sort("days_since_last_sale", descending=True, nulls_last=False),
        name="slow-movers",
        filters=state.filters,
        window=state.window,
        columns=[
            "product_id",
            "product_name",
            "product_line",
            "last_sale",
            "days_since_last_sale",
            "net_sales",
            "units",
        ],
    )
