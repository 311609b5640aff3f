"""One documented table per area, shared by the CLI export and the pages' downloads."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Literal

import polars as pl
import xlsxwriter

from core.filters import Filters
from core.forecast import projection
from core.kpi import customers, overview, products, targets
from core.kpi.catalogue import BY_NAME, KPIS
from core.kpi.view import View
from core.pipeline_areas import (
    PIPELINE_AREAS,
    PIPELINE_COLUMN_DOCS,
    PIPELINE_LABELS,
    PIPELINE_MONEY,
    PIPELINE_RATIOS,
)
from core.store import SalesStore, Window

AreaTable = Callable[[SalesStore, View], pl.DataFrame]

AREAS: dict[str, AreaTable] = {
    # Overview and leaderboards carry `target` and `attainment_pct` where targets exist.
    "overview": targets.overview,
    "trend": overview.trend,
    "salespeople": targets.salespeople,
    "products": products.products,
    "product-lines": targets.product_lines,
    "branches": targets.branches,
    "customers": customers.rfm,
    "cohorts": customers.cohorts,
    "targets": targets.targets_area,
    "forecast": projection.forecast_table,
    # The opportunities beside the store (core/pipeline_areas.py).
    **PIPELINE_AREAS,
}

# Areas a fitted model computes, not an aggregation: no reference engine reproduces
# them (their own tests check them, tests/core/test_forecast.py) and their cost is a
# model fit, timed by the bench's forecast part rather than with the KPI areas.
MODELLED_AREAS = frozenset({"forecast"})
# Areas of the opportunities, not the sales lines: their hand-worked and parity tests are
# tests/core/test_pipeline_kpis.py and tests/druid/test_pipeline_parity.py.
PIPELINE_AREA_NAMES = frozenset(PIPELINE_AREAS)

# Column documentation: KPI definitions come from the catalogue.
COLUMN_DOCS: dict[str, str] = {
    **{k.name: k.description for k in KPIS},
    "period": "Start of the time bucket (YYYY-MM-DD, business days in Africa/Nairobi).",
    "branch": "Branch, as named in the sales files.",
    "salesperson": "Salesperson, as named in the sales files.",
    "product_line": "Product line, as named in the sales files.",
    "product_id": "Product SKU.",
    "product_name": "Product name (the SKU when the files give none).",
    "customer_id": "Customer ID (walk-ins, without one, are left out).",
    "customer_name": "Customer name, as in the sales files.",
    "customer_type": "Customer type (e.g. Retail, Wholesale, Corporate).",
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
    "slow_mover": "No sale in the 90 days up to the window's last day.",
    "last_sale": "Latest sale up to the window's last day, before the window too.",
    "recency_days": "Days from the last purchase to the window's last day.",
    "frequency": "Distinct invoices in the window.",
    "monetary": "Net sales in the window.",
    "r_score": (
        "Recency score 1-5, 5 = most recent: min(5, 1 + floor(5 w / n)), w the customers with"
        " more days; equal values score alike, the most recent always 5."
    ),
    "f_score": "Frequency score 1-5, 5 = most invoices (the rule of r_score).",
    "m_score": "Monetary score 1-5, 5 = highest net sales (the rule of r_score).",
    "segment": "RFM segment (see the mapping table in core/kpi/customers.py).",
    "rfm_note": (
        "Set when every customer has the same recency, frequency or monetary value: that"
        " score is 3 for all and says nothing."
    ),
    "cohort": "Month of the customer's first-ever purchase (YYYY-MM).",
    "months_since": "Months between the cohort month and the activity month.",
    "retention_pct": "Customers of the cohort who bought that month / cohort size.",
    "cohort_size": "Customers whose first-ever purchase was in the cohort month.",
    "status": "new: first-ever purchase inside the window; returning: bought before it.",
    "share_of_customers": "Customers in the row / active customers.",
    "top_pct": "The top share of customers by net sales the row covers.",
    "target": (
        "Net sales target over the window: each month's target times the share of its days"
        " inside the window (KES)."
    ),
    "attainment_pct": (
        "Net sales in the targeted months' days of the window / target; a month without a"
        " target counts in neither."
    ),
    "member": "The target's slice: its branch / salesperson / product line (blank = all).",
    "month": "The target's month (YYYY-MM).",
    "days_in_window": "Days of the month inside the window (the target's proration).",
    "actual": "Net sales of the target's slice in the month's days inside the window (KES).",
    "target_gross_profit": "Gross profit target, prorated like target (KES); empty if none.",
    "actual_gross_profit": "Gross profit of the slice in the same days (KES).",
    "gross_profit_attainment_pct": "actual_gross_profit / target_gross_profit.",
    "forecast": (
        "Forecast net sales (AutoETS, weekly season) of the day, or the month's projected"
        " total: its sales to date plus the forecast of its remaining days. The forecast"
        " area's branch is 'All branches' for the whole business, its period a day (--grain"
        " day) or a month's first day."
    ),
    "lo_80": "Lower end of the 80% prediction interval of the forecast.",
    "hi_80": "Upper end of the 80% prediction interval of the forecast.",
    "lo_95": "Lower end of the 95% prediction interval of the forecast.",
    "hi_95": "Upper end of the 95% prediction interval of the forecast.",
    **PIPELINE_COLUMN_DOCS,
}

# What a column's numbers measure: decides rounding, number formats and display.
Unit = Literal["kes", "pct", "growth", "change", "count", "number", "date", "text"]
# Columns that are not catalogue KPIs but still money, counts or signed changes. A
# `_prev` column (the comparison window's value) has the unit of the column it compares.
MONEY_COLUMNS = frozenset(
    {
        "avg_selling_price",
        "monetary",
        "gross_sales",
        "discount",
        "avg_yearly_gross_profit",
        "clv",
        "target",
        "actual",
        "target_gross_profit",
        "actual_gross_profit",
        *("forecast", "lo_80", "hi_80", "lo_95", "hi_95"),
        *PIPELINE_MONEY,
    }
)
# Sums of quantity: stored as floats (a line may sell 2.5 kg) but read as whole units.
COUNT_COLUMNS = frozenset({"units"})
CHANGE_COLUMNS = frozenset({"rank_change"})
# Ratios whose names do not say so (names ending `_pct` or starting `share` do).
RATIO_COLUMNS = frozenset({"cumulative_share", "discount_rate", *PIPELINE_RATIOS})
CATALOGUE_UNITS: dict[str, Unit] = {"kes": "kes", "pct": "pct", "count": "count"}
LABELS: dict[str, str] = {
    "period": "Period",
    "fm_score": "FM",
    "share_of_net_sales": "Share",
    "growth_pct": "Growth",
    "rank": "Rank",
    "rank_change": "Rank change",
    "abc_class": "ABC",
    "cumulative_share": "Cumulative share",
    "avg_selling_price": "Avg selling price",
    "product_id": "Product",
    "product_name": "Name",
    "product_line": "Product line",
    "customer_id": "Customer",
    "customer_name": "Name",
    "customer_type": "Type",
    "recency_days": "Recency (days)",
    "avg_recency_days": "Avg recency (days)",
    "avg_frequency": "Avg frequency",
    "monetary": "Net sales",
    "r_score": "R",
    "f_score": "F",
    "m_score": "M",
    "rfm_note": "Note",
    "slow_mover": "Slow mover",
    "days_since_last_sale": "Days since last sale",
    "last_sale": "Last sale",
    "first_purchase": "First purchase",
    "last_purchase": "Last purchase",
    "retention_pct": "Retention",
    "months_since": "Months since first purchase",
    "cohort_size": "Cohort size",
    "share_of_branch": "Share of branch",
    "share_of_customers": "Share of customers",
    "top_pct": "Top customers",
    "target": "Target",
    "attainment_pct": "Attainment",
    "days_in_window": "Days in window",
    "target_gross_profit": "Gross profit target",
    "actual_gross_profit": "Gross profit",
    "gross_profit_attainment_pct": "Gross profit attainment",
    "forecast": "Forecast",
    "lo_80": "80% low",
    "hi_80": "80% high",
    "lo_95": "95% low",
    "hi_95": "95% high",
    **PIPELINE_LABELS,
}
# Excel number formats per unit; text is written as it is.
EXCEL_FORMATS: dict[Unit, str] = {
    "kes": "#,##0.00",
    "pct": "0.0%",
    "growth": "+0.0%;-0.0%;0.0%",
    "change": "+#,##0;-#,##0;0",
    "count": "#,##0",
    "number": "#,##0.00",
    "date": "yyyy-mm-dd",
}
COLUMNS_SHEET = "columns"


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


def column_label(column: str) -> str:
    """The readable header of `column`: "net_sales_prev" -> "Net sales (comparison)"."""
    if column in BY_NAME:
        return BY_NAME[column].label
    if column in LABELS:
        return LABELS[column]
    if column.endswith("_growth_pct"):
        return f"{column_label(column.removesuffix('_growth_pct'))} growth"
    if column.endswith("_prev"):
        return f"{column_label(column.removesuffix('_prev'))} (comparison)"
    return column.replace("_", " ").capitalize()


def column_doc(column: str) -> str | None:
    """What `column` means, from `COLUMN_DOCS` or the column it compares; None if undocumented."""
    if column in COLUMN_DOCS:
        return COLUMN_DOCS[column]
    if column.endswith("_growth_pct"):
        base = column.removesuffix("_growth_pct")
        return f"({base} - {base}_prev) / {base}_prev; empty when {base}_prev is 0."
    if column.endswith("_prev") and column.removesuffix("_prev") in COLUMN_DOCS:
        return f"{column_label(column.removesuffix('_prev'))} in the comparison window."
    return None


def column_unit(column: str, dtype: pl.DataType) -> Unit:
    """How the values of `column` are measured, by its name first and its dtype after.

    Parameters
    ----------
    column
        A column name of an area table or page panel (snake_case).
    dtype
        Its Polars dtype, for columns the names do not classify.

    Returns
    -------
    Unit
        "kes" (money), "pct" (a fraction: 0.25 is 25%), "growth" (a signed
        fraction), "change" (a signed count), "count", "number", "date" or "text".
    """
    if column in CHANGE_COLUMNS:
        return "change"
    if column == "growth_pct" or column.endswith("_growth_pct"):
        return "growth"
    base = column.removesuffix("_prev")
    if base in MONEY_COLUMNS:
        return "kes"
    if base in COUNT_COLUMNS:
        return "count"
    if base in BY_NAME and BY_NAME[base].format in CATALOGUE_UNITS:
        return CATALOGUE_UNITS[BY_NAME[base].format]
    if base.endswith("_pct") or base.startswith("share") or base in RATIO_COLUMNS:
        return "pct"
    if dtype == pl.Date:
        return "date"
    if dtype.is_integer():
        return "count"
    if dtype.is_numeric():
        return "number"
    return "text"


def column_units(frame: pl.DataFrame) -> dict[str, Unit]:
    """`column_unit` of every column of `frame`."""
    return {column: column_unit(column, dtype) for column, dtype in frame.schema.items()}


def round_money(frame: pl.DataFrame) -> pl.DataFrame:
    """Money columns rounded to the cent: sums of floats carry noise (24065676.23999999).

    Parameters
    ----------
    frame
        An area table; ratios and counts are left exactly as they are.

    Returns
    -------
    pl.DataFrame
        `frame` with each floating-point KES column rounded half away from zero.
    """
    money = [
        c for c, unit in column_units(frame).items() if unit == "kes" and frame[c].dtype.is_float()
    ]
    return frame.with_columns(pl.col(c).round(2, mode="half_away_from_zero") for c in money)


def to_csv_bytes(frame: pl.DataFrame, *, money_to_cents: bool = True) -> bytes:
    """UTF-8 CSV for scripts: snake_case headers, money to the cent, ratios as fractions.

    Parameters
    ----------
    frame
        The table; its column names are the CSV's headers.
    money_to_cents
        Round the money columns (`round_money`); False writes every value as it
        is (a file's own cells, such as an upload's rejected rows).

    Returns
    -------
    bytes
        The CSV, dates as YYYY-MM-DD, formula-like text cells neutralised.
    """
    safe = for_spreadsheet(round_money(frame) if money_to_cents else frame)
    return safe.write_csv(date_format="%Y-%m-%d").encode("utf-8")


def excel_headers(columns: list[str]) -> dict[str, str]:
    """{column: label}; a label two columns share gets its column name added (Excel
    tables need unique headers)."""
    labels = [column_label(c) for c in columns]
    return {
        column: f"{label} ({column})" if labels.count(label) > 1 else label
        for column, label in zip(columns, labels, strict=True)
    }


def to_excel_bytes(frame: pl.DataFrame, sheet: str = "data") -> bytes:
    """A workbook for people: readable headers and number formats on sheet `sheet`.

    Parameters
    ----------
    frame
        The table, values written exactly (formats round only what is shown).
    sheet
        The data sheet's name (cut to Excel's 31 characters).

    Returns
    -------
    bytes
        The .xlsx file. A second sheet, "columns", maps each header to its
        snake_case name (as in the CSV and the CLI export) and meaning.
    """
    headers = excel_headers(frame.columns)
    formats = {
        headers[column]: EXCEL_FORMATS[unit]
        for column, unit in column_units(frame).items()
        if unit in EXCEL_FORMATS
    }
    columns = pl.DataFrame(
        {
            "Header": list(headers.values()),
            "Column (CSV)": list(headers),
            "Meaning": [column_doc(c) or "" for c in headers],
        }
    )
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer) as workbook:
        for_spreadsheet(frame).rename(headers).write_excel(
            workbook,
            worksheet=sheet[:31],
            column_formats=formats,  # type: ignore[arg-type]  # str keys are valid selectors
            autofit=True,
            freeze_panes=(1, 0),
        )
        for_spreadsheet(columns).write_excel(workbook, worksheet=COLUMNS_SHEET, autofit=True)
    return buffer.getvalue()


def safe_file_stem(text: str) -> str:
    """A file name part with only letters, digits and . _ + - (branch names can be anything)."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip("-")[:150] or "export"


def file_stem(name: str, filters: Filters, window: Window | None) -> str:
    """A download's file name without its suffix: `name`, the dates shown and the member
    filters (salespeople_2026-01-01_to_2026-06-30); `window` is the resolved window."""
    dated = replace(filters, start=window.start, end=window.end) if window else filters
    return safe_file_stem(f"{name}_{dated.describe()}")


def to_json_text(frame: pl.DataFrame) -> str:
    """JSON records for scripts, like the CSV: money to the cent, dates as YYYY-MM-DD."""
    dates = [c for c, t in frame.schema.items() if t == pl.Date]
    rounded = round_money(frame)
    return rounded.with_columns(pl.col(c).dt.strftime("%Y-%m-%d") for c in dates).write_json()
