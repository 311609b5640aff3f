"""Tables on the pages: KES and % formatting from the catalogue, row drill-down, downloads."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from core.exports import (
    column_doc,
    column_label,
    column_units,
    file_stem,
    to_csv_bytes,
    to_excel_bytes,
)
from core.filters import Filters
from core.store import Window
from ui.filter_bar import drill

# How each unit shows in the browser: printf formats, fractions shown in percent
# (`for_display`). Money in whole KES as on the tiles: cents are below a manager's
# interest. Counts use %.0f, as %d cuts a float (units) instead of rounding it. printf
# signs zero too: no rank change shows as +0.
FORMATS = {
    "kes": "KES %,.0f",
    "pct": "%,.1f%%",
    "growth": "%+,.1f%%",
    "change": "%+d",
    "count": "%,.0f",
    "number": "%,.2f",
}
PERCENT_UNITS = ("pct", "growth")
# What an empty (null) cell shows instead of Streamlit's "None".
MISSING = "–"
# Which filter a table's key column narrows when a row is picked.
DRILL_TARGETS = {
    "branch": "branches",
    "salesperson": "salespeople",
    "product_line": "product_lines",
    "product_id": "products",
}


def column_config(frame: pl.DataFrame) -> dict[str, Any]:
    """Column labels, formats (KES, %, counts) and tooltips; formats fit `for_display`."""
    config: dict[str, Any] = {}
    for column, unit in column_units(frame).items():
        label, help_text = column_label(column), column_doc(column)
        if column.endswith("attainment_pct"):
            # A bar per member against its target; past 100% the bar is full, the number says.
            config[column] = st.column_config.ProgressColumn(
                label, help=help_text, format="%.0f%%", min_value=0, max_value=100
            )
        elif unit in FORMATS:
            config[column] = st.column_config.NumberColumn(
                label, help=help_text, format=FORMATS[unit]
            )
        elif unit == "date":
            config[column] = st.column_config.DateColumn(label, help=help_text, format="YYYY-MM-DD")
        else:
            config[column] = st.column_config.Column(label, help=help_text)
    return config


def for_display(frame: pl.DataFrame) -> pl.DataFrame:
    """A copy with fractions in percent: a printf format can fix the decimals and add a
    sign, where Streamlit's "percent" preset drops trailing zeros (13% beside 13.17%)."""
    percent = [c for c, unit in column_units(frame).items() if unit in PERCENT_UNITS]
    return frame.with_columns(pl.col(c) * 100 for c in percent)


def downloads(
    frame: pl.DataFrame, name: str, filters: Filters, key: str, window: Window | None
) -> None:
    """CSV and Excel buttons; the dates shown (`window`, the page's resolved window) and
    the active filters are in the file name.

    The files are made when a button is clicked, not on every run: an Excel
    file of 40,000 customers takes seconds to write. A click does not rerun the
    page (which would also make the other button's file stale).
    """
    stem = file_stem(name, filters, window)
    with st.container(horizontal=True):
        st.download_button(
            "Download CSV",
            lambda: to_csv_bytes(frame),
            file_name=f"{stem}.csv",
            mime="text/csv",
            key=f"{key}_csv",
            on_click="ignore",
            icon=":material/download:",
        )
        st.download_button(
            "Download Excel",
            lambda: to_excel_bytes(frame, sheet=name),
            file_name=f"{stem}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key=f"{key}_xlsx",
            on_click="ignore",
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
    window: Window | None,
) -> None:
    """A sortable table with downloads; picking a row drills into `drill_column`'s member.

    Downloads carry the full table; `columns` only narrows what is shown.
    `window` is the page's resolved window, for the file names.
    """
    shown = frame.select(columns) if columns else frame
    key = f"table_{name}_{st.session_state.get('filter_generation', 0)}"
    table: dict[str, Any] = {
        "data": for_display(shown),
        "hide_index": True,
        "width": "stretch",
        "column_config": column_config(shown),
        "key": key,
        "height": height if height is not None else "auto",
        "placeholder": MISSING,
    }
    if drill_column is None:
        st.dataframe(**table)
        downloads(frame, name, filters, key, window)
        return
    event = st.dataframe(**table, on_select="rerun", selection_mode="single-row")
    st.caption(f"Pick a row to focus the dashboard on that {column_label(drill_column).lower()}.")
    downloads(frame, name, filters, key, window)
    if rows := event.selection.rows:
        value = shown[drill_column][rows[0]]
        if value is not None:
            drill(**{DRILL_TARGETS[drill_column]: (str(value),)})


def against_target(
    board: pl.DataFrame, key: str, *, name: str, filters: Filters, window: Window | None
) -> None:
    """A leaderboard's members that have a target: net sales, target and attainment.

    Nothing when no target reaches the board (its table has no `attainment_pct`)."""
    if "attainment_pct" not in board.columns:
        return
    st.subheader("Against target")
    st.caption(
        "Net sales / target over the window, each month's target prorated by its days in "
        "the window; a month without a target counts in neither."
    )
    data_table(
        board.filter(pl.col("target").is_not_null()),
        name=name,
        filters=filters,
        window=window,
        columns=[key, "net_sales", "target", "attainment_pct"],
        drill_column=key,
    )


PIPELINE_BESIDE_SALES = ("open_deals", "open_amount", "won_amount", "win_rate", "median_cycle_days")


def beside_pipeline(
    board: pl.DataFrame,
    pipeline: pl.DataFrame,
    key: str,
    *,
    name: str,
    filters: Filters,
    window: Window | None,
) -> None:
    """A leaderboard's net sales beside each member's CRM pipeline over the same window.

    Nothing when no deal of the view is stored; a member with deals and no sales (or
    sales and no deals) still has a row."""
    active = pipeline.filter(
        (pl.col("open_deals") + pl.col("won_deals") + pl.col("lost_deals")) > 0
    )
    if active.is_empty():
        return
    st.subheader("Sales and pipeline")
    st.caption(
        "Net sales beside the CRM: deals open on the window's last day, won in the window, "
        "and the win rate of the deals closed in it (the Pipeline page has the rest)."
    )
    joined = (
        board.select(key, "net_sales")
        .join(active.select(key, *PIPELINE_BESIDE_SALES), on=key, how="full", coalesce=True)
        .sort(["net_sales", key], descending=[True, False], nulls_last=True)
    )
    data_table(joined, name=name, filters=filters, window=window, drill_column=key)
