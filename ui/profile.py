"""One branch or salesperson in focus: where it stands among its peers and what it sells.

A leaderboard of one member says nothing; when the filters (or a drill-down)
narrow a page to a single branch or salesperson, the page draws this profile
instead: rank, share and margin against everyone, its trend against the
comparison window, its product lines, products and customers.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import streamlit as st

from core import cache
from core.kpi.members import standing
from ui import charts
from ui import format as fmt
from ui.filter_bar import allowed_branches
from ui.page import PageState, fact_tile, kpi_tiles, show_chart, stop_if_empty
from ui.tables import data_table

# How many products and customers the profile lists, best first.
TOP = 10
# What the profile's tiles call a member's peers, by the filter that focuses it.
PEERS = {"salespeople": ("salesperson", "salespeople"), "branches": ("branch", "branches")}
CUSTOMER_COLUMNS = ("customer_id", "customer_name", "monetary", "gross_profit", "frequency",
                    "last_purchase", "segment")  # fmt: skip
PROFILE_TILES = ("net_sales", "gross_profit", "gross_margin_pct", "aov")


def focused_member(state: PageState, attribute: str) -> str | None:
    """The one member of `attribute` (`salespeople`, `branches`) the filters name, if one."""
    values: tuple[str, ...] = getattr(state.filters, attribute)
    return values[0] if len(values) == 1 else None


def member_profile(state: PageState, attribute: str, member: str) -> None:
    """Draw the profile of `member`, the one value of the filter `attribute`, and stop."""
    key, area = PEERS[attribute]
    view, version = state.view, state.version
    totals = cache.area("overview", view, version).row(0, named=True)
    stop_if_empty(not totals["orders"], "sales")
    kpi_tiles(totals, PROFILE_TILES)
    peers_view = cache.view_for(
        replace(state.filters, **{attribute: ()}), allowed_branches(), version
    )
    place = standing(cache.area(area, peers_view, version), key, member)
    st.subheader(f"{fmt.plain(member)} among all {area}")
    tiles = st.columns(3)
    changed = place.rank_change
    fact_tile(
        tiles[0],
        "Rank by net sales",
        f"{place.rank} of {place.selling}" if place.rank else "–",
        f"Among the {area} with sales in the window, under the same dates and other filters.",
        delta=None if not changed else f"{changed:+d} places",
    )
    fact_tile(
        tiles[1],
        "Share of net sales",
        fmt.pct(place.share_of_net_sales),
        f"Of all {area}' net sales in the window.",
    )
    gap = None
    if place.gross_margin_pct is not None and place.peers_margin_pct is not None:
        gap = f"{fmt.points(place.gross_margin_pct - place.peers_margin_pct)} vs everyone"
    fact_tile(
        tiles[2],
        "Gross margin",
        fmt.pct(place.gross_margin_pct),
        f"Everyone's margin: {fmt.pct(place.peers_margin_pct)}.",
        delta=gap,
    )

    compared = view.comparison is not None and state.comparison_has_data
    st.subheader(f"Net sales by {state.filters.grain}")
    show_chart(
        charts.trend_with_comparison(
            cache.panel("sales_trend", view, version),
            cache.panel("trend_comparison", view, version) if compared else None,
            "net_sales",
            "Net sales (KES)",
            grain=view.grain,
            partial=state.partial_periods,
        )
    )

    left, right = st.columns(2)
    with left:
        st.subheader("Product lines")
        lines = cache.area("product-lines", view, version).filter(pl.col("orders") > 0)
        show_chart(
            charts.leaderboard_bar(lines, "product_line", "net_sales", "Net sales"),
            key="profile_lines",
            drill_into="product_lines",
        )
    with right:
        st.subheader(f"Top {TOP} products")
        data_table(
            cache.area("products", view, version).head(TOP),
            columns=["product_id", "product_name", "net_sales", "gross_margin_pct", "units"],
            name="top-products",
            filters=state.filters,
            window=view.window,
            drill_column="product_id",
        )
    st.subheader(f"Top {TOP} customers")
    customers = cache.area("customers", view, version).sort(
        ["monetary", "customer_id"], descending=[True, False]
    )
    data_table(
        customers.head(TOP),
        columns=list(CUSTOMER_COLUMNS),
        name="top-customers",
        filters=state.filters,
        window=view.window,
    )
    st.stop()
