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
        cases = exc.failure_cases
        rows = parsed[ROW]
        records = []
        for case in cases.iter_rows(named=True):
            index = case["index"]
            if index is None:
                records.append(
                    {
                        "row": None,
                        "column": case["column"],
                        "value": None,
                        "rule": _rule(str(case["check"])),
                    }
                )
                continue
            check = str(case["check"])
            column = _FRAME_CHECK_COLUMNS.get(check, case["column"])
            value = text[column][index] if column in text.columns else case["failure_case"]
            records.append(
                {
                    "row": int(rows[index]),
                    "column": column,
                    "value": None if value is None else str(value),
                    "rule": _rule(check),
                }
            )
        found.append(pl.DataFrame(records, schema=FAILURE_SCHEMA))
    return (
        pl.concat(found)
        .unique(subset=["row", "column"], keep="first", maintain_order=True)
        .sort("row", "column", nulls_last=False)
    )


def rule_counts(failures: pl.DataFrame) -> pl.DataFrame:
    """How many rows break each (column, rule), most frequent first."""
    return (
        failures.group_by("column", "rule")
        .agg(rows=pl.len(), example=pl.col("value").first())
        .sort("rows", "column", descending=[True, False])
    )
