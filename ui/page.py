"""What every dashboard page starts with: title, filters, the resolved view, an empty state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NoReturn

import streamlit as st

from core import cache
from core.filters import Filters
from core.kpi.catalogue import BY_NAME
from core.kpi.overview import partial_periods
from core.kpi.view import View
from core.presets import PERIODS
from core.store import Scope, StoreError, Window
from ui import format as fmt
from ui.charts import Chart, colour_map
from ui.filter_bar import (
    DRILL_GENERATION,
    allowed_branches,
    drill,
    filter_bar,
    local_today,
    member_labels,
)

EMPTY_MESSAGE = "No sales match these filters. Widen the dates or clear a filter in the sidebar."


# Tile values wrap rather than hide behind an ellipsis (a long name must show whole), and
# shrink with the window so an amount ("KES 373.7M") keeps to one line at laptop widths.
# A row of five tiles or more is a grid of tiles at least 9.5rem wide: with the sidebar
# open on a laptop, five go three and two rather than five with every label cut short.
# (Rows of four fit there as they are.)
FIVE_TILE_ROW = (
    '[data-testid="stHorizontalBlock"]'
    ':has(> [data-testid="stColumn"]:nth-child(5) [data-testid="stMetric"])'
)
TILE_CSS = f"""<style>
{FIVE_TILE_ROW} {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(9.5rem, 1fr)); }}
{FIVE_TILE_ROW} > [data-testid="stColumn"] {{ width: auto; min-width: 0; }}
[data-testid="stMetricValue"] {{ font-size: clamp(1.4rem, 2.3vw, 2.25rem); }}
[data-testid="stMetricValue"] div, [data-testid="stMetricValue"] p {{
  white-space: normal; overflow: visible; text-overflow: clip; overflow-wrap: anywhere;
}}
</style>"""


@dataclass(frozen=True)
class PageState:
    filters: Filters
    view: View
    version: str
    allowed: tuple[str, ...] | None  # the user's branches; None: every branch
    # False when the comparison window lies wholly outside the recorded sales (the
    # default all-data view compares with the years before the first sale): growth is
    # then undefined, not a fall to nothing, and pages say so instead of drawing zeros.
    comparison_has_data: bool = True
    # Trend buckets only partly inside the window (a short first or last month): shaded.
    partial_periods: tuple[date, ...] = ()

    @property
    def window(self) -> Window:
        """The view's window: `begin` stops a page before it draws a view without one."""
        assert self.view.window is not None
        return self.view.window


def begin(title: str, question: str) -> PageState:
    """Title, filter bar and view; stops the page with a clear message when nothing matches."""
    st.title(title)
    st.caption(question)
    st.html(TILE_CSS)
    try:
        filters = filter_bar()
        version = cache.data_version()
        allowed = allowed_branches()
        view = cache.view_for(filters, allowed, version)
        recorded = cache.data_range(Scope(allowed_branches=allowed), version)
    except StoreError as exc:
        store_error(exc)
        st.stop()
    if view.window is None:
        st.info(EMPTY_MESSAGE, icon=":material/search_off:")
        st.stop()
    today = local_today()
    caption, comparison_has_data = window_caption(
        filters, view.window, view.comparison, recorded, today
    )
    if members := member_labels(filters):
        caption += "  \n" + " · ".join(members)
    if allowed is not None:
        caption += f"  \nYour access: {', '.join(fmt.plain(b) for b in allowed) or 'no branch'}"
    st.caption(caption)
    partial = tuple(partial_periods(view.window, view.grain, today))
    return PageState(filters, view, version, allowed, comparison_has_data, partial)


def window_caption(
    filters: Filters,
    window: Window,
    comparison: Window | None,
    recorded: Window | None,
    today: date,
) -> tuple[str, bool]:
    """The page's line of dates, and whether the comparison window holds any sales.

    "Last 7 days: 25 Nov 2026 to 01 Dec 2026 · compared with ...". A comparison
    before the first sale says there is no growth to show; a window ending today
    says today is still in progress, beside the comparison when there is one to
    set against it, else beside its own days.
    """
    caption = _days(window)
    if filters.period in PERIODS:
        caption = f"{PERIODS[filters.period]}: {caption}"
    elif filters.start is None and filters.end is None:
        caption = f"All data: {caption}"
    compared = comparison is not None and comparison.overlaps(recorded)
    in_progress = window.end == today
    if in_progress and not compared:
        caption += " (today is still in progress)"
    if comparison is not None:
        caption += f" · compared with {_days(comparison)}"
        if not compared:
            caption += ", when no sales were recorded: no growth to show"
        elif in_progress:
            caption += " (today is still in progress: its sales so far against a whole day)"
    return caption, compared or comparison is None


def _days(window: Window) -> str:
    """ "01 Dec 2026", or "01 Nov 2026 to 30 Nov 2026"."""
    if window.start == window.end:
        return f"{window.start:%d %b %Y}"
    return f"{window.start:%d %b %Y} to {window.end:%d %b %Y}"


def no_comparison_reason(state: PageState) -> str:
    """Why a page has no growth or rank change to show."""
    if state.view.comparison is None:
        return "Needs a comparison window (Compare with)."
    return "No sales were recorded in the comparison window, so there is nothing to compare."


SAVED_KEY = "saved_message"


def rerun_saying(message: str) -> NoReturn:
    """Redraw the page with a change just saved, then say `message` once, where the
    page calls `saved_notice` (a toast shown just before `st.rerun` is lost with the
    run: streamlit/streamlit#7740)."""
    st.session_state[SAVED_KEY] = message
    st.rerun()


def saved_notice() -> None:
    """The message of `rerun_saying`, once, after the save that asked for it. Always a
    container, so the elements after it keep their places (and an open expander
    stays open) on the runs after the message."""
    notice = st.container()
    if SAVED_KEY in st.session_state:
        notice.success(st.session_state.pop(SAVED_KEY), icon=":material/check_circle:")


def store_error(exc: StoreError) -> None:
    """The banner for a store that cannot answer: its reason and the run's reference."""
    reference = st.session_state.get("request_id", "-")
    st.error(
        f"The sales store cannot answer right now: {exc} (reference {reference})",
        icon=":material/error:",
    )


def stop_if_empty(is_empty: bool, what: str) -> None:
    if is_empty:
        st.info(
            f"No {what} match these filters. {EMPTY_MESSAGE.split('. ', 1)[1]}",
            icon=":material/search_off:",
        )
        st.stop()


def kpi_tiles(row: Mapping[str, Any], names: Sequence[str], per_row: int = 4) -> None:
    """`st.metric` tiles for catalogue KPIs with the delta vs the comparison window."""
    for row_start in range(0, len(names), per_row):
        columns = st.columns(per_row)
        for column, name in zip(columns, names[row_start : row_start + per_row], strict=False):
            kpi = BY_NAME[name]
            column.metric(
                kpi.label,
                fmt.kpi_value(name, row.get(name), compact=True),
                delta=fmt.delta(name, dict(row)),
                help=f"{kpi.description} Exact: {fmt.kpi_value(name, row.get(name))}.",
                border=True,
                height="stretch",
                delta_color="inverse" if name == "discount_rate" else "normal",
            )


def fact_tile(
    column: Any, label: str, value: str, help_text: str, delta: str | None = None
) -> None:
    """A tile for a fact that is not a catalogue KPI (top seller, slow movers, ...).

    `value` is often a name from the data; metric values render Markdown.
    """
    column.metric(
        label,
        fmt.plain(value),
        delta=delta,
        help=help_text,
        border=True,
        height="stretch",  # a row of tiles keeps one height when a name wraps
        delta_color="off",
        delta_arrow="off",
    )


def colours(column: str, version: str) -> dict[str, str]:
    """Colours per member of `column`, fixed by all members the user may see (not the filter)."""
    return colour_map(cache.members_of(column, Scope(allowed_branches=allowed_branches()), version))


def show_chart(chart: Chart, key: str | None = None, drill_into: str | None = None) -> None:
    """Draw `chart`; with `drill_into`, a click on a point narrows that filter to its member.

    The chart's widget key changes with every drill and every Back, so a point
    selected before is not read again as a new click.
    """
    options: dict[str, Any] = {"height": chart.height, "renderer": "svg"}
    if drill_into is None:
        st.echarts_chart(chart.spec, key=key, **options)
        return
    generation = st.session_state.get(DRILL_GENERATION, 0)
    event = st.echarts_chart(chart.spec, key=f"{key}-{generation}", on_select="rerun", **options)
    member = chart.member_at(event.selection if event is not None else None)
    if member is not None:
        drill(**{drill_into: (member,)})
