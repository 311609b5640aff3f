"""The Upload page's audit: one line per upload attempt, and the history table."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import streamlit as st

from core.settings import Settings
from core.users import User
from ingest import audit


@dataclass(frozen=True)
class UploadedFile:
    """What the audit names of a file: its name, size and SHA-256 (hex)."""

    name: str
    size_bytes: int
    sha256: str


def record_upload(
    settings: Settings,
    user: User,
    dataset: str,
    upload: UploadedFile,
    mode: str,
    accepted: int,
    rejected: int,
    outcome: str,
    seconds: float,
    detail: str = "",
) -> None:
    """Audit one attempt to load `upload`."""
    audit.append(
        settings.data_dir,
        audit.UploadRecord(
            at=audit.now_text(),
            user=user.username,
            file_name=upload.name,
            size_bytes=upload.size_bytes,
            sha256=upload.sha256,
            mode=mode,
            rows_accepted=accepted,
            rows_rejected=rejected,
            outcome=outcome,
            seconds=round(seconds, 3),
            detail=detail[:500],
            dataset=dataset,
        ),
    )


def upload_history(settings: Settings) -> None:
    """Every audited upload, CLI load and target edit, newest first as the log keeps them."""
    st.subheader("Upload history")
    history = audit.records(settings.data_dir)
    if history.is_empty():
        st.caption("No uploads yet.")
        return
    st.dataframe(
        history.drop("sha256").with_columns(
            at=local_times(history["at"], settings.timezone),
            sha256=history["sha256"].str.slice(0, 12),
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "at": st.column_config.TextColumn(f"When ({settings.timezone})"),
            "user": "User",
            "file_name": "File",
            "size_bytes": st.column_config.NumberColumn("Bytes", format="%,d"),
            "mode": "Mode",
            "rows_accepted": st.column_config.NumberColumn("Rows loaded", format="%,d"),
            "rows_rejected": st.column_config.NumberColumn("Rows rejected", format="%,d"),
            "outcome": "Outcome",
            "seconds": st.column_config.NumberColumn("Seconds", format="%.1f"),
            "detail": "Detail",
            "source": st.column_config.TextColumn(
                "From",
                help="upload: this page; cli: `python -m ingest` (user = system account); "
                "targets page: an edit on the Targets page",
            ),
            "dataset": st.column_config.TextColumn(
                "Dataset", help="sales lines, targets or opportunities (CRM deals)"
            ),
            "sha256": "SHA-256 (start)",
        },
    )


def local_times(instants: pl.Series, timezone: str) -> pl.Series:
    """The log's UTC instants as business-time text, as every other time on the pages."""
    parsed = instants.str.to_datetime(time_zone="UTC", strict=False)
    local = parsed.dt.convert_time_zone(timezone).dt.strftime("%Y-%m-%d %H:%M")
    return local.fill_null(instants)
