"""Diagnostics: which store answers, is it healthy, how fresh is the data, what is configured."""

from datetime import UTC, date, datetime

import polars as pl
import streamlit as st

from core import cache, diagnostics
from core import health as health_check
from core.reports.book import ReportBook
from core.settings import load_settings
from core.store import StoreError
from ui.auth import require_login
from ui.warmup import start_warmer, warm_up_status

user = require_login()
st.title("Diagnostics")
st.caption("What the dashboard runs on, and whether it is healthy.")
settings = load_settings()
store = cache.get_store()
health = health_check.check(settings)  # the same check as `python -m core.health`
now = datetime.now(UTC)

status = st.success if health.ok else st.error
# The detail names the store's path and its company-wide size: for admins.
detail = health.detail if user.is_admin else ("healthy" if health.ok else "not healthy")
status(
    f"**{health.backend}** store: {detail}",
    icon=":material/check_circle:" if health.ok else ":material/error:",
)

try:
    newest = diagnostics.latest_sale(store, settings)
except StoreError as exc:
    newest = None
    st.warning(f"Cannot read the newest sale: {exc}")
tiles = st.columns(3)
tiles[0].metric("Backend", health.backend, border=True)
tiles[1].metric(
    "Latest sale",
    diagnostics.age_text(newest, now),
    border=True,
    help=f"{newest.astimezone(settings.tz):%Y-%m-%d %H:%M} Nairobi time" if newest else None,
)
tiles[2].metric(
    "Data version",
    cache.data_version(),
    border=True,
    help="Cached results are keyed by this: a write changes it, so pages show new data at once.",
)


def _shown(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M:%S %Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


if not user.is_admin:
    # Store size, paths and configuration describe the whole company and the server.
    st.caption("Store details, configuration and versions are shown to admins.")
    st.stop()

st.subheader("Store")
facts = [
    {"fact": key.replace("_", " "), "value": _shown(value)} for key, value in health.facts.items()
]
if facts:
    st.table(pl.DataFrame(facts))

st.subheader("CRM datasets")
st.caption("The deals, their stage history and the sales activities the Pipeline page reads.")
st.table(pl.DataFrame(diagnostics.crm_datasets(cache.get_pipeline_store())))

st.subheader("Cache")
st.write(
    "Query results are cached per filter combination and data version, so they stay "
    f"right until the data changes; each kind keeps its {cache.MAX_ENTRIES} most recent."
)
st.caption(warm_up_status(start_warmer(settings)))
if st.button("Clear cached results", icon=":material/delete_sweep:"):
    cache.clear()
    st.toast("Cache cleared: the next page view recomputes from the store.")

st.subheader("Scheduled reports")
reports_book = ReportBook(settings.data_dir)
failed_sends = reports_book.deliveries(status="failed", limit=20)
breached = [rule for rule in reports_book.alerts() if rule.state == "breach"]
st.write(
    f"{len(reports_book.subscriptions())} scheduled reports, {len(reports_book.alerts())} alert "
    f"rules ({len(breached)} in breach), {len(failed_sends)} recent failed sends; "
    "the Reports page has them all."
)
if failed_sends:
    st.dataframe(
        pl.DataFrame(
            [
                {
                    "when": _shown(d.at),
                    "what": f"{d.kind} {d.ref}",
                    "owner": d.owner,
                    "reason": d.error or "",
                    "request id": d.request_id,
                }
                for d in failed_sends
            ]
        ),
        hide_index=True,
        width="stretch",
    )

st.subheader("Configuration")
st.caption("Secrets and credentials are never shown.")
st.table(pl.DataFrame(diagnostics.settings_table(settings)))

st.subheader("Versions")
st.table(pl.DataFrame([{"component": k, "version": v} for k, v in diagnostics.versions().items()]))
