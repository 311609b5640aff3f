"""What each page asks the cache for its view: the warm-up asks it ahead."""

from __future__ import annotations

from dataclasses import dataclass

from core.filters import Filters


@dataclass(frozen=True)
class Questions:
    """What a page asks the cache for its view, in the order it asks."""

    areas: tuple[str, ...] = ()
    panels: tuple[str, ...] = ()
    customers: bool = False  # lifetime value and cohorts
    # The filter whose one member turns the page into that member's profile (ui/profile.py).
    profile: str | None = None
    # The filter whose one member adds its standing among its peers to the page.
    standing: str | None = None


# Keyed by the page's URL path (the Overview is served at the root).
PAGE_QUESTIONS: dict[str, Questions] = {
    "": Questions(("overview",), ("leaders", "segments", "sales_trend", "trend_comparison")),
    "salespeople": Questions(
        ("salespeople", "overview"), ("salesperson_trend",), profile="salespeople"
    ),
    "products": Questions(
        ("products", "product-lines"), profile="products", standing="product_lines"
    ),
    "branches": Questions(
        ("branches",), ("branch_trend", "branch_month", "branch_line_mix"), profile="branches"
    ),
    "customers": Questions(("customers",), customers=True),
}


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


def focused_member(filters: Filters, attribute: str, allowed: tuple[str, ...] | None) -> str | None:
    """The one member of `attribute` (`salespeople`, `branches`, ...) in focus: the one the
    filters name, or the one branch a user kept to a single branch can see."""
    values: tuple[str, ...] = getattr(filters, attribute)
    if len(values) == 1:
        return values[0]
    if attribute == "branches" and not values and allowed is not None and len(allowed) == 1:
        return allowed[0]
    return None
