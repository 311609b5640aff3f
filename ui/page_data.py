"""What each page asks the cache, declared once per page.

A page calls its function here for the frames it draws, and the warm-up
(ui/warmup.py) calls the same function ahead with the arguments the page will
use, so what is warmed is what the page asks, by construction. Each function
takes the page's state (filters, view, data version, the user's branches) and
only asks `core.cache`; the page does the drawing and the small sums on the
frames it gets back.

A page narrowed to one salesperson, branch or product draws that member's
profile instead of its board (ui/profile.py): its function returns a
`Profile` then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from core import cache
from core.forecast.projection import Forecast
from core.kpi import activities as activity_kpis
from core.kpi.customers import Clv
from core.kpi.targets import Attainment, RunRate
from core.store import Scope
from ui.filter_bar import local_today
from ui.page import PageState


@dataclass(frozen=True)
class Breakdown:
    """A bar chart of a member's sales by another dimension; a click drills into it."""

    title: str
    area: str
    key: str
    drill: str  # the Filters attribute a click narrows


LINES = Breakdown("Product lines", "product-lines", "product_line", "product_lines")
BRANCHES = Breakdown("Branches", "branches", "branch", "branches")
SALESPEOPLE = Breakdown("Salespeople", "salespeople", "salesperson", "salespeople")


@dataclass(frozen=True)
class Peers:
    """The members a focused one is set against: its key, area and what to call them."""

    key: str
    area: str
    noun: str
    breakdowns: tuple[Breakdown, ...]
    top_products: bool = True


# By the Filters attribute that focuses the page.
PEERS = {
    "salespeople": Peers("salesperson", "salespeople", "salespeople", (LINES,)),
    "branches": Peers("branch", "branches", "branches", (LINES, SALESPEOPLE)),
    "product_lines": Peers("product_line", "product-lines", "product lines",
                           (BRANCHES, SALESPEOPLE)),
    "products": Peers("product_id", "products", "products", (BRANCHES, SALESPEOPLE),
                      top_products=False),
}  # fmt: skip


def focused_member(state: PageState, attribute: str) -> str | None:
    """The one member of `attribute` (`salespeople`, `branches`, ...) in focus: the one the
    filters name, or the one branch a user kept to a single branch can see."""
    values: tuple[str, ...] = getattr(state.filters, attribute)
    if len(values) == 1:
        return values[0]
    allowed = state.allowed
    if attribute == "branches" and not values and allowed is not None and len(allowed) == 1:
        return allowed[0]
    return None


def compared(state: PageState) -> bool:
    """Whether the page draws the comparison window: there is one, and it holds sales (one
    before the first sale would draw a line of zeros)."""
    return state.view.comparison is not None and state.comparison_has_data


def peers_table(state: PageState, attribute: str) -> pl.DataFrame:
    """The leaderboard a member of `attribute` is ranked in: the same dates and other
    filters, that one lifted, within the user's branches."""
    among = state.filters.with_members(**{attribute: ()})
    view = cache.view_for(among, state.allowed, state.version)
    return cache.area(PEERS[attribute].area, view, state.version)


def breakdown_tables(
    state: PageState, parts: tuple[Breakdown, ...]
) -> tuple[tuple[Breakdown, pl.DataFrame], ...]:
    """The view's sales by each of `parts`."""
    return tuple((part, cache.area(part.area, state.view, state.version)) for part in parts)


@dataclass(frozen=True)
class ProfileSales:
    """What a profile draws of a member that sold under the filters."""

    peers: pl.DataFrame  # `peers_table`
    trend: pl.DataFrame
    previous: pl.DataFrame | None  # the comparison window's trend, when drawn
    breakdowns: tuple[tuple[Breakdown, pl.DataFrame], ...]
    products: pl.DataFrame | None  # its products, when its peers are not products
    customers: pl.DataFrame


@dataclass(frozen=True)
class Profile:
    """One member in focus (ui/profile.py)."""

    attribute: str
    member: str
    totals: dict[str, Any]
    sales: ProfileSales | None  # None: it sold nothing under these filters


def profile(state: PageState, attribute: str, member: str) -> Profile:
    view, version = state.view, state.version
    totals = cache.area("overview", view, version).row(0, named=True)
    if not totals["orders"]:
        return Profile(attribute, member, totals, None)  # the page says so, and stops
    peers = PEERS[attribute]
    sales = ProfileSales(
        peers=peers_table(state, attribute),
        trend=cache.panel("sales_trend", view, version),
        previous=cache.panel("trend_comparison", view, version) if compared(state) else None,
        breakdowns=breakdown_tables(state, peers.breakdowns),
        products=cache.area("products", view, version) if peers.top_products else None,
        customers=cache.area("customers", view, version),
    )
    return Profile(attribute, member, totals, sales)


@dataclass(frozen=True)
class Overview:
    totals: pl.DataFrame  # one row: the headline KPIs and their comparison
    leaders: pl.DataFrame
    segments: pl.DataFrame
    trend: pl.DataFrame
    previous: pl.DataFrame | None
    attainment: Attainment | None  # None without a target in the window
    run_rates: tuple[RunRate, ...]  # this month's and this quarter's


def overview(state: PageState) -> Overview:
    view, version = state.view, state.version
    totals = cache.area("overview", view, version)
    targeted = "target" in totals.columns and totals["target"].drop_nulls().len() > 0
    return Overview(
        totals=totals,
        attainment=cache.total_attainment(view, version) if targeted else None,
        run_rates=cache.run_rates(view.scope, local_today(), version),
        leaders=cache.panel("leaders", view, version),
        segments=cache.panel("segments", view, version),
        trend=cache.panel("sales_trend", view, version),
        previous=cache.panel("trend_comparison", view, version) if compared(state) else None,
    )


@dataclass(frozen=True)
class Salespeople:
    table: pl.DataFrame
    totals: pl.DataFrame
    trend: pl.DataFrame
    pipeline: pl.DataFrame  # `pipeline-salespeople` over the view: empty rows without deals


def salespeople(state: PageState) -> Profile | Salespeople:
    if (member := focused_member(state, "salespeople")) is not None:
        return profile(state, "salespeople", member)
    view, version = state.view, state.version
    return Salespeople(
        table=cache.area("salespeople", view, version),
        totals=cache.area("overview", view, version),
        trend=cache.panel("salesperson_trend", view, version),
        pipeline=cache.area("pipeline-salespeople", view, cache.pipeline_version()),
    )


@dataclass(frozen=True)
class LineFocus:
    """One product line in focus: the Products page stays, with the line's standing."""

    member: str
    peers: pl.DataFrame  # `peers_table`
    breakdowns: tuple[tuple[Breakdown, pl.DataFrame], ...]


@dataclass(frozen=True)
class Products:
    products: pl.DataFrame
    lines: pl.DataFrame
    line: LineFocus | None


def products(state: PageState) -> Profile | Products:
    if (member := focused_member(state, "products")) is not None:
        return profile(state, "products", member)
    view, version = state.view, state.version
    line = None
    if (name := focused_member(state, "product_lines")) is not None:
        parts = PEERS["product_lines"].breakdowns
        line = LineFocus(name, peers_table(state, "product_lines"), breakdown_tables(state, parts))
    return Products(
        products=cache.area("products", view, version),
        lines=cache.area("product-lines", view, version),
        line=line,
    )


@dataclass(frozen=True)
class Branches:
    table: pl.DataFrame
    trend: pl.DataFrame
    by_month: pl.DataFrame
    line_mix: pl.DataFrame


def branches(state: PageState) -> Profile | Branches:
    if (member := focused_member(state, "branches")) is not None:
        return profile(state, "branches", member)
    view, version = state.view, state.version
    return Branches(
        table=cache.area("branches", view, version),
        trend=cache.panel("branch_trend", view, version),
        by_month=cache.panel("branch_month", view, version),
        line_mix=cache.panel("branch_line_mix", view, version),
    )


@dataclass(frozen=True)
class Customers:
    table: pl.DataFrame  # one row per customer: RFM scores and segment
    lifetime: Clv
    cohorts: pl.DataFrame


def customers(state: PageState) -> Customers:
    view, version = state.view, state.version
    return Customers(
        table=cache.area("customers", view, version),
        lifetime=cache.customer_lifetime_value(view, version),
        cohorts=cache.cohorts(view, version),
    )


@dataclass(frozen=True)
class Pipeline:
    stored: int  # deals in the user's branches, any date: 0 means no CRM export loaded
    summary: pl.DataFrame  # one row, with the comparison window's columns
    salespeople: pl.DataFrame
    branches: pl.DataFrame
    lead_sources: pl.DataFrame
    influenced: pl.DataFrame  # per lead source, the invoiced net sales won deals brought
    funnel: pl.DataFrame
    lost_reasons: pl.DataFrame
    ageing: pl.DataFrame
    stuck: pl.DataFrame
    activities: pl.DataFrame  # per activity type, with the win rates with and without
    visits: pl.DataFrame  # one row: win rate of deals closed with a visit, and without


def pipeline(state: PageState) -> Pipeline:
    """The Pipeline page: the deals' areas over the same view as the sales pages."""
    view, version = state.view, cache.pipeline_version()
    closed = cache.closed_activities(view, version)
    return Pipeline(
        stored=cache.deals_stored(Scope(allowed_branches=state.allowed), version),
        summary=cache.area("pipeline", view, version),
        salespeople=cache.area("pipeline-salespeople", view, version),
        branches=cache.area("pipeline-branches", view, version),
        lead_sources=cache.area("pipeline-lead-sources", view, version),
        influenced=cache.area("influenced-revenue", view, version),
        funnel=cache.area("funnel", view, version),
        lost_reasons=cache.area("lost-reasons", view, version),
        ageing=cache.pipeline_panel("ageing", view, version),
        stuck=cache.pipeline_panel("stuck_deals", view, version),
        activities=activity_kpis.table_of(closed),
        visits=activity_kpis.visit_rates_of(closed),
    )


def forecast(state: PageState) -> Forecast:
    """The forecast per branch and in total (the Branches page): a model fit of seconds
    on a year of a few branches, so the page draws it last."""
    return cache.forecast(state.view, local_today(), state.version)


def total_forecast(state: PageState) -> Forecast:
    """The whole business's forecast alone (the Overview): one fit, a fraction of a
    second, the same total as the Branches page's."""
    return cache.forecast(state.view, local_today(), state.version, per_branch=False)


def flagged_days(state: PageState) -> pl.DataFrame:
    """Branch-days outside their one-step 95% interval (the Branches page)."""
    return cache.sales_anomalies(state.view, local_today(), state.version)


# Per page with data (its URL path; the Overview is served at the root), every function
# it asks in the order it draws: what the warm-up fills ahead.
PAGES: dict[str, tuple[Callable[[PageState], object], ...]] = {
    "": (overview, total_forecast),
    "salespeople": (salespeople,),
    "products": (products,),
    "branches": (branches, forecast, flagged_days),
    "customers": (customers,),
    "pipeline": (pipeline,),
}
