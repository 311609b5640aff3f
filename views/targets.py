"""Targets: each target against its actual over the window; admins edit them, audited."""

import polars as pl
import streamlit as st

from core import cache
from core.settings import load_settings
from core.store import StoreError
from ingest.target_edits import (
    editable,
    pending_summary,
    record_rejected,
    review_edit,
    save_edit,
)
from ui.auth import require_login
from ui.filter_bar import allowed_branches
from ui.page import begin, rerun_saying, saved_notice, store_error
from ui.tables import data_table

user = require_login()
state = begin("Targets", "Is each branch and salesperson on track against its target?")
saved_notice()

st.subheader("Against target in this window")
st.caption(
    "Each target with a month in the window, prorated by its days inside the window, "
    "beside the net sales of its branch, salesperson or product line in those days."
)
against = cache.area("targets", state.view, state.version)
if against.is_empty():
    st.info(
        "No target has a month in this window. Targets are loaded on the Upload page "
        "(dataset: targets), with `python -m ingest FILE --dataset targets`, or below.",
        icon=":material/flag:",
    )
else:
    data_table(against, name="targets", filters=state.filters, window=state.window)

st.subheader("All targets")
stored = cache.visible_targets(allowed_branches(), state.version)
shown = editable(stored)
config = {
    "month": st.column_config.TextColumn("Month", help="YYYY-MM", required=True),
    "branch": st.column_config.TextColumn("Branch", help="Blank: every branch"),
    "salesperson": st.column_config.TextColumn("Salesperson", help="Blank: every salesperson"),
    "product_line": st.column_config.TextColumn("Product line", help="Blank: every line"),
    "net_sales": st.column_config.NumberColumn(
        "Net sales target", help="KES, more than 0", format="KES %,.0f", min_value=0
    ),
    "gross_profit": st.column_config.NumberColumn(
        "Gross profit target", help="KES, optional", format="KES %,.0f"
    ),
}
if not user.is_admin:
    st.caption("Only administrators change targets.")
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config)
    st.stop()

st.caption(
    "Edit a cell, add a row at the bottom or delete rows, then save: the table is checked "
    "like a targets file (every problem listed, nothing saved while one remains) and each "
    "save is recorded in the upload history with who changed what."
)
edited = st.data_editor(
    shown,
    num_rows="dynamic",
    hide_index=True,
    width="stretch",
    column_config=config,
    key=f"targets_editor_{state.version}",
)
table = edited if isinstance(edited, pl.DataFrame) else pl.DataFrame(edited)
edit = review_edit(stored, table, allowed_branches())
if edit.ok and not edit.empty:
    st.caption(pending_summary(edit))
if st.button("Save targets", type="primary", icon=":material/save:"):
    settings = load_settings()
    if not edit.ok:
        record_rejected(edit, user.username, settings.data_dir)
        st.error(
            f"{edit.failures['row'].n_unique()} rows have problems, so nothing was saved "
            "(row = the table's row, from 1)."
        )
        st.dataframe(edit.failures, hide_index=True, width="stretch")
    elif edit.empty:
        st.info("Nothing changed.")
    else:
        try:
            written = save_edit(cache.get_store(), edit, user.username, settings.data_dir)
        except StoreError as exc:
            store_error(exc)
            st.stop()
        rerun_saying(
            f"Saved: {written.inserted} new, {written.updated} changed, "
            f"{written.removed} removed. The dashboards show them now."
        )
