"""The targets contract: one row is one month's sales target for one slice of the business.

A slice is a branch and/or a salesperson and/or a product line; a blank
member means "all" (a row with only `branch` is that branch's target, a row
with none is the whole business's). `TargetRow` is what a file or the
Targets page is validated against; `StoredTarget` adds who saved it and when.
A target's identity is its month and slice: loading the same month and slice
again replaces the stored target (`merged`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandera.polars as pa
import polars as pl

# The dimensions a target may name, in the order a slice is written.
MEMBER_COLUMNS: tuple[str, ...] = ("branch", "salesperson", "product_line")
KEY_COLUMNS: tuple[str, ...] = ("month", *MEMBER_COLUMNS)
REQUIRED_COLUMNS: tuple[str, ...] = ("month", "net_sales")
OPTIONAL_COLUMNS: tuple[str, ...] = (*MEMBER_COLUMNS, "gross_profit")
CANONICAL_COLUMNS: tuple[str, ...] = (*KEY_COLUMNS, "net_sales", "gross_profit")
NUMBER_COLUMNS: tuple[str, ...] = ("net_sales", "gross_profit")
STORED_COLUMNS: tuple[str, ...] = (*CANONICAL_COLUMNS, "updated_at", "updated_by")

DTYPES: dict[str, pl.DataType] = {
    "month": pl.Date(),
    "branch": pl.String(),
    "salesperson": pl.String(),
    "product_line": pl.String(),
    "net_sales": pl.Float64(),
    "gross_profit": pl.Float64(),
    "updated_at": pl.Datetime("us", "UTC"),
    "updated_by": pl.String(),
}

# The rule texts a person fixing a file reads (ingest and the Targets page report them).
AT_LEAST_ONE_MEMBER = "needs a branch, a salesperson or a product line (blank = all)"
DUPLICATE = "duplicate month and branch/salesperson/product line in this file"
MONTH_START = "must be a month (YYYY-MM)"


def _slice_key() -> pl.Expr:
    """One text per month and slice, a blank member spelled apart from any name."""
    parts = [pl.col("month").cast(pl.String)]
    parts += [pl.col(c).fill_null("\x00all") for c in MEMBER_COLUMNS]
    return pl.concat_str(parts, separator="\x1f")


class TargetRow(pa.DataFrameModel):
    """A validated target (see docs/contract.md, "Targets")."""

    month: pl.Date = pa.Field()
    branch: str = pa.Field(nullable=True, str_length={"min_value": 1})
    salesperson: str = pa.Field(nullable=True, str_length={"min_value": 1})
    product_line: str = pa.Field(nullable=True, str_length={"min_value": 1})
    net_sales: pl.Float64 = pa.Field(gt=0)
    gross_profit: pl.Float64 = pa.Field(nullable=True)

    @pa.check("month", error=MONTH_START)
    @classmethod
    def first_of_month(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("month").dt.day() == 1)

    @pa.check("net_sales", "gross_profit", error="must be a finite number")
    @classmethod
    def finite_number(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_finite().fill_null(True))

    @pa.dataframe_check(error=AT_LEAST_ONE_MEMBER)
    @classmethod
    def names_a_member(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.any_horizontal(pl.col(c).is_not_null() for c in MEMBER_COLUMNS)
        )

    @pa.dataframe_check(error=DUPLICATE)
    @classmethod
    def unique_slices(cls, data: pa.PolarsData) -> pl.LazyFrame:
        # The first of a repeated month and slice stands; each repeat is the failure.
        return data.lazyframe.select(_slice_key().is_first_distinct())

    class Config:
        strict = True
        ordered = False


class StoredTarget(TargetRow):
    """A target as the stores hold it: who saved it last, and when (UTC)."""

    updated_at: pl.Datetime(time_unit="us", time_zone="UTC") = pa.Field()  # type: ignore[valid-type]
    updated_by: str = pa.Field()

    class Config:
        strict = True
        ordered = False


def empty_targets() -> pl.DataFrame:
    """No targets, in the stored columns and types."""
    return pl.DataFrame(schema={c: DTYPES[c] for c in STORED_COLUMNS})


def stamped(targets: pl.DataFrame, who: str, at: datetime | None = None) -> pl.DataFrame:
    """Validated targets (`TargetRow` columns) as stored rows saved by `who` at `at`."""
    when = at or datetime.now(UTC)
    return (
        targets.select(CANONICAL_COLUMNS)
        .cast({c: DTYPES[c] for c in CANONICAL_COLUMNS})
        .with_columns(updated_at=pl.lit(when, dtype=DTYPES["updated_at"]), updated_by=pl.lit(who))
    )


def typed(targets: pl.DataFrame) -> pl.DataFrame:
    """`targets` in the contract's column types (a column of blanks reads as no type)."""
    return targets.cast({c: DTYPES[c] for c in targets.columns if c in DTYPES})


def keys_of(targets: pl.DataFrame) -> pl.DataFrame:
    """The month and slice of each row: what identifies a target."""
    return targets.select(KEY_COLUMNS).cast({c: DTYPES[c] for c in KEY_COLUMNS})


def merged(
    stored: pl.DataFrame, incoming: pl.DataFrame, removed: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, int, int, int]:
    """The stored targets after a write, and how many were (inserted, updated, removed).

    `incoming` (stored columns) replaces any stored target of the same month
    and slice; `removed` (key columns) names targets to delete. Both stores
    write the result in one transaction.
    """
    stored = stored.select(STORED_COLUMNS)
    incoming = incoming.select(STORED_COLUMNS)
    keyed = _slice_key().alias("_key")
    stored_keys = stored.select(keyed)["_key"]
    incoming_keys = incoming.select(keyed)["_key"]
    drop = incoming_keys
    removed_count = 0
    if removed is not None and removed.height:
        removed_keys = keys_of(removed).select(keyed)["_key"]
        # A target both removed and written again is updated, not removed.
        removed_keys = removed_keys.filter(~removed_keys.is_in(incoming_keys.implode()))
        removed_count = int(stored_keys.is_in(removed_keys.implode()).sum())
        drop = pl.concat([drop, removed_keys])
    updated = int(incoming_keys.is_in(stored_keys.implode()).sum())
    kept = stored.filter(~stored_keys.is_in(drop.implode()))
    result = pl.concat([kept, incoming]).sort(KEY_COLUMNS, nulls_last=False)
    return result, incoming.height - updated, updated, removed_count


def month_of(day: date) -> date:
    """The first day of `day`'s month."""
    return day.replace(day=1)
