"""One member in focus: where it stands among its peers and what makes up its sales.

A leaderboard of one member says nothing; when the filters (or a drill-down)
narrow a page to a single salesperson, branch or product, the page draws its
profile instead: rank, share and margin against everyone under the same
dates and other filters, its trend against the comparison window, what its
sales are made of (lines, branches, salespeople), its top products and
customers. A single product line keeps the Products page, whose products are
then that line's, with the line's standing in place of the line leaderboard.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

import polars as pl
import streamlit as st

from core.kpi.members import standing
from ui import charts
from ui import format as fmt
from ui.filter_bar import member_labels
from ui.page import PageState, fact_tile, kpi_tiles, show_chart
from ui.page_data import PEERS, Breakdown, Profile
from ui.tables import data_table

# How many products and customers the profile lists, best first.
TOP = 10
PROFILE_TILES = ("net_sales", "gross_profit", "gross_margin_pct", "aov")
CUSTOMER_COLUMNS = ["customer_id", "customer_name", "monetary", "gross_profit", "frequency",
                    "last_purchase", "segment"]  # fmt: skip
PRODUCT_COLUMNS = ["product_id", "product_name", "net_sales", "gross_margin_pct", "units"]


def standing_tiles(
    state: PageState, attribute: str, member: str, name: str, table: pl.DataFrame
) -> None:
    """`name` (the member, as a person reads it) against all its peers in `table`
    (`ui.page_data.peers_table`): rank, share, margin.

    The peers are those under the same dates and other filters, within the user's
    branches; the heading names those filters, as the numbers depend on them.
    """
    peers = PEERS[attribute]
    allowed = state.allowed
    among = state.filters.with_members(**{attribute: ()})
    place = standing(table, peers.key, member)
    within = member_labels(among)
    if allowed is not None:
        within.append(f"your branches: {', '.join(fmt.plain(b) for b in allowed)}")
    st.subheader(
        f"{fmt.plain(name)} among all {peers.noun}" + (f" ({'; '.join(within)})" if within else "")
    )
    if place.selling <= 1 and place.rank == 1:
        if attribute == "branches" and allowed is not None and len(allowed) == 1:
            st.caption(f"You see only {fmt.plain(name)}: nothing to rank it against.")
        else:
            st.caption(
                f"No other {peers.noun} sold under these filters: nothing to rank it against."
            )
        return
    tiles = st.columns(3)
    moved = place.rank_change
    fact_tile(
        tiles[0],
        "Rank by net sales",
        f"{place.rank} of {place.selling}" if place.rank else "–",
        f"Among the {peers.noun} with sales in the window, under the same dates and other filters.",
        delta=f"{'+' if moved > 0 else '-'}{fmt.plural(abs(moved), 'place')}" if moved else None,
    )
    fact_tile(
        tiles[1],
        "Share of net sales",
        fmt.pct(place.share_of_net_sales),
        f"Of the net sales of all {peers.noun} in the window.",
    )
    gap = None
    if place.gross_margin_pct is not None and place.peers_margin_pct is not None:
        gap = fmt.points(place.gross_margin_pct - place.peers_margin_pct)
    fact_tile(
        tiles[2],
        "Margin against everyone",
        gap or "–",
        f"Its gross margin, {fmt.pct(place.gross_margin_pct)}, against the "
        f"{fmt.pct(place.peers_margin_pct)} of all {peers.noun} together.",
    )


def breakdowns(tables: tuple[tuple[Breakdown, pl.DataFrame], ...]) -> None:
    """Side by side, the member's net sales by each part (`ui.page_data.breakdown_tables`)."""
    for column, (part, table) in zip(st.columns(len(tables)), tables, strict=True):
        with column:
            st.subheader(part.title)
            show_chart(
                charts.leaderboard_bar(
                    table.filter(pl.col("orders") > 0), part.key, "net_sales", "Net sales"
                ),
                key=f"profile_{part.key}",
                drill_into=part.drill,
            )


def member_profile(
    state: PageState,
    data: Profile,
    name: str | None = None,
    after: Callable[[], None] | None = None,
) -> NoReturn:
    """Draw the profile of one member (`ui.page_data.profile`), and stop.

    `name` is how a person reads the member (a product's name), by default its key;
    `after` draws the page's own panels for the member below the profile."""
    name = name or data.member
    view = state.view
    if data.sales is None:
        back = "press Back or " if st.session_state.get("drill_history") else ""
        st.info(
            f"{fmt.plain(name)} has no sales under these filters: widen the dates, or "
            f"{back}clear the filter to see everyone.",
            icon=":material/search_off:",
        )
        st.stop()
    sales = data.sales
    kpi_tiles(data.totals, PROFILE_TILES)
    standing_tiles(state, data.attribute, data.member, name, sales.peers)

    st.subheader(f"Net sales by {state.filters.grain}")
    show_chart(
        charts.trend_with_comparison(
            sales.trend,
            sales.previous,
            "net_sales",
            "Net sales (KES)",
            grain=view.grain,
            partial=state.partial_periods,
        )
    )
    breakdowns(sales.breakdowns)
    if sales.products is not None:
        st.subheader(f"Top {TOP} products")
        data_table(
            sales.products.head(TOP),
            columns=PRODUCT_COLUMNS,
            name="top-products",
            filters=state.filters,
            window=state.window,
            drill_column="product_id",
        )
    st.subheader(f"Top {TOP} customers")
    customers = sales.customers.sort(["monetary", "customer_id"], descending=[True, False])
    data_table(
        customers.head(TOP),
        columns=CUSTOMER_COLUMNS,
        name="top-customers",
        filters=state.filters,
        window=state.window,
    )
    if after is not None:
        after()
    st.stop()
