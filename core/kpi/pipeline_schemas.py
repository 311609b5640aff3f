"""Output models of the pipeline's export areas (`core/pipeline_areas.py`).

The summary and the per-member tables share `PipelineSummary`'s columns and
rules (counts and amounts >= 0, rates in [0, 1] and empty exactly when
undefined); the summary may add each column of the comparison window.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from core.kpi.activities import ActivitiesTable
from core.kpi.influence import InfluencedRevenueTable
from core.kpi.pipeline import PipelineSummary


class PipelineTable(PipelineSummary):
    """`pipeline`: one row; `<column>_prev` of the comparison window when there is one."""

    open_deals_prev: pl.Int64 | None = pa.Field(ge=0)
    open_amount_prev: pl.Float64 | None = pa.Field(ge=0)
    won_deals_prev: pl.Int64 | None = pa.Field(ge=0)
    won_amount_prev: pl.Float64 | None = pa.Field(ge=0)
    lost_deals_prev: pl.Int64 | None = pa.Field(ge=0)
    lost_amount_prev: pl.Float64 | None = pa.Field(ge=0)
    win_rate_prev: pl.Float64 | None = pa.Field(nullable=True, ge=0, le=1)
    value_win_rate_prev: pl.Float64 | None = pa.Field(nullable=True, ge=0, le=1)
    avg_won_amount_prev: pl.Float64 | None = pa.Field(nullable=True, ge=0)
    median_cycle_days_prev: pl.Float64 | None = pa.Field(nullable=True, ge=0)
    p75_cycle_days_prev: pl.Float64 | None = pa.Field(nullable=True, ge=0)
    velocity_per_day_prev: pl.Float64 | None = pa.Field(nullable=True, ge=0)

    @pa.dataframe_check(error="the pipeline summary has exactly one row")
    @classmethod
    def one_row(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.len() == 1)


class PipelineSalespeopleTable(PipelineSummary):
    """`pipeline-salespeople`: the summary columns per salesperson, most won first."""

    salesperson: str = pa.Field(unique=True)


class PipelineBranchesTable(PipelineSummary):
    """`pipeline-branches`: the summary columns per branch."""

    branch: str = pa.Field(unique=True)


class PipelineLeadSourcesTable(PipelineSummary):
    """`pipeline-lead-sources`: per lead source; deals without one form one empty row."""

    lead_source: str = pa.Field(nullable=True, unique=True)


class FunnelTable(pa.DataFrameModel):
    """`funnel`: the stages in order, Won last; no stage holds more deals than the one
    before it, and conversion is reached_next / entered."""

    stage: str = pa.Field(unique=True)
    entered: pl.Int64 = pa.Field(ge=0)
    reached_next: pl.Int64 = pa.Field(nullable=True, ge=0)
    conversion_pct: pl.Float64 = pa.Field(nullable=True, ge=0, le=1)

    @pa.dataframe_check(error="a stage never holds more deals than entered the one before")
    @classmethod
    def narrowing(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("reached_next") <= pl.col("entered")).fill_null(True))

    @pa.dataframe_check(error="conversion_pct is reached_next / entered")
    @classmethod
    def conversion(cls, data: pa.PolarsData) -> pl.LazyFrame:
        expected = pl.col("reached_next") / pl.col("entered")
        return data.lazyframe.select(
            ((pl.col("conversion_pct") - expected).abs() < 1e-9).fill_null(
                pl.col("conversion_pct").is_null()
            )
        )

    class Config:
        strict = True


class LostReasonsTable(pa.DataFrameModel):
    """`lost-reasons`: lost deals and amount per reason; the shares add up to 1."""

    lost_reason: str = pa.Field(nullable=True, unique=True)
    lost_deals: pl.Int64 = pa.Field(ge=0)
    lost_amount: pl.Float64 = pa.Field(ge=0)
    share_of_lost: pl.Float64 = pa.Field(ge=0, le=1)

    @pa.dataframe_check(error="the shares of lost deals add up to 1")
    @classmethod
    def shares_add_up(cls, data: pa.PolarsData) -> pl.LazyFrame:
        total = pl.col("share_of_lost").sum()
        return data.lazyframe.select((pl.len() == 0) | ((total - 1).abs() < 1e-9))

    class Config:
        strict = True


PIPELINE_AREA_SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    "pipeline": PipelineTable,
    "pipeline-salespeople": PipelineSalespeopleTable,
    "pipeline-branches": PipelineBranchesTable,
    "pipeline-lead-sources": PipelineLeadSourcesTable,
    "funnel": FunnelTable,
    "lost-reasons": LostReasonsTable,
    "influenced-revenue": InfluencedRevenueTable,
    "activities": ActivitiesTable,
}
