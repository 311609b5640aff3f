"""Tables on the pages: KES and % formatting from the catalogue, row drill-down, downloads."""

from __future__ import annotations

import re

import polars as pl
import streamlit as st

from core.exports import COLUMN_DOCS, to_csv_bytes, to_excel_bytes
from core.filters import Filters
from core.kpi.catalogue import BY_NAME
from ui.filter_bar import drill

# Columns that are not catalogue KPIs but still money or ratios.
MONEY_COLUMNS = {
    "net_sales_prev",
    "avg_selling_price",
    "monetary",
    "cogs",
    "gross_sales",
    "discount",
    "avg_yearly_gross_profit",
    "clv",
}
RATIO_COLUMNS = {
    "share_of_net_sales",
    "growth_pct",
    "cumulative_share",
    "retention_pct",
    "share_of_branch",
    "share_of_customers",
    "top_pct",
    "gross_margin_pct",
    "discount_rate",
}
LABELS = {
    "fm_score": "FM",
    "share_of_net_sales": "Share",
    "growth_pct": "Growth",
    "net_sales_prev": "Net sales (comparison)",
    "rank_prev": "Rank (comparison)",
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
    "monetary": "Net sales",
    "r_score": "R",
    "f_score": "F",
    "m_score": "M",
    "slow_mover": "Slow mover",
    "days_since_last_sale": "Days since last sale",
    "last_sale": "Last sale",
    "first_purchase": "First purchase",
    "last_purchase": "Last purchase",
    "retention_pct": "Retention",
    "months_since": "Months since first purchase",
    "cohort_size": "Cohort size",
    "share_of_branch": "Share of branch",
}
# Which filter a table's key column narrows when a row is picked.
DRILL_TARGETS = {
    "branch": "branches",
    "salesperson": "salespeople",
    "product_line": "product_lines",
    "product_id": "products",
}


def column_label(column: str) -> str:
    if column in BY_NAME:
        return BY_NAME[column].label
    return LABELS.get(column, column.replace("_", " ").capitalize())


def column_config(frame: pl.DataFrame) -> dict[str, st.column_config.Column]:
    """Column formats (KES with separators, percentages, counts) and tooltips from the docs."""
    config: dict[str, st.column_config.Column] = {}
    for column, dtype in frame.schema.items():
        label, help_text = column_label(column), COLUMN_DOCS.get(column)
        kind = BY_NAME[column].format if column in BY_NAME else None
        if column in RATIO_COLUMNS or kind == "pct":
            config[column] = st.column_config.NumberColumn(label, help=help_text, format="percent")
        elif column in MONEY_COLUMNS or kind == "kes":
            config[column] = st.column_config.NumberColumn(
                label, help=help_text, format="KES %,.0f"
            )
        elif dtype.is_numeric():
            number_format = "%,d" if dtype.is_integer() or column in ("units",) else "%,.2f"
            config[column] = st.column_config.NumberColumn(
                label, help=help_text, format=number_format
            )
        elif dtype == pl.Date:
            config[column] = st.column_config.DateColumn(label, help=help_text, format="YYYY-MM-DD")
        else:
            config[column] = st.column_config.Column(label, help=help_text)
    return config


def safe_file_stem(text: str) -> str:
    """A file name part with only letters, digits and . _ + - (branch names can be anything)."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip("-")[:150] or "export"


def downloads(frame: pl.DataFrame, name: str, filters: Filters, key: str) -> None:
    """CSV and Excel buttons; the active filters are written in the file name.

    The files are made when a button is clicked, not on every run: an Excel
    file of 40,000 customers takes seconds to write.
    """
    stem = safe_file_stem(f"{name}_{filters.describe()}")
    left, right, _ = st.columns([1, 1, 4])
    left.download_button(
        "Download CSV",
        lambda: to_csv_bytes(frame),
        file_name=f"{stem}.csv",
        mime="text/csv",
        key=f"{key}_csv",
        icon=":material/download:",
    )
    right.download_button(
        "Download Excel",
        lambda: to_excel_bytes(frame, sheet=name),
        file_name=f"{stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{key}_xlsx",
        icon=":material/table:",
    )


def data_table(
    frame: pl.DataFrame,
    *,
    name: str,
    filters: Filters,
    drill_column: str | None = None,
    columns: list[str] | None = None,
    height: int | None = None,
) -> None:
    """A sortable table with downloads; picking a row drills into `drill_column`'s member.

    Downloads carry the full table; `columns` only narrows what is shown.
    """
    shown = frame.select(columns) if columns else frame
    key = f"table_{name}_{st.session_state.get('filter_generation', 0)}"
    options = {"on_select": "rerun", "selection_mode": "single-row"} if drill_column else {}
    event = st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_config=column_config(shown),
        key=key,
        height=height if height is not None else "auto",
        **options,  # type: ignore[arg-type]
    )
    if drill_column:
        st.caption(
            f"Pick a row to focus the dashboard on that {column_label(drill_column).lower()}."
        )
    downloads(frame, name, filters, key)
    rows = event.selection.rows if drill_column and event is not None else []
    if rows:
        value = shown[drill_column][rows[0]]
        if value is not None:
            drill(**{DRILL_TARGETS[drill_column]: (str(value),)})
