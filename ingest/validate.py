"""Validate parsed lines against the contract, collecting every failure."""

from __future__ import annotations

import re

import pandera.errors
import polars as pl

from core.schema import CANONICAL_COLUMNS, SalesLine
from ingest.parse import FAILURE_SCHEMA, ROW

# Pandera's check names, said the way a person fixing the file needs them.
_RULES: dict[str, str] = {
    "not_nullable": "is required",
    "not_equal_to(0)": "must not be 0",
    "greater_than_or_equal_to(0)": "must be 0 or more",
    "greater_than_or_equal_to(1)": "must be 1 or more",
    "str_length(1, None)": "must not be empty",
    "duplicate (invoice_id, line_no) in this file": "duplicate (invoice_id, line_no) in this file",
    "must be a finite number": "must be a finite number",
    "discount must not exceed abs(quantity * unit_price)": "must not exceed the line value",
    "sold_at must not be in the future": "must not be in the future",
}
# Dataframe-wide checks report the model, not a column: name the column they judge.
_FRAME_CHECK_COLUMNS: dict[str, str] = {
    "discount must not exceed abs(quantity * unit_price)": "discount",
    "sold_at must not be in the future": "sold_at",
    "duplicate (invoice_id, line_no) in this file": "line_no",
}


def _rule(check: str) -> str:
    if check in _RULES:
        return _RULES[check]
    match = re.match(r"(\w+)\((.*)\)$", check)
    return f"{match.group(1).replace('_', ' ')} {match.group(2)}" if match else check


def schema_failures(
    exc: pandera.errors.SchemaErrors,
    rows: pl.Series,
    text: pl.DataFrame,
    rules: dict[str, str],
    frame_check_columns: dict[str, str],
) -> pl.DataFrame:
    """A Pandera report as (row, column, value, rule) failures.

    `rows` maps a frame index to the row a spreadsheet shows; `text` holds the
    cells as the file had them; `rules` says each check the way a person fixing
    the file needs it; `frame_check_columns` names the column a dataframe-wide
    check judges.
    """
    records = []
    for case in exc.failure_cases.iter_rows(named=True):
        index = case["index"]
        check = str(case["check"])
        rule = rules.get(check) or _rule(check)
        if index is None:
            records.append({"row": None, "column": case["column"], "value": None, "rule": rule})
            continue
        column = frame_check_columns.get(check, case["column"])
        value = text[column][index] if column in text.columns else case["failure_case"]
        records.append(
            {
                "row": int(rows[index]),
                "column": column,
                "value": None if value is None else str(value),
                "rule": rule,
            }
        )
    return pl.DataFrame(records, schema=FAILURE_SCHEMA)


def collected(found: list[pl.DataFrame]) -> pl.DataFrame:
    """Failures in row order, a cell reported by an earlier step not reported again."""
    return (
        pl.concat(found)
        .unique(subset=["row", "column"], keep="first", maintain_order=True)
        .sort("row", "column", nulls_last=False)
    )


def validate_lines(
    parsed: pl.DataFrame, text: pl.DataFrame, parse_failures: pl.DataFrame
) -> pl.DataFrame:
    """Every failure of `parsed` (with its `__row` column) as (row, column, value, rule).

    Failures found while parsing come first; a cell reported there is not
    reported again by a later rule.
    """
    lines = parsed.select(CANONICAL_COLUMNS)
    found: list[pl.DataFrame] = [parse_failures]
    try:
        SalesLine.validate(lines, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        found.append(schema_failures(exc, parsed[ROW], text, _RULES, _FRAME_CHECK_COLUMNS))
    return collected(found)


def rule_counts(failures: pl.DataFrame) -> pl.DataFrame:
    """How many rows break each (column, rule), most frequent first."""
    return (
        failures.group_by("column", "rule")
        .agg(rows=pl.len(), example=pl.col("value").first())
        .sort("rows", "column", descending=[True, False])
    )
