"""The one place core meets Streamlit: cached store access for the pages.

Cache keys include the store's data version, so a write shows at once
without clearing anything; `clear()` is there for the Diagnostics page.
Entries do not expire with time: a result stays right until the version
changes, and a manager's view of yesterday evening is still warm in the
morning (`ui/warmup.py` fills the default views after each change). Each
function keeps at most `MAX_ENTRIES` results, the least recently used
going first, which bounds the memory that old versions and rare filters hold.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from core.exports import area_table
from core.filters import Filters
from core.forecast import anomalies, projection
from core.forecast.series import history_end
from core.kpi import activities, customers, products, targets
from core.kpi.panels import PANELS
from core.kpi.view import View, resolve_view
from core.pipeline_areas import PIPELINE_PANELS
from core.pipeline_store import KeyedStore, PipelineStore
from core.settings import load_settings
from core.store import SalesStore, Scope, Window
from core.stores import open_store
from core.stores.pipeline import activities_of, pipeline_of, stages_of

# Per cached function. The default views of a few branch restrictions take about ten
# entries per version; the rest is room for the filters managers pick.
MAX_ENTRIES = 64


@st.cache_resource
def get_store() -> SalesStore:
    """One store per process; both implementations are safe across threads."""
    return open_store(load_settings())


def get_pipeline_store() -> PipelineStore:
    """The CRM deals beside the store (the Upload page writes them)."""
    return pipeline_of(get_store())


def get_crm_writer(dataset: str) -> KeyedStore:
    """The stage history or the activities beside the store (the Upload page writes them)."""
    return {"stages": stages_of, "activities": activities_of}[dataset](get_store())


def data_version() -> str:
    return get_store().data_version()


def pipeline_version() -> str:
    """The version of the sales and of the deals: a pipeline figure changes with either
    (won deals link to invoices, and the sales window bounds an open view)."""
    return f"{data_version()}+{pipeline_of(get_store()).data_version()}"


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner=False)
def pipeline_panel(name: str, view: View, version: str) -> pl.DataFrame:
    """A Pipeline page panel that is not an export area (`PIPELINE_PANELS`)."""
    return PIPELINE_PANELS[name](pipeline_of(get_store()), view)


# A frame the size of the stored activities (about 40 MB a million), shared rather than
# copied (`st.cache_resource`, where `st.cache_data` pickles a copy per hit): nothing
# changes it. Two versions: the pages still drawing the last one while a write lands.
@st.cache_resource(max_entries=2, show_spinner=False)
def activity_links(version: str) -> pl.DataFrame:
    """Every stored activity beside the deal it counts on; every view's activity figures
    are a filter and a grouping of it."""
    return pipeline_of(get_store()).activity_links()


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner=False)
def closed_activities(view: View, version: str) -> activities.ClosedActivities:
    """The activities behind the `activities` table and the visit win rates, read once."""
    return activities.closed_activities(pipeline_of(get_store()), view, activity_links(version))


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner=False)
def deals_stored(scope: Scope, version: str) -> int:
    """How many deals are stored in `scope` (the user's branches)."""
    return pipeline_of(get_store()).count(scope)


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner=False)
def view_for(filters: Filters, allowed: tuple[str, ...] | None, version: str) -> View:
    return resolve_view(get_store(), filters, allowed)


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner=False)
def area(name: str, view: View, version: str) -> pl.DataFrame:
    """One area's table (the same one `python -m core export` writes)."""
    if name == "products":  # its all-time part is the same for every window: kept apart
        return products.products(get_store(), view, product_catalogue(view.scope, version))
    return area_table(name, get_store(), view)


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner=False)
def product_catalogue(scope: Scope, version: str) -> pl.DataFrame:
    """Every product's first and last sale, name and line over all time (any window)."""
    return products.product_catalogue(get_store(), scope)


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner=False)
def panel(name: str, view: View, version: str) -> pl.DataFrame:
    """A page panel that is not an export area (comparison trend, mixes, ...)."""
    return PANELS[name](get_store(), view)


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner=False)
def cohorts(view: View, version: str) -> pl.DataFrame:
    """The cohorts area, with the first purchases of the cached customers table."""
    return customers.cohorts(get_store(), view, area("customers", view, version))


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner=False)
def customer_lifetime_value(view: View, version: str) -> customers.Clv:
    """CLV, with the cached customers table where it covers the last 365 days."""
    return customers.clv(get_store(), view, customers=area("customers", view, version))


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner=False)
def _forecast(scope: Scope, end: date, version: str, per_branch: bool) -> projection.Forecast:
    return projection.forecast_through(get_store(), scope, end, per_branch=per_branch)


def forecast(view: View, today: date, version: str, per_branch: bool = True) -> projection.Forecast:
    """Net sales ahead per branch and in total (or in total only), learnt up to the
    view's end (or yesterday); one fit per scope and last day learnt, whatever the
    window's start, grain or comparison."""
    if view.window is None:
        return projection.empty()
    end = history_end(view.window.end, today)
    return _forecast(view.scope, end, version, per_branch)


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner=False)
def sales_anomalies(view: View, today: date, version: str) -> pl.DataFrame:
    """Branch-days of the view outside their one-step 95% interval."""
    return anomalies.anomalies(get_store(), view, today=today)


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner=False)
def members_of(column: str, scope: Scope, version: str) -> list[str]:
    return get_store().distinct_values(column, scope)


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner=False)
def product_names(
    ids: tuple[str, ...], allowed: tuple[str, ...] | None, version: str
) -> dict[str, str]:
    return products.product_names(get_store(), Scope(products=ids, allowed_branches=allowed))


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner=False)
def data_range(scope: Scope, version: str) -> Window | None:
    return get_store().date_range(scope)


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner=False)
def visible_targets(allowed: tuple[str, ...] | None, version: str) -> pl.DataFrame:
    """Every stored target a user kept to `allowed` branches may see (the Targets page)."""
    return targets.visible(get_store().read_targets(), Scope(allowed_branches=allowed))


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner=False)
def total_attainment(view: View, version: str) -> targets.Attainment:
    return targets.total_attainment(get_store(), view)


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner=False)
def run_rates(scope: Scope, today: date, version: str) -> tuple[targets.RunRate, ...]:
    """This month's and this quarter's run-rate as of `today` (business time)."""
    return tuple(
        targets.run_rate(get_store(), scope, period, today) for period in targets.RUN_RATE_PERIODS
    )


def abc_summary(table: pl.DataFrame) -> pl.DataFrame:
    return products.abc_summary(table)


def clear() -> None:
    st.cache_data.clear()
    activity_links.clear()
