"""What the ingest of the CRM datasets (deals, stage history, activities) shares.

Each dataset's module maps its headers by its CRMs' synonyms, parses and
validates; this module holds the steps they have in common: the mapped
columns under their canonical names with the file's row numbers, text and
instant parsing with a failure per bad cell, yes/no columns, rows an export
holds that are not the dataset's (left out with a note), and the load
itself (read the file, prepare it, write it only if every row passed).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import pandera.errors
import pandera.polars as pa
import polars as pl

from core.store import Progress, Window, WriteMode, WriteResult
from ingest.mapping import ColumnMapping
from ingest.parse import (
    MAX_TEXT_LENGTH,
    ROW,
    Parsed,
    cell_failures,
    parse_datetimes,
    typed_datetimes,
)
from ingest.pipeline import MAX_FILE_BYTES, IngestError, IngestResult, PreparedFile, _too_big
from ingest.read import RawTable
from ingest.validate import collected, schema_failures

DATE_RULE = "must be a date such as 2024-01-31 or 31/01/2024"


@dataclass
class PreparedExport(PreparedFile):
    """A CRM export read, mapped and validated; `lines` holds the dataset's stored rows."""

    day_column: str = ""  # the business day `date_range` spans
    noun: str = "rows"  # what a row is, plural, for messages

    def date_range(self) -> Window | None:
        if self.lines.is_empty():
            return None
        days = self.lines[self.day_column]
        return Window(days.min(), days.max())  # type: ignore[arg-type]


def mapped_frame(
    raw: pl.DataFrame,
    columns: dict[str, str],
    known: tuple[str, ...],
    text: tuple[str, ...],
    *,
    numbered: bool = False,
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """The mapped columns (`columns`: canonical -> header) under their canonical names.

    `ROW` comes first: the line a spreadsheet shows (the header is row 1), or,
    when `numbered`, the `ROW` column `raw` carries (a reshaped file's rows
    keep their source line). A `known` column the file lacks is null; `text`
    columns are stripped, blanks null. The failures are the text cells
    longer than `MAX_TEXT_LENGTH`.
    """
    rows = raw[ROW] if numbered else pl.int_range(2, raw.height + 2, eager=True)
    renamed = raw.select([pl.col(h).alias(c) for c, h in columns.items()]).insert_column(
        0, rows.cast(pl.Int64).alias(ROW)
    )
    missing = [c for c in known if c not in renamed.columns]
    renamed = renamed.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in missing])
    renamed = renamed.with_columns(
        (pl.col(c) if renamed.schema[c] == pl.String else pl.col(c).cast(pl.String))
        .str.strip_chars()
        .replace("", None)
        .alias(c)
        for c in text
    )
    failures = []
    for column in text:
        too_long = renamed[column].str.len_chars() > MAX_TEXT_LENGTH
        if too_long.any():
            rule = f"must be at most {MAX_TEXT_LENGTH} characters"
            failures.append(cell_failures(renamed, column, too_long, rule))
    return renamed, failures


def instants(source: pl.Series, timezone: str) -> tuple[pl.Series, tuple[str, ...]]:
    """Date or datetime cells as UTC instants (naive ones are `timezone` time), and notes."""
    typed = typed_datetimes(source, timezone)
    if typed is not None:
        return typed, ()
    text = source if source.dtype == pl.String else source.cast(pl.String)
    if text.null_count() == len(text):
        return pl.Series(source.name, [None] * len(text), dtype=pl.Datetime("us", "UTC")), ()
    return parse_datetimes(text, timezone)


def instant_column(
    frame: pl.DataFrame, column: str, timezone: str
) -> tuple[pl.Series, list[pl.DataFrame], list[str]]:
    """`column` parsed by `instants`, the cells that do not read as a date, and notes."""
    values, notes = instants(frame[column], timezone)
    bad = frame[column].is_not_null() & values.is_null()
    failures = [cell_failures(frame, column, bad, DATE_RULE)] if bad.any() else []
    return values.alias(column), failures, [f"{column}: {note}" for note in notes]


def yes_no(
    values: pl.Series, yes: tuple[str, ...], no: tuple[str, ...]
) -> tuple[pl.Series, pl.Series]:
    """A yes/no column as booleans (null where blank), and the cells that are neither.

    `yes` and `no` are lower-case words; cells are compared stripped and lower-cased.
    """
    word = values.cast(pl.String).str.strip_chars().str.to_lowercase()
    typed = pl.select(
        pl.when(word.is_in(yes)).then(True).when(word.is_in(no)).then(False)
    ).to_series()
    return typed, word.is_not_null() & typed.is_null()


def left_out(frame: pl.DataFrame, keep: pl.Series, what: str) -> tuple[pl.DataFrame, list[str]]:
    """`frame` without the rows `keep` refuses (rows an export holds that are not the
    dataset's), and a note saying how many went, as `what`."""
    dropped = int((~keep).sum())
    if not dropped:
        return frame, []
    return frame.filter(keep), [f"{what}: {dropped} left out"]


Prepared = TypeVar("Prepared", bound=PreparedFile)


def load_export(
    source: Path | bytes,
    prepare: Callable[[bytes, str, Progress], Prepared],
    write: Callable[[Prepared, Progress], WriteResult],
    *,
    filename: str | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Read `source` (a path, or bytes named `filename`), `prepare` it, and `write` it
    only if no row failed.

    Raises
    ------
    IngestError
        If the file cannot be read or mapped (nothing is written).
    """
    started = time.perf_counter()
    report = progress or (lambda _stage, _fraction: None)
    if isinstance(source, Path):
        filename = filename or source.name
        try:
            # Checked before reading: an oversized file is never pulled into memory.
            if source.stat().st_size > MAX_FILE_BYTES:
                raise IngestError(f"{filename}: {_too_big(source.stat().st_size)}")
            data = source.read_bytes()
        except OSError as exc:
            raise IngestError(f"{source}: cannot read the file: {exc.strerror}") from exc
    else:
        data, filename = source, filename or "upload"
    prepared = prepare(data, filename, report)
    prepared_at = time.perf_counter()
    if not prepared.ok:
        return IngestResult(
            prepared, None, prepared_at - started, {"prepare": prepared_at - started}
        )
    written = write(prepared, lambda stage, f: report(stage, 0.6 + 0.4 * f))
    report("done", 1.0)
    finished = time.perf_counter()
    timings = {"prepare": prepared_at - started, "write": finished - prepared_at}
    return IngestResult(prepared, written, finished - started, timings)


Export = TypeVar("Export", bound=PreparedExport)


def prepared_export(
    kind: type[Export],
    data: bytes,
    filename: str,
    raw: RawTable,
    mapping: ColumnMapping,
    parsed: Parsed,
    failures: pl.DataFrame,
    stored: Callable[[pl.DataFrame], pl.DataFrame],
) -> Export:
    """The prepared export of `kind`: its rows as the store keeps them (`stored` adds the
    business days) when no row failed, none otherwise."""
    rows = parsed.frame.drop(ROW)
    return kind(
        filename=filename,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        raw=raw,
        mapping=mapping,
        failures=failures,
        lines=stored(rows) if failures.is_empty() else rows.clear(),
        notes=raw.notes + parsed.notes,
    )


def contract_failures(
    parsed: Parsed,
    model: type[pa.DataFrameModel],
    columns: tuple[str, ...],
    rules: dict[str, str],
    frame_check_columns: dict[str, str],
) -> pl.DataFrame:
    """Every failure as (row, column, value, rule): parsing's first, then `model`'s."""
    found = [parsed.failures]
    try:
        model.validate(parsed.frame.select(columns), lazy=True)
    except pandera.errors.SchemaErrors as exc:
        found.append(
            schema_failures(exc, parsed.frame[ROW], parsed.text, rules, frame_check_columns)
        )
    return collected(found)


class ExportStore(Protocol):
    """Where a CRM dataset is written: the deals' store, or a keyed one beside it."""

    def write(
        self, rows: pl.DataFrame, mode: WriteMode, progress: Progress | None = None
    ) -> WriteResult: ...


def write_export(
    prepared: PreparedExport,
    store: ExportStore,
    mode: WriteMode = "append",
    progress: Progress | None = None,
) -> WriteResult:
    """Write a prepared export that passed validation."""
    if not prepared.ok:
        raise IngestError(f"{prepared.filename}: {prepared.rejected_rows} rows failed validation")
    return store.write(prepared.lines, mode, progress)
