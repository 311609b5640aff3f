"""The forecast's panels: this month's landing, the months ahead, flagged branch-days.

The Overview shows the whole business's landing, the Branches page every
branch's and the flagged days; the numbers come from `core.forecast` through
`core.cache` (keyed by data version). Fitting takes a moment the first time a
view is asked, so pages draw these panels last.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import streamlit as st

from core.forecast.models import MODEL
from core.forecast.projection import PATHS, RECENT_DAYS, add_months
from core.forecast.series import TOTAL
from ui import format as fmt
from ui import page_data
from ui.charts.forecast import forecast_band
from ui.page import PageState, fact_tile, show_chart
from ui.tables import data_table

SPINNER = "Fitting the forecast (a few seconds the first time)..."


def _band(low: float, high: float) -> str:
    return f"{fmt.kes(low)} - {fmt.kes(high)}"


def _month(period: date) -> str:
    return period.strftime("%B %Y")


def landing(state: PageState, per_branch: bool = True) -> None:
    """Where the month lands for the whole view: projected total, 80% and 95% bands,
    then the months ahead (a table with downloads), per branch or for the total only."""
    st.subheader("Where the month lands")
    with st.spinner(SPINNER):
        found = page_data.forecast(state) if per_branch else page_data.total_forecast(state)
    total = found.monthly.filter(pl.col("branch") == TOTAL)
    if total.is_empty():
        st.info(
            "No forecast: it needs four weeks of sales in the view's scope up to the "
            "window's last day."
        )
        return
    first = total.row(0, named=True)
    made = float(found.month_to_date.filter(pl.col("branch") == TOTAL)["net_sales"].sum())
    learnt = found.history_end
    tiles = st.columns(3)
    fact_tile(
        tiles[0],
        f"{_month(first['period'])}, forecast",
        fmt.kes_compact(first["forecast"]),
        f"Sales to {learnt:%d %b} ({fmt.kes(made)}) plus the forecast of the month's "
        f"remaining days ({MODEL}, weekly season, learnt up to {learnt:%d %b %Y}). The "
        "run-rate's projection scales the month so far by the share the same days made of "
        "last month; this forecast learns from up to three years of days.",
    )
    fact_tile(
        tiles[1],
        "80% range",
        f"{fmt.kes_compact(first['lo_80'])} - {fmt.kes_compact(first['hi_80'])}",
        "The month's total falls in this range 4 times in 5, if the coming days behave "
        "as the past ones did: " + _band(first["lo_80"], first["hi_80"]),
    )
    fact_tile(
        tiles[2],
        "95% range",
        f"{fmt.kes_compact(first['lo_95'])} - {fmt.kes_compact(first['hi_95'])}",
        "19 times in 20: " + _band(first["lo_95"], first["hi_95"]),
    )
    st.caption(
        f"The last {RECENT_DAYS} days learnt from, then each day's forecast to the end of "
        "next month in its 80% and 95% ranges (each day on its own)."
    )
    next_month_end = add_months(first["period"], 2) - timedelta(days=1)
    show_chart(forecast_band(found.recent, found.daily, TOTAL, until=next_month_end))
    with st.expander("The months ahead, per branch" if per_branch else "The months ahead"):
        st.caption(
            "Each month's projected net sales with its 80% and 95% intervals; a month's "
            f"interval comes from {PATHS:,} simulated futures of its days. Accuracy: "
            "docs/forecast.md."
        )
        data_table(found.monthly, name="forecast", filters=state.filters, window=state.window)


def anomaly_line(row: dict[str, object]) -> str:
    """ "Mombasa, Tue 3 Nov: KES 120,400, expected KES 310,000-480,000"."""
    day = row["day"]
    assert isinstance(day, date)
    low, high = float(row["lo_95"]), float(row["hi_95"])  # type: ignore[arg-type]
    return (
        f"{fmt.plain(row['branch'])}, {day:%a} {day.day} {day:%b}: "
        f"{fmt.kes(round(float(row['net_sales']), -2))}, "  # type: ignore[arg-type]
        # A lower end below nothing reads as "could be nothing".
        f"expected {fmt.kes(max(0.0, round(low, -3)))}-{round(high, -3):,.0f}"
    )


def flagged_days(state: PageState) -> pl.DataFrame:
    with st.spinner(SPINNER):
        return page_data.flagged_days(state)


def anomaly_list(state: PageState, flagged: pl.DataFrame) -> None:
    """The flagged branch-days, newest first, each as one line."""
    st.subheader("Days outside the expected range")
    st.caption(
        "A branch-day whose net sales fell outside the 95% interval of the forecast made "
        "the evening before (the window's last 92 days at most). About one day in twenty "
        "does so by chance: a run of them, or one far outside, is worth a look."
    )
    if flagged.is_empty():
        st.info("No branch-day of the window fell outside its expected range.")
        return
    newest = flagged.sort("day", "branch", descending=[True, False])
    st.markdown("\n".join(f"- {anomaly_line(row)}" for row in newest.iter_rows(named=True)))
