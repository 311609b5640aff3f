"""The ingest pipeline: read -> map columns -> parse -> validate -> write.

`prepare_file` does everything except writing (the upload page previews its
result); `ingest_file` prepares and, only if no row failed, writes.
Progress goes to a callback so the CLI prints it and the page draws a bar.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from core.schema import BUSINESS_TZ, CANONICAL_COLUMNS, REQUIRED_COLUMNS, with_derived_measures
from core.store import Progress, SalesStore, StoreError, Window, WriteMode, WriteResult
from ingest.mapping import ColumnMapping, MappingError, describe_missing, propose_mapping
from ingest.numbers import AmbiguousNumbers, Decimal
from ingest.parse import ROW, parse_lines
from ingest.read import RawTable, ReadError, read_table
from ingest.validate import rule_counts, validate_lines

log = logging.getLogger("ingest")
# Largest file ingest reads, in MB: the same as `server.maxUploadSize` in
# .streamlit/config.toml, so the CLI accepts exactly what the upload page does.
MAX_FILE_MB = 200
MAX_FILE_BYTES = MAX_FILE_MB * 1024 * 1024


class IngestError(ValueError):
    """The file cannot be ingested at all (unreadable, unmappable); nothing was written."""


class AmbiguousNumberFormat(IngestError):
    """A number column reads two ways; the person must say which mark is the decimal one."""

    def __init__(self, filename: str, cause: AmbiguousNumbers) -> None:
        super().__init__(f"{filename}: {cause}")
        self.column = cause.column
        self.examples = cause.examples


@dataclass
class PreparedFile:
    """A source file read, mapped and validated, ready to write if `ok`."""

    filename: str
    size_bytes: int
    sha256: str
    raw: RawTable
    mapping: ColumnMapping
    failures: pl.DataFrame
    lines: pl.DataFrame  # StoredLine columns for valid files; empty otherwise
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.failures.is_empty()

    @property
    def rows(self) -> int:
        return self.raw.frame.height

    @property
    def rejected_rows(self) -> int:
        return self.failures["row"].n_unique() if not self.ok else 0

    def rule_counts(self) -> pl.DataFrame:
        return rule_counts(self.failures)

    def date_range(self) -> Window | None:
        if self.lines.is_empty():
            return None
        first: date = self.lines["sale_date"].min()  # type: ignore[assignment]
        last: date = self.lines["sale_date"].max()  # type: ignore[assignment]
        return Window(first, last)


@dataclass
class IngestResult:
    """What `ingest_file` did."""

    prepared: PreparedFile
    written: WriteResult | None
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.written is not None


def _no_progress(_stage: str, _fraction: float) -> None:
    return None


def _repeated_headers(headers: list[str], used: set[str]) -> list[str]:
    """Used headers that the file repeats (the readers rename the repeats).

    Polars' CSV reader names a second "Qty" `Qty_duplicated_0`; the Excel reader
    `Qty_1`. A repeated header that feeds no column (a blank one, say) is harmless.
    """
    present = set(headers)
    repeated = []
    for header in headers:
        match = re.fullmatch(r"(.+?)(?:_duplicated_\d+|_\d+)", header)
        if match and match.group(1) in present and match.group(1) in used:
            repeated.append(match.group(1))
    return repeated


def prepare_file(
    data: bytes,
    filename: str,
    explicit_map: dict[str, str] | None = None,
    timezone: str = BUSINESS_TZ,
    progress: Progress | None = None,
    decimal: Decimal | None = None,
) -> PreparedFile:
    """Read, map, parse and validate a file's bytes without writing anything.

    `decimal` is the decimal mark of the file's text numbers; None decides it
    per column from the values.

    Raises
    ------
    IngestError
        If the file cannot be read or a required column cannot be found;
        `AmbiguousNumberFormat` if `decimal` is None and a number column
        reads two ways.
    """
    report = progress or _no_progress
    report("reading", 0.05)
    # hashlib releases the GIL: the file's digest is taken while it is parsed.
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(lambda: hashlib.sha256(data).hexdigest())
        raw, mapping = read_mapped(data, filename, explicit_map)
        sha256 = digest.result()
    headers = raw.frame.columns
    repeated = _repeated_headers(headers, set(mapping.columns.values()))
    if repeated:
        raise IngestError(
            f"{filename}: the header {repeated[0]!r} appears more than once, so which column "
            "holds its values is ambiguous: rename or remove the extra one"
        )
    report("parsing", 0.25)
    try:
        parsed = parse_lines(raw.frame, mapping, timezone, decimal)
    except AmbiguousNumbers as exc:
        raise AmbiguousNumberFormat(filename, exc) from exc
    report("validating", 0.5)
    failures = validate_lines(parsed.frame, parsed.text, parsed.failures)
    lines = parsed.frame.drop(ROW).clear()
    if failures.is_empty():
        lines = with_derived_measures(parsed.frame.drop(ROW), timezone)
    return PreparedFile(
        filename=filename,
        size_bytes=len(data),
        sha256=sha256,
        raw=raw,
        mapping=mapping,
        failures=failures,
        lines=lines,
        notes=raw.notes + parsed.notes,
    )


def write_prepared(
    prepared: PreparedFile,
    store: SalesStore,
    mode: WriteMode = "append",
    replace_window: Window | None = None,
    progress: Progress | None = None,
) -> WriteResult:
    """Write a prepared file that passed validation."""
    if not prepared.ok:
        raise IngestError(f"{prepared.filename}: {prepared.rejected_rows} rows failed validation")
    return store.write(prepared.lines, mode, replace_window, progress)


def read_mapped(
    data: bytes,
    filename: str,
    explicit_map: dict[str, str] | None,
    *,
    canonical: tuple[str, ...] = CANONICAL_COLUMNS,
    known_headers: dict[str, str] | None = None,
    required: tuple[str, ...] = REQUIRED_COLUMNS,
) -> tuple[RawTable, ColumnMapping]:
    """A file's table and its columns mapped to a dataset's (the sales lines' by default),
    every required one found; IngestError naming the file otherwise.

    The first step of every dataset's ingest: size, read, map, required columns."""
    if len(data) > MAX_FILE_BYTES:
        raise IngestError(f"{filename}: {_too_big(len(data))}")
    try:
        raw = read_table(data, filename)
    except ReadError as exc:
        raise IngestError(f"{filename}: {exc}") from exc
    headers = raw.frame.columns
    try:
        mapping = propose_mapping(
            headers,
            explicit_map,
            canonical=canonical,
            required=required,
            known_headers=known_headers,
        )
    except MappingError as exc:
        raise IngestError(f"{filename}: {exc}") from exc
    if mapping.missing_required:
        raise IngestError(f"{filename}: {describe_missing(mapping, headers)}")
    return raw, mapping


def _too_big(size: int) -> str:
    return f"the file is {size / 1024 / 1024:,.1f} MB; the limit is {MAX_FILE_MB} MB"


def _log_outcome(
    outcome: str,
    filename: str,
    mode: WriteMode,
    started: float,
    prepared: PreparedFile | None = None,
    written: WriteResult | None = None,
    error: Exception | None = None,
) -> None:
    """The one log line of an ingest: loaded, rejected, unreadable or failed."""
    fields: dict[str, object] = {
        "event": "ingest",
        "outcome": outcome,
        "file": filename,
        "mode": mode,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if prepared is not None:
        fields.update(
            rows=prepared.rows,
            rejected_rows=prepared.rejected_rows,
            size_bytes=prepared.size_bytes,
            sha256=prepared.sha256,
        )
    if written is not None:
        fields.update(inserted=written.inserted, updated=written.updated, replaced=written.replaced)
    if error is not None:
        fields["error"] = str(error)
    level = logging.INFO if outcome in ("loaded", "rejected") else logging.WARNING
    log.log(level, "ingest %s: %s", outcome, filename, extra=fields)


def ingest_file(
    source: Path | bytes,
    store: SalesStore,
    *,
    filename: str | None = None,
    mode: WriteMode = "append",
    replace_window: Window | None = None,
    explicit_map: dict[str, str] | None = None,
    timezone: str = BUSINESS_TZ,
    progress: Progress | None = None,
    decimal: Decimal | None = None,
) -> IngestResult:
    """Ingest one file: write all its lines, or none if any row fails validation.

    Raises
    ------
    IngestError
        If the file cannot be read or mapped (nothing is written).
    """
    started = time.perf_counter()
    report = progress or _no_progress
    if isinstance(source, Path):
        filename = filename or source.name
        try:
            # Checked before reading: an oversized file is never pulled into memory.
            if source.stat().st_size > MAX_FILE_BYTES:
                error = IngestError(f"{filename}: {_too_big(source.stat().st_size)}")
                _log_outcome("unreadable", filename, mode, started, error=error)
                raise error
            data = source.read_bytes()
        except OSError as exc:
            raise IngestError(f"{source}: cannot read the file: {exc.strerror}") from exc
    else:
        data = source
        filename = filename or "upload"
    try:
        prepared = prepare_file(data, filename, explicit_map, timezone, report, decimal)
    except IngestError as exc:
        _log_outcome("unreadable", filename, mode, started, error=exc)
        raise
    prepared_at = time.perf_counter()
    timings = {"prepare": prepared_at - started}
    if not prepared.ok:
        _log_outcome("rejected", filename, mode, started, prepared)
        return IngestResult(prepared, None, prepared_at - started, timings)
    try:
        written = write_prepared(
            prepared,
            store,
            mode,
            replace_window,
            lambda stage, f: report(stage, 0.6 + 0.4 * f),
        )
    except StoreError as exc:
        _log_outcome("failed", filename, mode, started, prepared, error=exc)
        raise
    _log_outcome("loaded", filename, mode, started, prepared, written)
    finished = time.perf_counter()
    timings["write"] = finished - prepared_at
    report("done", 1.0)
    return IngestResult(prepared, written, finished - started, timings)
