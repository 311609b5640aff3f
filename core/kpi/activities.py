"""Activity KPIs: which pre-sales activities (calls, visits, quotes, demos) go with won deals.

Definitions (over the view's window, the deals in the view's scope; every
column is in `ACTIVITY_KPIS`): each activity counts on one deal, the one it
names or else its customer's deal open when it was done
(`core.pipeline_store.attributed`), and only through a deal in scope. An
activity is "before closing" when it was done no later than its deal's
close. Deals won or lost count by their close day, as for every pipeline
KPI. Ratios with a zero denominator are empty, never 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from core.activities import TYPES, VISIT
from core.kpi.pipeline import PipelineKpi, pipeline_window
from core.kpi.view import View
from core.pipeline_store import ACTIVITY_FACT_SCHEMA, PipelineStore, activity_facts

ACTIVITY_KPIS: tuple[PipelineKpi, ...] = (
    PipelineKpi(
        "activity_type",
        "Activity",
        "The activity's type: call, visit, meeting, email, quote, demo or other (each CRM's "
        "own names mapped at ingest).",
        "text",
    ),
    PipelineKpi(
        "activities",
        "Activities",
        "Activities of the type done in the window (by business day) on deals in view.",
        "count",
    ),
    PipelineKpi("deals_touched", "Deals touched", "Deals those activities were on.", "count"),
    PipelineKpi(
        "won_deals_touched",
        "Won deals touched",
        "Deals won in the window with an activity of the type before closing (on any day).",
        "count",
    ),
    PipelineKpi(
        "activities_per_won_deal",
        "Per won deal",
        "Activities of the type done before closing on the deals won in the window / deals "
        "won in the window; empty when none was won.",
        "number",
    ),
    PipelineKpi(
        "win_rate_with",
        "Win rate with",
        "Of the deals closed in the window with an activity of the type before closing: "
        "won / (won + lost); empty with none.",
        "pct",
    ),
    PipelineKpi(
        "win_rate_without",
        "Win rate without",
        "The same of the deals closed in the window without one; empty with none.",
        "pct",
    ),
)
VISIT_KPIS: tuple[PipelineKpi, ...] = (
    PipelineKpi(
        "closed_with_visit",
        "Closed with a visit",
        "Deals won or lost in the window with a visit before closing.",
        "count",
    ),
    PipelineKpi(
        "win_rate_with_visit",
        "Win rate with a visit",
        "won / (won + lost) of those deals; empty with none.",
        "pct",
    ),
    PipelineKpi(
        "closed_without_visit",
        "Closed without a visit",
        "Deals won or lost in the window with no visit before closing.",
        "count",
    ),
    PipelineKpi(
        "win_rate_without_visit",
        "Win rate without a visit",
        "won / (won + lost) of those deals; empty with none.",
        "pct",
    ),
)
ACTIVITY_COLUMNS: tuple[str, ...] = tuple(k.name for k in ACTIVITY_KPIS)
VISIT_COLUMNS: tuple[str, ...] = tuple(k.name for k in VISIT_KPIS)
BY_NAME: dict[str, PipelineKpi] = {k.name: k for k in (*ACTIVITY_KPIS, *VISIT_KPIS)}
assert len(BY_NAME) == len(ACTIVITY_KPIS) + len(VISIT_KPIS), "activity KPI names must be unique"


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    return pl.when(denominator != 0).then(numerator / denominator).otherwise(None)


@dataclass(frozen=True)
class ClosedActivities:
    """What both activity tables are made of: per type, the activities and the deals they
    touched (`core.pipeline_store.activity_facts`), and the deals won and lost in the window.
    One read serves both, as the Pipeline page shows both."""

    facts: pl.DataFrame  # ACTIVITY_FACT_SCHEMA
    won: int
    lost: int


def closed_activities(
    store: PipelineStore, view: View, links: pl.DataFrame | None = None
) -> ClosedActivities:
    """The activity facts and the deals won and lost in the view's window, in scope.

    `links` is the store's `activity_links`, when the caller keeps them (read else)."""
    window = pipeline_window(store, view)
    if window is None:
        return ClosedActivities(pl.DataFrame(schema=ACTIVITY_FACT_SCHEMA), 0, 0)
    outcomes = store.facts(view.scope, window)
    won = int(outcomes.filter(pl.col("outcome") == "won")["deals"].sum())
    lost = int(outcomes.filter(pl.col("outcome") == "lost")["deals"].sum())
    links = store.activity_links() if links is None else links
    return ClosedActivities(activity_facts(links, view.scope, window), won, lost)


def by_type(store: PipelineStore, view: View) -> pl.DataFrame:
    """The `activities` area: per activity type (in `TYPES` order), `ACTIVITY_COLUMNS`.

    Types without an activity in the window and without one before the close
    of a deal closed in it are left out.
    """
    return table_of(closed_activities(store, view))


def table_of(closed: ClosedActivities) -> pl.DataFrame:
    """`by_type` of activities already read."""
    won, lost = closed.won, closed.lost
    touched_closed = pl.col("won_deals_touched") + pl.col("lost_deals_touched")
    rank = {name: i for i, name in enumerate(TYPES)}
    table = (
        closed.facts.with_columns(
            activities_per_won_deal=_ratio(pl.col("won_deal_activities"), pl.lit(won)),
            win_rate_with=_ratio(pl.col("won_deals_touched"), touched_closed),
            win_rate_without=_ratio(
                pl.lit(won) - pl.col("won_deals_touched"), pl.lit(won + lost) - touched_closed
            ),
        )
        .with_columns(
            pl.col("activities_per_won_deal", "win_rate_with", "win_rate_without").cast(pl.Float64)
        )
        .sort(pl.col("activity_type").replace_strict(rank, default=len(rank)))
        .select(ACTIVITY_COLUMNS)
    )
    return ActivitiesTable.validate(table)


def visit_win_rates(store: PipelineStore, view: View) -> pl.DataFrame:
    """One row, `VISIT_COLUMNS`: the win rate of the deals closed in the window with a
    visit before closing, and without one."""
    return visit_rates_of(closed_activities(store, view))


def visit_rates_of(closed: ClosedActivities) -> pl.DataFrame:
    """`visit_win_rates` of activities already read."""
    won, lost = closed.won, closed.lost
    visits = closed.facts.filter(pl.col("activity_type") == VISIT)
    won_with = int(visits["won_deals_touched"].sum())
    closed_with = won_with + int(visits["lost_deals_touched"].sum())
    closed_without = won + lost - closed_with
    row = pl.DataFrame(
        {
            "closed_with_visit": [closed_with],
            "win_rate_with_visit": [won_with / closed_with if closed_with else None],
            "closed_without_visit": [closed_without],
            "win_rate_without_visit": [
                (won - won_with) / closed_without if closed_without else None
            ],
        },
        schema={
            "closed_with_visit": pl.Int64,
            "win_rate_with_visit": pl.Float64,
            "closed_without_visit": pl.Int64,
            "win_rate_without_visit": pl.Float64,
        },
    )
    return VisitWinRates.validate(row)


class ActivitiesTable(pa.DataFrameModel):
    """`activities`: one row per activity type; counts >= 0, rates in [0, 1], empty
    when undefined."""

    activity_type: str = pa.Field(isin=list(TYPES), unique=True)
    activities: pl.Int64 = pa.Field(ge=0)
    deals_touched: pl.Int64 = pa.Field(ge=0)
    won_deals_touched: pl.Int64 = pa.Field(ge=0)
    activities_per_won_deal: pl.Float64 = pa.Field(nullable=True, ge=0)
    win_rate_with: pl.Float64 = pa.Field(nullable=True, ge=0, le=1)
    win_rate_without: pl.Float64 = pa.Field(nullable=True, ge=0, le=1)

    @pa.dataframe_check(error="a deal is touched only by the activities counted on it")
    @classmethod
    def touched_needs_activities(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("deals_touched") <= pl.col("activities"))

    class Config:
        strict = True
        ordered = True


class VisitWinRates(pa.DataFrameModel):
    """The visit comparison: one row; rates in [0, 1], empty exactly when no deal is
    behind them."""

    closed_with_visit: pl.Int64 = pa.Field(ge=0)
    win_rate_with_visit: pl.Float64 = pa.Field(nullable=True, ge=0, le=1)
    closed_without_visit: pl.Int64 = pa.Field(ge=0)
    win_rate_without_visit: pl.Float64 = pa.Field(nullable=True, ge=0, le=1)

    @pa.dataframe_check(error="a win rate is empty exactly when no deal is behind it")
    @classmethod
    def rates_defined(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("win_rate_with_visit").is_null() == (pl.col("closed_with_visit") == 0))
            & (pl.col("win_rate_without_visit").is_null() == (pl.col("closed_without_visit") == 0))
        )

    @pa.dataframe_check(error="the visit comparison has exactly one row")
    @classmethod
    def one_row(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.len() == 1)

    class Config:
        strict = True
        ordered = True
