"""The pipeline's export areas: each a table of the opportunities beside a sales store.

The CLI export, the HTTP API and the Pipeline page's downloads are handed a
sales store (`core.exports.AREAS`); each area here reads the opportunities
dataset of the same backend and place (`core.stores.pipeline.pipeline_of`),
so a link's filters and a user's branch restriction mean the same on both.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from core.kpi import activities, influence, pipeline
from core.kpi.view import View
from core.pipeline_store import PipelineStore
from core.store import SalesStore
from core.stores.pipeline import pipeline_of

PipelineTable = Callable[[PipelineStore, View], pl.DataFrame]


def on_pipeline(table: PipelineTable) -> Callable[[SalesStore, View], pl.DataFrame]:
    """`table` as an export area: asked of the opportunities beside the given sales store."""

    def area(store: SalesStore, view: View) -> pl.DataFrame:
        return table(pipeline_of(store), view)

    area.__name__ = area.__qualname__ = table.__name__
    area.__doc__ = table.__doc__
    return area


def influenced_revenue(store: SalesStore, view: View) -> pl.DataFrame:
    """Per lead source, the invoiced net sales its won deals brought (`core.kpi.influence`)."""
    return influence.by_lead_source(store, pipeline_of(store), view)


PIPELINE_AREAS: dict[str, Callable[[SalesStore, View], pl.DataFrame]] = {
    "pipeline": on_pipeline(pipeline.summary),
    "pipeline-salespeople": on_pipeline(pipeline.salespeople),
    "pipeline-branches": on_pipeline(pipeline.branches),
    "pipeline-lead-sources": on_pipeline(pipeline.lead_sources),
    "funnel": on_pipeline(pipeline.funnel),
    "lost-reasons": on_pipeline(pipeline.lost_reasons),
    "influenced-revenue": influenced_revenue,
    "activities": on_pipeline(activities.by_type),
}

# What the Pipeline page shows beside the areas: open deals by age and the oldest. (The
# visit win rates come from the activities it reads once: `core.cache.closed_activities`.)
PIPELINE_PANELS: dict[str, PipelineTable] = {
    "ageing": pipeline.ageing,
    "stuck_deals": pipeline.stuck_deals,
}

# The pipeline columns' meaning, for the exports' column sheet and the docs test.
PIPELINE_COLUMN_DOCS: dict[str, str] = {
    **{k.name: k.description for k in pipeline.PIPELINE_KPIS},
    **influence.COLUMNS,
    **{k.name: k.description for k in activities.ACTIVITY_KPIS},
    "stage": (
        "A CRM stage, as exported; open stages ordered by how far along a sale they are, then Won."
    ),
    "entered": "Deals created in the window that entered the stage.",
    "reached_next": "Of those, the deals that entered the next stage (empty on the last).",
    "conversion_pct": "reached_next / entered; empty on the last stage.",
    "lost_reason": "Why the deal was lost, as the CRM names it (blank: not recorded).",
    "share_of_lost": "lost_deals / lost deals of every reason in the window.",
    "age_band": "Days the deal had been open on the window's last day.",
}
PIPELINE_LABELS: dict[str, str] = {
    **{k.name: k.label for k in pipeline.PIPELINE_KPIS},
    "lead_source": "Lead source",
    "stage": "Stage",
    "entered": "Entered",
    "reached_next": "Reached next",
    "conversion_pct": "Conversion",
    "lost_reason": "Lost reason",
    "share_of_lost": "Share of lost",
    "age_band": "Days open",
    "linked_deals": "Linked deals",
    "influenced_invoices": "Influenced invoices",
    "influenced_net_sales": "Influenced net sales",
    **{k.name: k.label for k in activities.ACTIVITY_KPIS},
}
# Units the column names do not give: money and ratios among the pipeline KPIs.
PIPELINE_MONEY = frozenset(
    {*(k.name for k in pipeline.PIPELINE_KPIS if k.format == "kes"), "influenced_net_sales"}
)
PIPELINE_RATIOS = frozenset(
    k.name for k in (*pipeline.PIPELINE_KPIS, *activities.ACTIVITY_KPIS) if k.format == "pct"
)
