"""The data audit log: one JSON line per attempt to change the data, in
`SALES_DATA_DIR/audit/uploads.jsonl`, from the upload page and the command line alike.
"""

from __future__ import annotations

import fcntl
import getpass
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

Outcome = str  # "loaded", "rejected" (validation), "failed" (read, map or write error)


@dataclass(frozen=True)
class UploadRecord:
    at: str  # ISO time, UTC
    user: str
    file_name: str
    size_bytes: int
    sha256: str
    mode: str
    rows_accepted: int
    rows_rejected: int
    outcome: Outcome
    seconds: float
    detail: str = ""
    # Where the change came from: "upload" (the page, `user` its sign-in name) or
    # "cli" (`python -m ingest`, `user` the operating system account that ran it).
    source: str = "upload"
    # What the change was to: "sales" (invoice lines) or "targets".
    dataset: str = "sales"


# Longest detail kept: an error message, never a whole traceback.
MAX_DETAIL = 500


def os_user() -> str:
    """The operating system account running this process (the `who` of a CLI change)."""
    try:
        return getpass.getuser()
    except OSError:  # no login name and no password entry (some containers)
        return "unknown"


def cli_record(
    file_name: str,
    size_bytes: int,
    sha256: str,
    mode: str,
    outcome: Outcome,
    seconds: float,
    accepted: int = 0,
    rejected: int = 0,
    detail: str = "",
    dataset: str = "sales",
) -> UploadRecord:
    """The record of one command-line load (its digest empty when the file was unreadable)."""
    return UploadRecord(
        at=now_text(),
        user=os_user(),
        file_name=file_name,
        size_bytes=size_bytes,
        sha256=sha256,
        mode=mode,
        rows_accepted=accepted,
        rows_rejected=rejected,
        outcome=outcome,
        seconds=round(seconds, 3),
        detail=detail[:MAX_DETAIL],
        source="cli",
        dataset=dataset,
    )


def audit_path(data_dir: Path) -> Path:
    return data_dir / "audit" / "uploads.jsonl"


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def append(data_dir: Path, record: UploadRecord) -> None:
    """Append one record; concurrent writers take turns (lines never interleave)."""
    path = audit_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(asdict(record), ensure_ascii=False) + "\n"
    with open(path, "a", encoding="utf-8") as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        log.write(line)
        log.flush()


def records(data_dir: Path) -> pl.DataFrame:
    """Every record, newest first (an unreadable line is skipped, never fatal)."""
    path = audit_path(data_dir)
    rows = []
    if path.exists():
        for text in path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(text))
            except json.JSONDecodeError:
                continue
    schema = {
        name: pl.Int64
        if name in ("size_bytes", "rows_accepted", "rows_rejected")
        else pl.Float64
        if name == "seconds"
        else pl.String
        for name in UploadRecord.__dataclass_fields__
    }
    if not rows:
        return pl.DataFrame(schema=schema)
    # Lines written before `source` existed came from the upload page, of sales lines.
    frame = pl.DataFrame(rows, schema=schema).with_columns(
        pl.col("source").fill_null("upload"), pl.col("dataset").fill_null("sales")
    )
    return frame.reverse()


def previous_load(data_dir: Path, sha256: str, dataset: str = "sales") -> dict[str, object] | None:
    """The latest successful load of the same content into `dataset`, if any."""
    loaded = records(data_dir).filter(
        (pl.col("sha256") == sha256)
        & (pl.col("outcome") == "loaded")
        & (pl.col("dataset") == dataset)
    )
    return loaded.row(0, named=True) if loaded.height else None
