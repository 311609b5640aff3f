"""The global filter bar: every page's filters, kept in the URL.

The URL is the source of truth when it changes from outside (a shared link,
a reload, an edited address); otherwise the session keeps the filters, which
is how they survive moving between pages (Streamlit drops query parameters
on page changes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from urllib.parse import urlencode

import streamlit as st

from core import cache
from core.filters import COMPARES, MEMBER_COLUMNS, Filters, ParsedFilters, from_query_params
from core.presets import (
    ALL_DATA_PERIOD,
    BY_LABEL,
    GRAINS_OF,
    PERIODS,
    business_today,
    opening_period,
    period_window,
)
from core.settings import load_settings
from core.store import GRAINS, Scope, StoreError
from ui import format as fmt

CUSTOM, ALL_DATA = "Custom", "All data"
PRESETS = (CUSTOM, *PERIODS.values(), ALL_DATA)
# Counts drills and Backs; chart widgets are keyed by it (see ui.page.show_chart).
DRILL_GENERATION = "drill_generation"
COMPARE_LABELS = {
    "previous": "Previous period",
    "yoy": "Same period last year",
    "none": "No comparison",
}
# The sidebar's member pickers, in order: the Filters attribute, its key in
# `known_members` (and the widget's), and its label.
MEMBER_PICKERS = (
    ("branches", "branch", "Branches"),
    ("product_lines", "line", "Product lines"),
    ("salespeople", "rep", "Salespeople"),
)


def allowed_branches() -> tuple[str, ...] | None:
    """The signed-in user's branch restriction (None: every branch)."""
    value = st.session_state.get("allowed_branches")
    return tuple(value) if value is not None else None


def _url_params() -> dict[str, list[str]]:
    return {key: st.query_params.get_all(key) for key in st.query_params}


def _normalised(params: dict[str, str | list[str]]) -> dict[str, list[str]]:
    return {k: [v] if isinstance(v, str) else list(v) for k, v in params.items()}


def period_label(filters: Filters) -> str:
    """What the Period box says: the period's name, "All data", or "Custom" for fixed dates."""
    if filters.period in PERIODS:
        return PERIODS[filters.period]
    return ALL_DATA if filters.start is None and filters.end is None else CUSTOM


def local_today() -> date:
    """Today in the business's time zone (`SALES_TIMEZONE`)."""
    return business_today(load_settings().timezone)


def known_members(scope: Scope, version: str) -> dict[str, list[str]]:
    """The members a URL's `branch`, `line`, `rep` and `product` may name."""
    return {
        param: cache.members_of(column, scope, version) for param, column in MEMBER_COLUMNS.items()
    }


def set_filters(filters: Filters) -> None:
    """Replace the filters (drill-down, presets) and redraw the widgets from them."""
    st.session_state["filters"] = filters
    st.session_state["filter_generation"] = st.session_state.get("filter_generation", 0) + 1


def _apply_preset() -> None:
    label = st.session_state.get(f"preset_{st.session_state.get('filter_generation', 0)}")
    filters: Filters = st.session_state["filters"]
    if label == ALL_DATA:  # years of data: by month, whatever the grain was
        set_filters(replace(filters, start=None, end=None, period=ALL_DATA_PERIOD, grain="month"))
    elif label in BY_LABEL:
        period = BY_LABEL[label]
        window = period_window(period, local_today())
        grain = GRAINS_OF[period]
        set_filters(
            replace(filters, start=window.start, end=window.end, period=period, grain=grain)
        )
    else:  # Custom: the dates shown stay, fixed, and no longer follow the calendar
        if filters.start is None or filters.end is None:  # All data: pin the data's days
            scope = Scope(allowed_branches=allowed_branches())
            if span := cache.data_range(scope, cache.data_version()):
                filters = replace(
                    filters, start=filters.start or span.start, end=filters.end or span.end
                )
        set_filters(replace(filters, period=None))


def _current(filters: Filters) -> Filters:
    """`filters` with a period's dates moved on to today (a session left open overnight)."""
    if filters.period not in PERIODS:
        return filters
    window = period_window(filters.period, local_today())
    if (window.start, window.end) == (filters.start, filters.end):
        return filters
    moved = replace(filters, start=window.start, end=window.end)
    set_filters(moved)
    return moved


def link_filters(
    params: Mapping[str, str | list[str]], allowed: tuple[str, ...] | None, version: str
) -> ParsedFilters:
    """The filters a link's parameters name for a user kept to `allowed` branches; a link
    without dates opens on `core.presets.opening_period` (`period=all`: every day)."""
    # For a user kept to some branches, a link naming another branch (or a rep or
    # line only sold there) is told apart from a typo.
    hidden = known_members(Scope(), version) if allowed is not None else None
    restriction = Scope(allowed_branches=allowed)
    today = local_today()
    parsed = from_query_params(params, known_members(restriction, version), hidden, today=today)
    if any(params.get(name) for name in ("start", "end", "period")):
        return parsed
    # No dates asked: open on the month so far (or last month), compared, not all data.
    period = opening_period(cache.data_range(restriction, version), today)
    if period is None:
        return parsed
    window = period_window(period, today)
    grain = parsed.filters.grain if params.get("grain") else GRAINS_OF[period]
    opened = replace(parsed.filters, start=window.start, end=window.end, period=period, grain=grain)
    return replace(parsed, filters=opened)


def filter_bar() -> Filters:
    """Draw the filter bar in the sidebar and return the filters in force."""
    state = st.session_state
    allowed = allowed_branches()
    version = cache.data_version()
    restriction = Scope(allowed_branches=allowed)
    url = _url_params()
    if "filters" not in state or (url and url != state.get("filters_written")):
        parsed = link_filters(url, allowed, version)
        set_filters(parsed.filters)
        state["filter_notices"] = parsed.notices
        state["drill_history"] = []  # a link opened from outside starts a fresh trail
    filters = _current(state["filters"])
    generation = state.get("filter_generation", 0)
    span = cache.data_range(restriction, version)
    known = known_members(restriction, version)

    with st.sidebar:
        st.header("Filters")
        # Drawn once the dates below are read, so it names the preset they now match.
        period_slot = st.empty()
        # The picker spans the data and whatever the link asked for: dates outside the
        # data stay as asked (and show an empty state) instead of being silently moved.
        asked = [d for d in (filters.start, filters.end) if d is not None]
        low = min([span.start if span else date(2000, 1, 1), *asked])
        high = max([span.end if span else local_today(), local_today(), *asked])
        start = filters.start or low
        end = filters.end or (span.end if span else high)
        picked = st.date_input(
            "Dates",
            value=(max(min(start, high), low), max(min(end, high), low)),
            min_value=low,
            max_value=high,
            key=f"dates_{generation}",
            format="YYYY-MM-DD",
        )
        if isinstance(picked, tuple) and len(picked) == 2:
            new_start, new_end = picked
            start_value = None if filters.start is None and new_start == start else new_start
            end_value = None if filters.end is None and new_end == end else new_end
        else:
            start_value, end_value = filters.start, filters.end
        # Dates picked by hand are fixed dates: the view no longer follows a period.
        unchanged = (start_value, end_value) == (filters.start, filters.end)
        period = filters.period if unchanged else None
        preset_key = f"preset_{generation}"
        state[preset_key] = period_label(
            replace(filters, start=start_value, end=end_value, period=period)
        )
        period_slot.selectbox(
            "Period",
            PRESETS,
            key=preset_key,
            on_change=_apply_preset,
            help=(
                "Date ranges relative to today in the business's time zone; a shared "
                "link keeps the period, so it shows the current one whenever it is "
                "opened. Last 7 and 30 days are whole days ending yesterday. Picking "
                "one also picks a grain that suits it (days for a month, weeks for a "
                "quarter). Custom keeps the dates fixed."
            ),
        )
        grain = st.selectbox(
            "Grain", GRAINS, index=GRAINS.index(filters.grain), key=f"grain_{generation}"
        )
        compare = st.selectbox(
            "Compare with",
            COMPARES,
            index=COMPARES.index(filters.compare),
            format_func=COMPARE_LABELS.__getitem__,
            key=f"compare_{generation}",
        )
        chosen = {
            attribute: tuple(
                st.multiselect(
                    label,
                    known[kind],
                    default=[m for m in getattr(filters, attribute) if m in known[kind]],
                    key=f"{kind}_{generation}",
                    placeholder=f"All {label.lower()}",
                )
            )
            for attribute, kind, label in MEMBER_PICKERS
        }
    new = Filters(
        start=start_value,
        end=end_value,
        grain=grain,
        compare=compare,
        branches=chosen["branches"],
        product_lines=chosen["product_lines"],
        products=filters.products,
        salespeople=chosen["salespeople"],
        period=period,
    )
    if new != filters:
        state["filter_notices"] = ()
    state["filters"] = new
    written = _normalised(new.to_query_params())
    if written != url:
        st.query_params.from_dict(written)
    state["filters_written"] = written
    for notice in state.get("filter_notices", ()):
        st.warning(notice, icon="⚠️")
    _back_control(new)
    if new.products and not st.session_state.get("drill_history"):
        shown = ", ".join(fmt.plain(p) for p in product_labels(new.products))
        st.info(f"Showing products: {shown}")
        if st.button("Show all products", key="clear_products"):
            set_filters(replace(new, products=()))
            st.rerun()
    with st.sidebar, st.expander("Share this view"):
        query = urlencode(_normalised(new.to_query_params()), doseq=True)
        base = str(getattr(st.context, "url", "") or "").split("?")[0]
        if base.count("/") == 2:  # scheme://host:port: the Overview, at the root path
            base += "/"
        link = f"{base}?{query}" if query else base or "/"
        # A code span, not `st.code`: its copy button costs every new tab 0.2 s of the
        # browser loading a syntax highlighter (1.5 MB of script) for one line of text.
        with st.container(key="share_link"):
            st.markdown(f"`{link.replace('`', '%60')}`")
        st.caption(
            "Select the link and copy it (the address bar holds it too): it opens this "
            "page with these filters."
        )
        if new.period in PERIODS:
            st.caption(
                f"It keeps the period, not the dates: opened on another day, "
                f"{PERIODS[new.period]!r} shows the days it covers then."
            )
    return new


def product_labels(ids: tuple[str, ...]) -> list[str]:
    """Products as a person reads them: "Sunflower Oil 1L (OIL-0033)", or the id alone.

    Raw text (escape it for Markdown). An id the user's branches never sold, or
    a store that cannot answer, stays an id.
    """
    try:
        names = cache.product_names(ids, allowed_branches(), cache.data_version())
    except StoreError:
        names = {}
    return [f"{names[i]} ({i})" if names.get(i, i) != i else i for i in ids]


def member_labels(filters: Filters) -> list[str]:
    """Each member filter in force, said for a person: "Branches: Mombasa, Nakuru"."""
    labels = []
    for one, many, values in (
        ("Branch", "Branches", filters.branches),
        ("Product line", "Product lines", filters.product_lines),
        ("Product", "Products", filters.products),
        ("Salesperson", "Salespeople", filters.salespeople),
    ):
        if values:
            shown = product_labels(values[:3]) if one == "Product" else values[:3]
            named = ", ".join(fmt.plain(v) for v in shown)
            more = f" and {len(values) - 3} more" if len(values) > 3 else ""
            labels.append(f"{one if len(values) == 1 else many}: {named}{more}")
    return labels


def _next_drill_generation() -> None:
    st.session_state[DRILL_GENERATION] = st.session_state.get(DRILL_GENERATION, 0) + 1


def drill(**members: tuple[str, ...]) -> None:
    """Narrow the filters to a member picked in a chart or table; `Back` undoes it."""
    filters: Filters = st.session_state["filters"]
    narrowed = filters.with_members(**members)
    if narrowed == filters:
        return
    st.session_state.setdefault("drill_history", []).append(filters)
    _next_drill_generation()
    set_filters(narrowed)
    st.session_state["filter_notices"] = ()
    st.rerun()


def _back_control(current: Filters) -> None:
    """After a drill-down: what is in focus, and a way back to the view before it."""
    history: list[Filters] = st.session_state.get("drill_history", [])
    if not history:
        return
    focus = member_labels(current)
    left, right = st.columns([5, 1], vertical_alignment="center")
    left.info("Focused on " + ("; ".join(focus) or "a narrower view"), icon=":material/filter_alt:")
    if right.button("Back", icon=":material/arrow_back:", key="drill_back", width="stretch"):
        set_filters(history.pop())
        _next_drill_generation()
        st.session_state["filter_notices"] = ()
        st.rerun()
