"""Turn mapped text columns into typed canonical columns, recording every cell that fails.

Failures are rows of (row, column, value, rule); `row` is the line number a
person sees in a spreadsheet (the header is row 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from core.schema import CANONICAL_COLUMNS, NUMBER_COLUMNS, TEXT_COLUMNS
from core.zones import local_to_utc
from ingest.mapping import ColumnMapping
from ingest.numbers import Decimal, on_all_cores, read_numbers

FAILURE_SCHEMA = {"row": pl.Int64, "column": pl.String, "value": pl.String, "rule": pl.String}
ROW = "__row"
# Longest text kept in a name or id: real exports stay far below; longer is garbage.
MAX_TEXT_LENGTH = 500

# Unambiguous ISO forms first; a value with an offset is an instant, without
# one it is business-local time.
ISO_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
)
# `%#z` reads Z as well as +03:00, +0300 and +03 (exports from UTC systems end in Z).
OFFSET_FORMATS = tuple(
    f"%Y-%m-%d{sep}%H:%M{seconds}%#z" for sep in ("T", " ") for seconds in (":%S", ":%S%.f", "")
)
_DAY_FIRST_DATES = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")
_TIMES = ("", " %H:%M", " %H:%M:%S")
DAY_FIRST = tuple(d + t for d in _DAY_FIRST_DATES for t in _TIMES)
MONTH_FIRST = tuple(
    f.replace("%d", "%D").replace("%m", "%d").replace("%D", "%m") for f in DAY_FIRST
)
# Excel stores dates as days since 1899-12-30; 5-digit serials cover 1927-2173.
EXCEL_SERIAL = r"^\d{5}(\.\d+)?$"


@dataclass(frozen=True)
class Parsed:
    """Typed canonical columns (nulls where a cell failed) and the failures."""

    frame: pl.DataFrame
    text: pl.DataFrame  # the same cells as the file had them, for error messages
    failures: pl.DataFrame
    notes: tuple[str, ...]


def _text(column: str, dtype: pl.DataType) -> pl.Expr:
    # A typed source column (an integer invoice number in Parquet) becomes its text first.
    value = pl.col(column) if dtype == pl.String else pl.col(column).cast(pl.String)
    # Blank becomes null; `replace` costs far less than a when/then over every cell.
    return value.str.strip_chars().replace("", None).alias(column)


def number_column(
    frame: pl.DataFrame, column: str, decimal: Decimal | None
) -> tuple[pl.Series, tuple[tuple[pl.Series, str], ...]]:
    """`column` as Float64, and its failing cells with the rule each breaks.

    A numeric source column (Parquet, Excel number cells) is taken as it is;
    text is read in the column's decimal style (ingest/numbers.py).
    """
    source = frame[column]
    if source.dtype.is_numeric():
        typed = source.cast(pl.Float64)
        # NaN is not a number, as in text.
        return typed, ((typed.is_nan().fill_null(False), "must be a number"),)
    text = source if source.dtype == pl.String else source.cast(pl.String)
    read = read_numbers(text, column, decimal)
    return read.values.alias(column), read.failures


def _parse_all(values: pl.Series, formats: tuple[str, ...], aware: bool) -> pl.Series:
    """Each value read by the first of `formats` that reads it (null if none does)."""
    dtype = pl.Datetime("us", "UTC") if aware else pl.Datetime("us")
    return on_all_cores(
        values,
        lambda value: pl.coalesce([value.str.strptime(dtype, f, strict=False) for f in formats]),
    )


def _best_single_format(values: pl.Series, formats: tuple[str, ...]) -> pl.Series | None:
    """`values` parsed with the first format that reads every present value, if any."""
    sample = values.drop_nulls().head(1000)
    for fmt in formats:
        if sample.str.strptime(pl.Datetime("us"), fmt, strict=False).null_count() == 0:
            parsed = _parse_all(values, (fmt,), aware=False)
            if parsed.null_count() == values.null_count():
                return parsed
    return None


def parse_datetimes(values: pl.Series, timezone: str) -> tuple[pl.Series, tuple[str, ...]]:
    """Parse date/datetime text to UTC instants; naive values are `timezone` local time.

    Day/month order: a value that only reads one way decides; if every value
    reads both ways the Kenyan convention (day first) is used, with a note.
    """
    notes: list[str] = []
    # Exports rarely pad their dates: try them as they are before stripping every cell.
    local = _best_single_format(values, ISO_FORMATS)
    if local is None:
        values = values.str.strip_chars()
        local = _best_single_format(values, ISO_FORMATS)
    if local is not None:
        return local_to_utc(local, timezone), ()
    day_first = _parse_all(values, DAY_FIRST, aware=False)
    month_first = _parse_all(values, MONTH_FIRST, aware=False)
    only_month_first = (day_first.is_null() & month_first.is_not_null()).sum()
    only_day_first = (day_first.is_not_null() & month_first.is_null()).sum()
    if only_month_first and not only_day_first:
        slashed, order = month_first, "month/day"
    else:
        slashed, order = day_first, "day/month"
    if slashed.is_not_null().any():
        if not only_month_first and not only_day_first:
            notes.append("every slashed date reads both ways: read as day/month (Kenyan usage)")
        elif only_month_first and only_day_first:
            notes.append("the file mixes day/month and month/day dates: read as day/month")
        else:
            notes.append(f"slashed dates read as {order}")
    iso = _parse_all(values, ISO_FORMATS, aware=False)
    serial = pl.select(
        pl.when(values.str.contains(EXCEL_SERIAL))
        .then(
            pl.lit(datetime(1899, 12, 30))
            + pl.duration(
                microseconds=pl.lit(values.cast(pl.Float64, strict=False) * 86_400_000_000).round()
            )
        )
        .otherwise(None)
    ).to_series()
    local = pl.select(pl.coalesce([iso, slashed, serial.cast(pl.Datetime("us"))])).to_series()
    aware = _parse_all(values, OFFSET_FORMATS, aware=True)
    utc_from_local = local_to_utc(local, timezone)
    return pl.select(pl.coalesce([aware, utc_from_local])).to_series(), tuple(notes)


def typed_datetimes(values: pl.Series, timezone: str) -> pl.Series | None:
    """A Date or Datetime source column as UTC instants; None for any other type.

    Naive values are `timezone` local time (a date is its local midnight), as
    for text; a value with a zone is already an instant.
    """
    dtype = values.dtype
    if isinstance(dtype, pl.Datetime):
        values = values.cast(pl.Datetime("us", dtype.time_zone))
        if dtype.time_zone is not None:
            return values.dt.convert_time_zone("UTC")
    elif dtype == pl.Date:
        values = values.cast(pl.Datetime("us"))
    else:
        return None
    return local_to_utc(values, timezone)


def _instants(source: pl.Series, timezone: str) -> tuple[pl.Series, tuple[str, ...]]:
    """`sold_at` cells as UTC instants (null where they do not read), and notes."""
    typed = typed_datetimes(source, timezone)
    if typed is not None:
        return typed, ()
    text = source if source.dtype == pl.String else source.cast(pl.String)
    return parse_datetimes(text, timezone)


def cell_failures(frame: pl.DataFrame, column: str, bad: pl.Series, rule: str) -> pl.DataFrame:
    """The cells of `column` where `bad` holds, as failures (row, column, value, rule)."""
    return (
        frame.select(ROW, column)
        .filter(bad)
        .select(
            pl.col(ROW).alias("row"),
            pl.lit(column).alias("column"),
            pl.col(column).cast(pl.String).alias("value"),
            pl.lit(rule).alias("rule"),
        )
        .cast(FAILURE_SCHEMA)  # type: ignore[arg-type]
    )


def parse_lines(
    raw: pl.DataFrame, mapping: ColumnMapping, timezone: str, decimal: Decimal | None = None
) -> Parsed:
    """Rename mapped columns, parse their types and fill documented defaults.

    `decimal` is the decimal mark of every text number column; None decides it
    per column from the values.

    Raises
    ------
    AmbiguousNumbers
        If `decimal` is None and a number column reads two ways.

    Text sources (CSV, Excel) are parsed cell by cell; typed sources (Parquet's
    numbers and timestamps) are taken as typed, without a round trip through
    text. Either way the same rules apply and the same failures are reported.
    """
    renamed = raw.select(
        [pl.col(header).alias(column) for column, header in mapping.columns.items()]
    ).with_row_index(ROW, offset=2)
    renamed = renamed.with_columns(pl.col(ROW).cast(pl.Int64))
    missing = [c for c in CANONICAL_COLUMNS if c not in renamed.columns]
    renamed = renamed.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in missing])
    failures: list[pl.DataFrame] = []
    schema = renamed.schema
    renamed = renamed.with_columns([_text(c, schema[c]) for c in TEXT_COLUMNS])
    # Bytes bound characters from above: only a column with a long value needs counting.
    long_bytes = renamed.select(
        [(pl.col(c).str.len_bytes() > MAX_TEXT_LENGTH).any().alias(c) for c in TEXT_COLUMNS]
    ).row(0, named=True)
    for column in TEXT_COLUMNS:
        if not long_bytes[column]:
            continue
        too_long = renamed[column].str.len_chars() > MAX_TEXT_LENGTH
        if too_long.any():
            failures.append(
                cell_failures(
                    renamed, column, too_long, f"must be at most {MAX_TEXT_LENGTH} characters"
                )
            )
    numbers = {}
    for column in NUMBER_COLUMNS:
        numbers[column], column_failures = number_column(renamed, column, decimal)
        for bad, rule in column_failures:
            if bad.any():
                failures.append(cell_failures(renamed, column, bad, rule))
    typed = renamed.with_columns(list(numbers.values()))

    sold_at, notes = _instants(renamed["sold_at"], timezone)
    bad_date = renamed["sold_at"].is_not_null() & sold_at.is_null()
    if bad_date.any():
        # A time that reads in a zone without clock changes but not in `timezone` was
        # skipped or repeated when its clocks changed: only an offset can place it.
        clock_change = bad_date & _instants(renamed["sold_at"], "UTC")[0].is_not_null()
        for rows, rule in (
            (bad_date & ~clock_change, "must be a date such as 2024-01-31 or 31/01/2024"),
            (
                clock_change,
                f"is skipped or repeated when clocks change in {timezone}: "
                "give it with its UTC offset, such as 2025-10-26T01:30:00+01:00",
            ),
        ):
            if rows.any():
                failures.append(cell_failures(renamed, "sold_at", rows, rule))
    typed = typed.with_columns(sold_at=sold_at.alias("sold_at"))

    if renamed.schema["line_no"].is_integer():
        line_no = renamed["line_no"].cast(pl.Int64)
        bad_line = pl.repeat(False, renamed.height, eager=True)
    else:
        number, _ = number_column(renamed, "line_no", ".")
        bad_line = renamed["line_no"].is_not_null() & (
            number.is_null() | (number != number.round())
        )
        if bad_line.any():
            failures.append(cell_failures(renamed, "line_no", bad_line, "must be a whole number"))
        line_no = number
    typed = typed.with_columns(line_no=line_no)
    line_no_expr = pl.col("line_no")
    if (line_no.is_null() & ~bad_line).any():
        # Lines without a number take their position within the invoice in the file.
        line_no_expr = line_no_expr.fill_null(pl.int_range(1, pl.len() + 1).over("invoice_id"))
    # A blank discount is no discount: empty, or spaces (an Excel cell holding "" or " ").
    no_discount = renamed["discount"].is_null()
    # Only a cell that did not read as a number can be blank.
    if renamed.schema["discount"] == pl.String and typed["discount"].null_count():
        no_discount = no_discount | (renamed["discount"].str.strip_chars() == "")
    typed = typed.with_columns(
        line_no=pl.when(bad_line).then(None).otherwise(line_no_expr).cast(pl.Int64, strict=False),
        discount=pl.col("discount").fill_null(pl.when(no_discount).then(0.0).otherwise(None)),
        product_name=pl.col("product_name").fill_null(pl.col("product_id")),
    )
    return Parsed(
        typed.select(ROW, *CANONICAL_COLUMNS),
        renamed.select(ROW, *CANONICAL_COLUMNS),
        pl.concat(failures).sort("row") if failures else pl.DataFrame(schema=FAILURE_SCHEMA),
        tuple(notes),
    )
