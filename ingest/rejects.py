"""The rejects file: every failing row with what is wrong, beside the original cells."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ingest.pipeline import PreparedFile
from ingest.targets import PreparedTargets


def rejects_frame(prepared: PreparedFile | PreparedTargets) -> pl.DataFrame:
    """One row per failing source row: its problems, then its original cells."""
    problems = (
        prepared.failures.with_columns(
            problem=pl.col("column")
            + ": "
            + pl.col("rule")
            + " (got "
            + pl.col("value").fill_null("empty")
            + ")"
        )
        .group_by("row", maintain_order=True)
        .agg(problems=pl.col("problem").str.join("; "))
    )
    original = prepared.raw.frame.with_row_index("__source_row", offset=2).with_columns(
        pl.col("__source_row").cast(pl.Int64)
    )
    return problems.join(original, left_on="row", right_on="__source_row", how="left").sort("row")


def write_rejects(prepared: PreparedFile | PreparedTargets, path: Path) -> None:
    rejects_frame(prepared).write_csv(path)
