"""The CRM datasets in the embedded store: Delta tables beside the sales lines.

Deals, stage history and activities each live in their own table
(`opportunities/`, `stages/`, `activities/` in `SALES_DATA_DIR`), written by
`KeyedDeltaTable` (core/stores/keyed_delta.py); this store reads them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from core.opportunities import DIMENSIONS
from core.pipeline_datasets import ACTIVITIES, OPPORTUNITIES, STAGES, combined_version
from core.pipeline_store import (
    ACTIVITY_LINK_COLUMNS,
    DEAL_LINK_COLUMNS,
    FACT_SCHEMA,
    OPEN_DEAL_COLUMNS,
    STAGE_SCHEMA,
    WON_DEAL_SCHEMA,
    activity_links,
    check_by,
    in_scope,
    outcome_facts,
    stage_history,
)
from core.store import Progress, Scope, StoreHealth, Window, WriteMode, WriteResult
from core.stores.keyed_delta import KeyedDeltaTable


class EmbeddedPipelineStore:
    """`PipelineStore` over the Delta table of deals in `path`
    (`SALES_DATA_DIR/opportunities`) and the stage and activity tables beside it."""

    name = "embedded"

    def __init__(self, path: Path, timezone: str = "Africa/Nairobi") -> None:
        self.path = Path(path)
        self.timezone = timezone
        self.deals = KeyedDeltaTable(self.path, OPPORTUNITIES)
        self.stages = KeyedDeltaTable(self.path.parent / STAGES.name, STAGES)
        self.activities = KeyedDeltaTable(self.path.parent / ACTIVITIES.name, ACTIVITIES)

    # ----------------------------------------------------------------- reading

    def _select(self, scope: Scope) -> pl.LazyFrame:
        return in_scope(self.deals.scan(), scope)

    def facts(self, scope: Scope, window: Window, by: tuple[str, ...] = ()) -> pl.DataFrame:
        check_by(by)
        schema = {**{c: pl.String() for c in by}, **FACT_SCHEMA}
        found = outcome_facts(self._select(scope), window, by).collect()
        return found.select(pl.col(c).cast(t) for c, t in schema.items()).sort(
            *by, "outcome", "days", nulls_last=True
        )

    def stage_counts(self, scope: Scope, window: Window) -> pl.DataFrame:
        found = (
            self._select(scope)
            .filter(pl.col("created_date").is_between(window.start, window.end))
            .group_by("stage", "status")
            .agg(deals=pl.len(), amount=pl.col("amount").fill_null(0.0).sum())
            .collect()
        )
        return found.select(pl.col(c).cast(t) for c, t in STAGE_SCHEMA.items()).sort(
            "stage", "status"
        )

    def stage_history(self, scope: Scope, window: Window) -> pl.DataFrame:
        deals = self._select(scope).filter(
            pl.col("created_date").is_between(window.start, window.end)
        )
        return stage_history(deals, self.stages.scan()).collect()

    def activity_links(self) -> pl.DataFrame:
        deals = self.deals.scan().select(DEAL_LINK_COLUMNS).collect()
        done = self.activities.scan().select(ACTIVITY_LINK_COLUMNS).collect()
        return activity_links(deals, done)

    def open_deals(self, scope: Scope, as_of: date, limit: int) -> pl.DataFrame:
        open_then = (pl.col("created_date") <= as_of) & (
            (pl.col("status") == "open") | (pl.col("closed_date") > as_of)
        )
        return (
            self._select(scope)
            .filter(open_then)
            .sort("created_at", "opportunity_id")
            .head(limit)
            .select(OPEN_DEAL_COLUMNS)
            .collect()
        )

    def won_deals(self, scope: Scope, window: Window) -> pl.DataFrame:
        won = (pl.col("status") == "won") & pl.col("closed_date").is_between(
            window.start, window.end
        )
        return (
            self._select(scope)
            .filter(won)
            .select(list(WON_DEAL_SCHEMA))
            .with_columns(pl.col("amount").fill_null(0.0))
            .sort("closed_date", "opportunity_id")
            .collect()
            .cast(WON_DEAL_SCHEMA)  # type: ignore[arg-type]
        )

    def distinct_values(self, column: str, scope: Scope) -> list[str]:
        if column not in DIMENSIONS:
            raise ValueError(f"unknown column {column!r}: expected one of {', '.join(DIMENSIONS)}")
        values = (
            self._select(scope).select(pl.col(column).drop_nulls().unique()).collect().to_series()
        )
        return sorted(v for v in values.to_list() if v)

    def date_range(self, scope: Scope) -> Window | None:
        first, last = (
            self._select(scope)
            .select(
                first=pl.col("created_date").min(),
                last=pl.max_horizontal(pl.col("created_date").max(), pl.col("closed_date").max()),
            )
            .collect()
            .row(0)
        )
        return None if first is None else Window(first, last)

    def count(self, scope: Scope) -> int:
        return int(self._select(scope).select(pl.len()).collect().item())

    # ----------------------------------------------------------------- writing

    def write(
        self, deals: pl.DataFrame, mode: WriteMode, progress: Progress | None = None
    ) -> WriteResult:
        return self.deals.write(deals, mode, progress)

    # ------------------------------------------------------------------ health

    def health(self) -> StoreHealth:
        return self.deals.health()

    def data_version(self) -> str:
        return combined_version(
            [self.deals.data_version(), self.stages.data_version(), self.activities.data_version()]
        )
