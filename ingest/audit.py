"""The upload audit log: one JSON line per attempt in `SALES_DATA_DIR/audit/uploads.jsonl`."""

from __future__ import annotations

import fcntl
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
    return pl.DataFrame(rows, schema=schema).reverse()


def previous_load(data_dir: Path, sha256: str) -> dict[str, object] | None:
    """The latest successful load of the same content, if any."""
    loaded = records(data_dir).filter(
        (pl.col("sha256") == sha256) & (pl.col("outcome") == "loaded")
    )
    return loaded.row(0, named=True) if loaded.height else None
