"""Upload (admins): check a sales, targets or CRM file (deals, stage history, activities),
map its columns, load it all or nothing, audited."""

import hashlib
import time
from collections.abc import Callable
from typing import NoReturn

import polars as pl
import streamlit as st

from core import cache
from core.exports import to_csv_bytes
from core.settings import load_settings
from core.store import Scope, StoreError, Window, WriteMode
from ingest import audit
from ingest.activities import prepare_activities
from ingest.crm import PreparedExport, write_export
from ingest.mapping import MappingError, propose_mapping
from ingest.numbers import Decimal
from ingest.opportunities import PreparedDeals, prepare_deals
from ingest.pipeline import (
    AmbiguousNumberFormat,
    IngestError,
    PreparedFile,
    prepare_file,
    write_prepared,
)
from ingest.read import ReadError, read_table
from ingest.rejects import rejects_frame
from ingest.renames import renames
from ingest.stages import hubspot_stages, prepare_stages
from ingest.targets import PreparedTargets, prepare_targets, write_targets
from ui import format as fmt
from ui.auth import require_admin, require_login
from ui.upload_columns import (
    CONTRACTS,
    DATASETS,
    pick_columns,
    show_both_readings,
    show_renames,
)
from ui.upload_log import UploadedFile, local_times, record_upload, upload_history

PREVIEW_ROWS = 20
SHOWN_FAILURES = 50

user = require_login()
require_admin(user)
settings = load_settings()
limit_mb = int(st.get_option("server.maxUploadSize"))

# The picker's value as this rerun starts: the title names what is being uploaded.
st.title(f"Upload {st.session_state.get('upload_dataset') or 'sales'}")
dataset = (
    st.segmented_control(
        "Dataset",
        list(DATASETS),
        default="sales",
        format_func=DATASETS.__getitem__,
        key="upload_dataset",
        help="Sales lines: one row per invoice line. Targets: a month's net sales target "
        "(optionally gross profit) per branch, salesperson and/or product line. CRM deals: "
        "an export of opportunities from HubSpot, Salesforce, Pipedrive, Zoho or Odoo. "
        "Deal stage history: when each deal entered each stage (the funnel). Sales "
        "activities: calls, visits, meetings, e-mails, quotes and demos done for deals.",
    )
    or "sales"
)
is_targets = dataset == "targets"
is_crm = dataset in ("opportunities", "stages", "activities")
st.caption(
    f"CSV (comma, semicolon, tab or pipe; UTF-8, Windows-1252 or Latin-1), Excel or Parquet, "
    f"up to {limit_mb} MB. "
    "A file loads completely or not at all."
    + (
        " Columns: month (YYYY-MM), target (net sales), optionally a gross profit target, "
        "and branch, salesperson and/or product line (blank = all)."
        if is_targets
        else {
            "opportunities": " One row per deal; loading a newer export replaces each deal "
            "it holds again.",
            "stages": " One row per deal entering a stage (deal, stage, when), or HubSpot's "
            "deals export with its 'Date entered' columns; rows already stored are kept once.",
            "activities": " One row per activity, naming its deal or its customer; loading "
            "a newer export replaces each activity it holds again.",
        }.get(dataset, "")
    )
)
columns_of_dataset, required_of_dataset, known_headers = CONTRACTS[dataset]
if "upload_done" in st.session_state:
    st.success(st.session_state.pop("upload_done"), icon=":material/check_circle:")


uploaded = st.file_uploader(
    "Sales file" if dataset == "sales" else "Targets file" if is_targets else "CRM export",
    type=["csv", "txt", "xlsx", "xls", "parquet"],
    key=f"upload_{dataset}_{st.session_state.get('upload_generation', 0)}",
)
if uploaded is None:
    upload_history(settings)
    st.stop()

data, name = uploaded.getvalue(), uploaded.name
digest = hashlib.sha256(data).hexdigest()


def record(
    mode: str, accepted: int, rejected: int, outcome: str, seconds: float, detail: str = ""
) -> None:
    """Audit this attempt on the uploaded file."""
    file = UploadedFile(name, len(data), digest)
    record_upload(settings, user, dataset, file, mode, accepted, rejected, outcome, seconds, detail)


try:
    raw = read_table(data, name)
except ReadError as exc:
    st.error(f"Cannot read {name}: {exc}")
    if st.session_state.get("read_error_logged") != digest:
        record("-", 0, 0, "failed", 0.0, str(exc))
        st.session_state["read_error_logged"] = digest
    upload_history(settings)
    st.stop()

headers = raw.frame.columns
# HubSpot exports stage history as one "Date entered <stage>" column per stage: the deal's
# id is the one column to map, the stage columns are read as they are.
wide_stages = hubspot_stages(headers) if dataset == "stages" else {}
if wide_stages:
    columns_of_dataset = required_of_dataset = ("opportunity_id",)
st.subheader("1. Preview")
st.caption(
    f"{fmt.plural(raw.frame.height, 'row')}, {fmt.plural(len(headers), 'column')}"
    + (f", sheet '{raw.sheet}'" if raw.sheet else "")
    + (f", {raw.encoding}" if raw.encoding else "")
)
st.dataframe(raw.frame.head(PREVIEW_ROWS), hide_index=True, width="stretch")
if wide_stages:
    st.caption(
        f"Stage history in {fmt.plural(len(wide_stages), 'column')} of HubSpot's 'Date "
        f"entered' kind: {', '.join(map(fmt.plain, wide_stages.values()))}."
    )

st.subheader("2. Columns")
st.caption("Proposed from the headers; change any that are wrong. Required columns are marked *.")
try:
    proposed = (
        propose_mapping(
            headers,
            canonical=columns_of_dataset,
            required=required_of_dataset,
            known_headers=known_headers,
        )
        if known_headers is not None
        else propose_mapping(headers)
    ).columns
except MappingError as exc:
    st.warning(f"{fmt.plain(exc)}. Pick the right header below.")
    proposed = {}
chosen = pick_columns(
    headers, columns_of_dataset, required_of_dataset, proposed, f"map_{dataset}_{digest[:12]}"
)
if chosen is None:
    upload_history(settings)
    st.stop()
explicit = {header: column for column, header in chosen.items()}

DECIMAL_CHOICES: dict[str, Decimal | None] = {
    "From the values": None,
    "Dot: 1,234.50": ".",
    "Comma: 1.234,50": ",",
}


st.subheader("3. Check")
decimal_label = st.radio(
    "Decimal mark of the file's numbers",
    list(DECIMAL_CHOICES),
    horizontal=True,
    help="By default each number column's values decide (150.0 and 12,50 say it). A column "
    "whose every value reads both ways, such as 1.500, needs you to say which.",
    key=f"decimal_{digest[:12]}",
)
decimal = DECIMAL_CHOICES[decimal_label]
explicit_headers = {column: header for header, column in explicit.items()}
check_key = (dataset, digest, tuple(sorted(explicit.items())), decimal)
if st.button("Check the file", type="primary"):
    started = time.perf_counter()
    bar = st.progress(0.0, text="Reading")
    try:

        def progress(stage: str, fraction: float) -> None:
            bar.progress(min(fraction / 0.6, 1.0), text=stage.capitalize())

        prepared: PreparedFile | PreparedTargets = (
            prepare_targets(data, name, explicit, decimal)
            if is_targets
            else prepare_deals(data, name, explicit, settings.timezone, progress, decimal)
            if dataset == "opportunities"
            else prepare_stages(data, name, explicit, settings.timezone, progress)
            if dataset == "stages"
            else prepare_activities(data, name, explicit, settings.timezone, progress)
            if dataset == "activities"
            else prepare_file(
                data,
                name,
                explicit,
                settings.timezone,
                progress,
                decimal,
            )
        )
    except AmbiguousNumberFormat as exc:
        bar.empty()
        show_both_readings(raw.frame, explicit_headers[exc.column], exc)
        upload_history(settings)
        st.stop()
    except IngestError as exc:
        bar.empty()
        st.error(str(exc))
        record("-", 0, 0, "failed", time.perf_counter() - started, str(exc))
        upload_history(settings)
        st.stop()
    bar.empty()
    changes: pl.DataFrame | str = pl.DataFrame()
    # Renames compare a sales file's names with the stored sales (CRM exports are their own).
    if prepared.ok and isinstance(prepared, PreparedFile) and not is_crm:
        try:  # asked once per check: a rerun (the mode, say) must not query the store again
            changes = renames(prepared.lines, cache.get_store())
        except StoreError as exc:
            changes = f"Could not compare the file's names with the stored ones: {exc}"
    st.session_state["checked"] = (check_key, prepared, changes)
    if not prepared.ok:
        record(
            "-",
            0,
            prepared.rejected_rows,
            "rejected",
            time.perf_counter() - started,
            fmt.plural(prepared.failures.height, "problem"),
        )

checked = st.session_state.get("checked")
if not checked or checked[0] != check_key:
    upload_history(settings)
    st.stop()
prepared = checked[1]
changes = checked[2]
for note in prepared.notes:
    st.info(note)
if not prepared.ok:
    st.error(
        f"{prepared.rejected_rows:,} of {prepared.rows:,} rows "
        f"{'has' if prepared.rejected_rows == 1 else 'have'} problems, so nothing "
        "was loaded. Fix them in the source file and upload it again."
    )
    left, right = st.columns([1, 2])
    left.markdown("**Problems by rule**")
    left.dataframe(prepared.rule_counts(), hide_index=True, width="stretch")
    right.markdown(f"**First {SHOWN_FAILURES} problems** (row = line in the file, header is row 1)")
    right.dataframe(prepared.failures.head(SHOWN_FAILURES), hide_index=True, width="stretch")
    st.download_button(
        "Download every rejected row (CSV)",
        to_csv_bytes(rejects_frame(prepared), money_to_cents=False),  # the file's own cells
        file_name=f"rejects_{name.rsplit('.', 1)[0]}.csv",
        mime="text/csv",
        icon=":material/download:",
    )
    upload_history(settings)
    st.stop()

valid = "The file's one row is" if prepared.rows == 1 else f"All {prepared.rows:,} rows are"
if isinstance(prepared, PreparedTargets):
    months = prepared.months()
    st.success(f"{valid} valid: targets for {months[0]:%Y-%m} to {months[-1]:%Y-%m}.")
    st.dataframe(prepared.targets.head(PREVIEW_ROWS), hide_index=True, width="stretch")
elif isinstance(prepared, PreparedExport):
    span = prepared.date_range()
    assert span is not None
    dated = {
        "deals": "deals created",
        "stage entries": "stages entered",
        "activities": "activities done",
    }.get(prepared.noun, prepared.noun)
    st.success(f"{valid} valid: {dated} from {span.start} to {span.end}.")
    st.dataframe(prepared.lines.head(PREVIEW_ROWS), hide_index=True, width="stretch")
else:
    span = prepared.date_range()
    assert span is not None
    st.success(f"{valid} valid: sales from {span.start} to {span.end}.")
earlier = audit.previous_load(settings.data_dir, digest, dataset)
confirmed = True
if earlier:
    st.warning(
        f"This exact file was already loaded on "
        f"{local_times(pl.Series([earlier['at']]), settings.timezone)[0]} by {earlier['user']}. "
        "Loading it again changes nothing for lines already stored (same invoice and "
        "line number), but check it is not a mistake."
    )
    confirmed = st.checkbox("Load it anyway")
if isinstance(prepared, PreparedFile) and not is_crm:
    show_renames(changes, prepared)

st.subheader("4. Load")
store = cache.get_store()


def load_whole_file(
    button: str, modes: dict[str, str], write: Callable[[str], str], done: str
) -> NoReturn:
    """The load step of a targets or CRM file: how, the button, the write (which returns
    what it did, for the audit line), the message after it."""
    how = st.radio("How", list(modes), horizontal=True, format_func=modes.__getitem__)
    if st.button(button, type="primary", disabled=not confirmed):
        started = time.perf_counter()
        try:
            summary = write(how)
        except (StoreError, IngestError) as exc:
            st.error(f"Nothing was loaded: {exc}")
            record(how, 0, 0, "failed", time.perf_counter() - started, str(exc))
            upload_history(settings)
            st.stop()
        seconds = time.perf_counter() - started
        record(how, prepared.rows, 0, "loaded", seconds, summary)
        st.session_state.pop("checked", None)
        st.session_state["upload_generation"] = st.session_state.get("upload_generation", 0) + 1
        st.session_state["upload_done"] = f"Loaded {name}: {done.format(summary=summary)}"
        st.rerun()
    upload_history(settings)
    st.stop()


def _targets_written(how: str) -> str:
    assert isinstance(prepared, PreparedTargets)
    saved = write_targets(prepared, store, user.username, how)  # type: ignore[arg-type]
    return f"inserted {saved.inserted}, updated {saved.updated}, removed {saved.removed}"


def _crm_written(how: str) -> str:
    assert isinstance(prepared, PreparedExport)
    into = (
        cache.get_pipeline_store()
        if isinstance(prepared, PreparedDeals)
        else cache.get_crm_writer(dataset)
    )
    written = write_export(prepared, into, how)  # type: ignore[arg-type]
    return f"inserted {written.inserted}, updated {written.updated}, replaced {written.replaced}"


if isinstance(prepared, PreparedTargets):
    load_whole_file(
        f"Load {fmt.plural(prepared.rows, 'target')}",
        {
            "append": "Add (a target for a month and slice already stored replaces it)",
            "replace": "Replace the file's months (every other target of those months goes)",
        },
        _targets_written,
        "targets {summary}. The dashboards show them now.",
    )
if isinstance(prepared, PreparedExport):
    one, added = {
        "deals": ("deal", "a deal already stored is replaced by its row in this export"),
        "stage entries": ("stage entry", "an entry already stored is kept once"),
        "activities": ("activity", "an activity already stored is replaced by its row here"),
    }[prepared.noun]
    load_whole_file(
        f"Load {fmt.plural(prepared.lines.height, one, prepared.noun)}",
        {
            "append": f"Add ({added})",
            "replace": f"Replace every stored {one} with this export",
        },
        _crm_written,
        prepared.noun + " {summary}. The Pipeline page shows them now.",
    )
assert isinstance(prepared, PreparedFile)
span = prepared.date_range()
assert span is not None
mode: WriteMode = st.radio(
    "How",
    ("append", "replace"),
    horizontal=True,
    format_func={
        "append": "Append (new lines added, re-sent lines updated)",
        "replace": "Replace a date range (everything stored in it is swapped for this file)",
    }.__getitem__,
)
window: Window | None = None
if mode == "replace":
    left, right = st.columns(2)
    start = left.date_input("From", value=span.start, max_value=span.start)
    end = right.date_input("To", value=span.end, min_value=span.end)
    window = Window(start, end)
    existing = store.count_lines(Scope(), window)
    st.warning(
        f"{existing:,} stored lines from {start} to {end} will be replaced by this "
        f"file's {prepared.rows:,}."
    )
if st.button(f"Load {fmt.plural(prepared.rows, 'row')}", type="primary", disabled=not confirmed):
    started = time.perf_counter()
    bar = st.progress(0.0, text="Writing")
    try:

        def writing(stage: str, fraction: float) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=stage.capitalize())

        written = write_prepared(prepared, store, mode, window, writing)
    except (StoreError, IngestError) as exc:
        bar.empty()
        st.error(f"Nothing was loaded: {exc}")
        record(mode, 0, 0, "failed", time.perf_counter() - started, str(exc))
        upload_history(settings)
        st.stop()
    seconds = time.perf_counter() - started
    bar.empty()
    record(
        mode,
        prepared.rows,
        0,
        "loaded",
        seconds,
        f"inserted {written.inserted}, updated {written.updated}, replaced {written.replaced}",
    )
    st.session_state.pop("checked", None)
    st.session_state["upload_generation"] = st.session_state.get("upload_generation", 0) + 1
    st.session_state["upload_done"] = (
        f"Loaded {name}: {written.inserted:,} new lines, {written.updated:,} updated"
        + (f", {written.replaced:,} replaced" if mode == "replace" else "")
        + f"; sales from {span.start} to {span.end}; {seconds:.1f} s. The dashboards show it now."
    )
    st.rerun()

upload_history(settings)
