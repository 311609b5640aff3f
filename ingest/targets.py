"""Targets files: read -> map columns -> parse -> validate (`core.targets.TargetRow`) -> write.

The same reader, decimal-mark rules, failure report and all-or-nothing rule
as sales files (`ingest/pipeline.py`); the Targets page validates its edits
through `validate_targets` here too.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal

import pandera.errors
import polars as pl

from core.store import SalesStore, TargetWriteResult
from core.targets import (
    AT_LEAST_ONE_MEMBER,
    CANONICAL_COLUMNS,
    DUPLICATE,
    MEMBER_COLUMNS,
    MONTH_START,
    NUMBER_COLUMNS,
    REQUIRED_COLUMNS,
    TargetRow,
    keys_of,
    stamped,
    typed,
)
from ingest.mapping import (
    SYNONYMS as SALES_SYNONYMS,
)
from ingest.mapping import (
    ColumnMapping,
    lookup,
)
from ingest.numbers import AmbiguousNumbers, Decimal
from ingest.parse import FAILURE_SCHEMA, MAX_TEXT_LENGTH, ROW, cell_failures, number_column
from ingest.pipeline import AmbiguousNumberFormat, IngestError, read_mapped
from ingest.read import RawTable
from ingest.validate import collected, rule_counts, schema_failures

TargetMode = Literal["append", "replace"]

# Header spellings of targets sheets, after normalisation (see `mapping.normalise_header`).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "month": ("month", "period", "target month", "month year", "year month", "yyyy mm", "date"),
    "net_sales": (
        "target",
        "sales target",
        "net sales target",
        "target net sales",
        "target kes",
        "sales target kes",
        "monthly target",
        "net sales",
        "budget",
        "sales budget",
        "revenue target",
        "quota",
    ),
    "gross_profit": (
        "gross profit target",
        "target gross profit",
        "gp target",
        "gross profit",
        "profit target",
        "margin target",
    ),
    **{column: SALES_SYNONYMS[column] for column in MEMBER_COLUMNS},
}
KNOWN_HEADERS = lookup(SYNONYMS)

RULES: dict[str, str] = {
    "greater_than(0)": "must be more than 0",
    "str_length(1, None)": "must not be empty",
    "not_nullable": "is required",
    "must be a finite number": "must be a finite number",
    MONTH_START: MONTH_START,
    AT_LEAST_ONE_MEMBER: AT_LEAST_ONE_MEMBER,
    DUPLICATE: DUPLICATE,
}
FRAME_CHECK_COLUMNS = {AT_LEAST_ONE_MEMBER: "branch", DUPLICATE: "month"}

# Month names as exports spell them: "Jan 2026", "January-2026" (calendar order, short first).
_MONTH_NAMES = tuple(
    datetime(2000, month, 1).strftime(fmt).lower() for fmt in ("%b", "%B") for month in range(1, 13)
)


def parse_month(text: str | None) -> date | None:
    """A month as a file writes it: 2026-01, 2026/01, 01/2026, Jan 2026, January-2026, or
    a date (2026-01-01; a day other than the 1st is refused by the contract, not here)."""
    if text is None:
        return None
    value = text.strip().lower()
    if match := re.fullmatch(r"(\d{4})[-/.](\d{1,2})", value):
        year, month = int(match.group(1)), int(match.group(2))
    elif match := re.fullmatch(r"(\d{1,2})[-/.](\d{4})", value):
        year, month = int(match.group(2)), int(match.group(1))
    elif match := re.fullmatch(r"([a-z]+)[-\s.,/']*(\d{4}|\d{2})", value):
        name, digits = match.group(1), match.group(2)
        if name not in _MONTH_NAMES:
            return None
        month = _MONTH_NAMES.index(name) % 12 + 1
        year = int(digits) if len(digits) == 4 else 2000 + int(digits)
    else:
        for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y"):
            try:
                return datetime.strptime(value, fmt).date()
            except ValueError:
                continue
        return None
    if not 1 <= month <= 12:
        return None
    return date(year, month, 1)


def _months(source: pl.Series) -> pl.Series:
    if source.dtype == pl.Date:
        return source
    if isinstance(source.dtype, pl.Datetime):
        return source.dt.date()
    text = source.cast(pl.String)
    known = {value: parse_month(value) for value in text.drop_nulls().unique().to_list()}
    return text.replace_strict(known, default=None, return_dtype=pl.Date)


def parse_targets(
    raw: pl.DataFrame, mapping: ColumnMapping, decimal: Decimal | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(typed targets with `__row`, the cells as text, the failures found while parsing).

    Raises
    ------
    AmbiguousNumbers
        If `decimal` is None and a number column reads two ways.
    """
    renamed = raw.select(
        [pl.col(header).alias(column) for column, header in mapping.columns.items()]
    ).with_row_index(ROW, offset=2)
    renamed = renamed.with_columns(pl.col(ROW).cast(pl.Int64))
    missing = [c for c in CANONICAL_COLUMNS if c not in renamed.columns]
    renamed = renamed.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in missing])
    text = renamed.with_columns(
        pl.col(c).cast(pl.String).str.strip_chars().replace("", None)
        for c in CANONICAL_COLUMNS
        if renamed.schema[c] == pl.String or c in MEMBER_COLUMNS
    )
    failures: list[pl.DataFrame] = []
    for column in MEMBER_COLUMNS:
        too_long = text[column].str.len_chars() > MAX_TEXT_LENGTH
        if too_long.fill_null(False).any():
            failures.append(
                cell_failures(
                    text, column, too_long, f"must be at most {MAX_TEXT_LENGTH} characters"
                )
            )
    typed_columns = {}
    for column in NUMBER_COLUMNS:
        values, column_failures = number_column(text, column, decimal)
        typed_columns[column] = values
        for bad, rule in column_failures:
            if bad.any():
                failures.append(cell_failures(text, column, bad, rule))
    month = _months(text["month"])
    bad_month = text["month"].is_not_null() & month.is_null()
    if bad_month.any():
        failures.append(cell_failures(text, "month", bad_month, MONTH_START))
    frame = text.with_columns(month=month, **typed_columns).select(ROW, *CANONICAL_COLUMNS)
    parse_failures = (
        pl.concat(failures).sort("row") if failures else pl.DataFrame(schema=FAILURE_SCHEMA)
    )
    return typed(frame), text.select(ROW, *CANONICAL_COLUMNS), parse_failures


def validate_targets(
    frame: pl.DataFrame,
    text: pl.DataFrame | None = None,
    parse_failures: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every failure of typed targets (with `__row`) as (row, column, value, rule).

    The Targets page passes its edited table here: the same rules as a file.
    """
    found = [parse_failures if parse_failures is not None else pl.DataFrame(schema=FAILURE_SCHEMA)]
    cells = text if text is not None else frame.with_columns(pl.all().cast(pl.String))
    try:
        TargetRow.validate(typed(frame.select(CANONICAL_COLUMNS)), lazy=True)
    except pandera.errors.SchemaErrors as exc:
        found.append(schema_failures(exc, frame[ROW], cells, RULES, FRAME_CHECK_COLUMNS))
    return collected(found)


@dataclass
class PreparedTargets:
    """A targets file read, mapped and validated, ready to write if `ok`."""

    filename: str
    size_bytes: int
    sha256: str
    raw: RawTable
    mapping: ColumnMapping
    failures: pl.DataFrame
    targets: pl.DataFrame  # `TargetRow` columns for a valid file; empty otherwise
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

    def months(self) -> list[date]:
        return sorted(set(self.targets["month"].to_list()))


def prepare_targets(
    data: bytes,
    filename: str,
    explicit_map: dict[str, str] | None = None,
    decimal: Decimal | None = None,
) -> PreparedTargets:
    """Read, map, parse and validate a targets file's bytes without writing anything.

    Raises
    ------
    IngestError
        If the file cannot be read or a required column cannot be found;
        `AmbiguousNumberFormat` if a number column reads two ways.
    """
    raw, mapping = read_mapped(
        data,
        filename,
        explicit_map,
        canonical=CANONICAL_COLUMNS,
        known_headers=KNOWN_HEADERS,
        required=REQUIRED_COLUMNS,
    )
    sha256 = hashlib.sha256(data).hexdigest()
    if not any(c in mapping.columns for c in MEMBER_COLUMNS):
        raise IngestError(
            f"{filename}: no branch, salesperson or product line column found; a target is "
            f"for a branch and/or a salesperson and/or a product line (headers: "
            f"{', '.join(repr(h) for h in raw.frame.columns)})"
        )
    try:
        frame, text, parse_failures = parse_targets(raw.frame, mapping, decimal)
    except AmbiguousNumbers as exc:
        raise AmbiguousNumberFormat(filename, exc) from exc
    failures = validate_targets(frame, text, parse_failures)
    targets = frame.drop(ROW) if failures.is_empty() else frame.drop(ROW).clear()
    return PreparedTargets(filename, len(data), sha256, raw, mapping, failures, targets, raw.notes)


def write_targets(
    prepared: PreparedTargets, store: SalesStore, who: str, mode: TargetMode = "append"
) -> TargetWriteResult:
    """Write a prepared file that passed validation, saved by `who`.

    `append` adds each target, replacing a stored one of the same month and
    slice; `replace` also removes every other stored target of the file's months.
    """
    if not prepared.ok:
        raise IngestError(f"{prepared.filename}: {prepared.rejected_rows} rows failed validation")
    removed = None
    if mode == "replace":
        stored = store.read_targets()
        removed = keys_of(stored.filter(pl.col("month").is_in(prepared.months())))
    return store.write_targets(stamped(prepared.targets, who), removed)


@dataclass
class TargetsResult:
    prepared: PreparedTargets
    written: TargetWriteResult | None

    @property
    def ok(self) -> bool:
        return self.written is not None


def ingest_targets(
    source: Path | bytes,
    store: SalesStore,
    who: str,
    *,
    filename: str | None = None,
    mode: TargetMode = "append",
    explicit_map: dict[str, str] | None = None,
    decimal: Decimal | None = None,
) -> TargetsResult:
    """Ingest one targets file: every target, or none if any row fails.

    Raises
    ------
    IngestError
        If the file cannot be read or mapped (nothing is written).
    StoreError
        If the store cannot write (nothing is written).
    """
    if isinstance(source, Path):
        filename = filename or source.name
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise IngestError(f"{source}: cannot read the file: {exc.strerror}") from exc
    else:
        data, filename = source, filename or "upload"
    prepared = prepare_targets(data, filename, explicit_map, decimal)
    if not prepared.ok:
        return TargetsResult(prepared, None)
    return TargetsResult(prepared, write_targets(prepared, store, who, mode))
