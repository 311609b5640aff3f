"""What each page asks the cache for its view: the warm-up and the prefetch ask it ahead.

No Streamlit import: the server's middleware reads the page paths before
Streamlit's runtime exists (ui/prefetch.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Questions:
    """What a page asks the cache for its view, in the order it asks."""

    areas: tuple[str, ...] = ()
    panels: tuple[str, ...] = ()
    customers: bool = False  # lifetime value and cohorts


# Keyed by the page's URL path (the Overview is served at the root). A question a page
# asks only when drilled into one member is left out: the view without it is the common one.
PAGE_QUESTIONS: dict[str, Questions] = {
    "": Questions(("overview",), ("leaders", "segments", "sales_trend", "trend_comparison")),
    "salespeople": Questions(("salespeople", "overview"), ("salesperson_trend",)),
    "products": Questions(("products", "product-lines")),
    "branches": Questions(("branches",), ("branch_trend", "branch_month", "branch_line_mix")),
    "customers": Questions(("customers",), customers=True),
}
