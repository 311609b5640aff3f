"""Page panels that are not export areas: comparison trends, mixes, leaders.

Named here, apart from the cache, so the bench computes exactly what a page
asks for.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from core.kpi import customers, members, overview
from core.kpi.view import View
from core.store import SalesStore

PANELS: dict[str, Callable[[SalesStore, View], pl.DataFrame]] = {
    "sales_trend": lambda store, view: overview.trend(store, view, kpis=overview.SALES_TREND),
    "trend_comparison": lambda store, view: overview.trend(
        store, view, comparison=True, kpis=overview.SALES_TREND
    ),
    "branch_trend": lambda store, view: members.member_trend(store, view, "branch"),
    "salesperson_trend": lambda store, view: members.member_trend(store, view, "salesperson"),
    "line_trend": lambda store, view: members.member_trend(store, view, "product_line"),
    "branch_line_mix": members.branch_line_mix,
    "branch_month": members.branch_month,
    "leaders": members.leaders,
    "segments": customers.segments,
}
