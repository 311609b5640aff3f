"""Comparing two stores' answers: exact for keys, counts and dates, money to the cent."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from core.schema import MONEY_TOLERANCE

# Ratios (margins, shares, growth) are compared to this relative precision: both
# engines divide the same sums, so only float summation order may differ.
RATIO_RELATIVE = 1e-9


def assert_same(druid: pl.DataFrame, embedded: pl.DataFrame, label: str) -> None:
    """`druid` equals `embedded`: same columns, types and row order; floats to the cent.

    A float may differ by at most min(half a cent, 1e-9 relative): money sums
    agree to the cent and ratios to nine significant digits.
    """
    assert druid.columns == embedded.columns, (
        f"{label}: columns {druid.columns} != {embedded.columns}"
    )
    assert druid.schema == embedded.schema, f"{label}: schema {druid.schema} != {embedded.schema}"
    assert druid.height == embedded.height, f"{label}: {druid.height} rows != {embedded.height}"
    floats = [c for c, t in embedded.schema.items() if t.is_float()]
    others = [c for c in embedded.columns if c not in floats]
    assert_frame_equal(druid.select(others), embedded.select(others), check_exact=True)
    for column in floats:
        both = pl.DataFrame({"d": druid[column], "e": embedded[column]})
        nulls = both.filter(pl.col("d").is_null() != pl.col("e").is_null())
        assert nulls.is_empty(), f"{label}.{column}: null in one store only: {nulls.head(3)}"
        bad = both.with_row_index().filter(
            (pl.col("d") - pl.col("e")).abs()
            > pl.min_horizontal(
                pl.lit(MONEY_TOLERANCE), RATIO_RELATIVE * pl.col("e").abs().clip(1, None)
            )
        )
        assert bad.is_empty(), f"{label}.{column} differs:\n{bad.head(5)}"
