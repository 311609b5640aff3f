"""Time buckets shared by the embedded store and the KPI code."""

from __future__ import annotations

import polars as pl

from core.store import Grain

_EVERY: dict[str, str] = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "1q", "year": "1y"}


def bucket_start(day: pl.Expr, grain: Grain) -> pl.Expr:
    """The first business day of `day`'s bucket (weeks start on Monday)."""
    if grain == "day":
        return day
    return day.dt.truncate(_EVERY[grain])
