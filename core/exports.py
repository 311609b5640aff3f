"""One documented table per area, shared by the CLI export and the pages' downloads."""

from __future__ import annotations

import io
from collections.abc import Callable

import polars as pl

from core.kpi import customers, members, overview, products
from core.kpi.catalogue import KPIS
from core.kpi.view import View
from core.store import SalesStore

AreaTable = Callable[[SalesStore, View], pl.DataFrame]

AREAS: dict[str, AreaTable] = {
    "overview": overview.overview,
    "trend": overview.trend,
    "salespeople": members.salespeople,
    "products": products.products,
    "product-lines": members.product_lines,
    "branches": members.branches,
    "customers": customers.rfm,
    "cohorts": customers.cohorts,
}

# Column documentation: KPI definitions come from the catalogue.
COLUMN_DOCS: dict[str, str] = {
    **{k.name: k.description for k in KPIS},
    "period": "Start of the time bucket (YYYY-MM-DD, business days in Africa/Nairobi).",
    "share_of_net_sales": "The member's net sales / net sales of the whole filtered view.",
    "net_sales_prev": "Net sales in the comparison window.",
    "growth_pct": "(net sales - comparison net sales) / comparison net sales.",
    "rank": "Position by net sales, 1 = highest; ties go to the alphabetically first.",
    "rank_prev": "Rank in the comparison window.",
    "rank_change": "rank_prev - rank: positive means moved up.",
    "avg_selling_price": "Net sales / units.",
    "cumulative_share": (
        "Running share of net sales, products sorted by net sales desc (ties by product_id)."
    ),
    "abc_class": (
        "A while the cumulative share before the product is under 80%, B under 95%, C after."
    ),
    "slow_mover": "No sale in the last 90 days of the window.",
    "recency_days": "Days from the last purchase to the window's last day.",
    "frequency": "Distinct invoices in the window.",
    "monetary": "Net sales in the window.",
    "r_score": "Recency quintile score, 5 = most recent.",
    "f_score": "Frequency quintile score, 5 = most invoices.",
    "m_score": "Monetary quintile score, 5 = highest net sales.",
    "segment": "RFM segment (see the mapping table in core/kpi/customers.py).",
    "cohort": "Month of the customer's first-ever purchase (YYYY-MM).",
    "months_since": "Months between the cohort month and the activity month.",
    "retention_pct": "Customers of the cohort who bought that month / cohort size.",
}


def area_table(area: str, store: SalesStore, view: View) -> pl.DataFrame:
    """The export table of `area` (one of `AREAS`)."""
    if area not in AREAS:
        raise ValueError(f"unknown area {area!r}: expected one of {', '.join(AREAS)}")
    return AREAS[area](store, view)


def for_spreadsheet(frame: pl.DataFrame) -> pl.DataFrame:
    """Neutralise text cells a spreadsheet would run as a formula (= + - @ tab CR)."""
    text = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(r"^[=+\-@\t\r]"))
        .then("'" + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text
    )


def to_csv_bytes(frame: pl.DataFrame) -> bytes:
    return for_spreadsheet(frame).write_csv(date_format="%Y-%m-%d").encode("utf-8")


def to_excel_bytes(frame: pl.DataFrame, sheet: str = "data") -> bytes:
    buffer = io.BytesIO()
    for_spreadsheet(frame).write_excel(buffer, worksheet=sheet[:31])
    return buffer.getvalue()


def to_json_text(frame: pl.DataFrame) -> str:
    dates = [c for c, t in frame.schema.items() if t == pl.Date]
    return frame.with_columns(pl.col(c).dt.strftime("%Y-%m-%d") for c in dates).write_json()
