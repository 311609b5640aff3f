"""Influenced revenue: the invoiced net sales that won deals brought in, per lead source.

An invoice is influenced by a deal won in the view's window when the deal
names it (`invoice_id`, the invoice dated within `INFLUENCE_DAYS` days of the
close either side), or, for a deal that names none, when it is the same
customer's invoice dated on the close day or in the `INFLUENCE_DAYS` days after
it. An invoice counts once: for the deal that names it, else for the
customer's most recent such deal before it. Invoices are the sales lines of the
view's scope (its members and the user's branches), so the two datasets are
read under the same filters.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pandera.polars as pa
import polars as pl

from core.kpi.pipeline import pipeline_window
from core.kpi.view import View
from core.pipeline_store import PipelineStore
from core.store import SalesStore, Scope, Window

INFLUENCE_DAYS = 30
LINK_SCHEMA = {"opportunity_id": pl.String(), "invoice_id": pl.String(), "net_sales": pl.Float64()}
COLUMNS: dict[str, str] = {
    "lead_source": "Where the deals came from, as the CRM names it (blank: not recorded).",
    "won_deals": "Deals won (closed) inside the window.",
    "won_amount": "Amount of the deals won in the window, KES.",
    "linked_deals": "Won deals with at least one influenced invoice.",
    "influenced_invoices": "Invoices influenced by those deals (each counted once).",
    "influenced_net_sales": (
        "Net sales of the influenced invoices: named by a won deal, or the same customer's"
        f" within {INFLUENCE_DAYS} days after a deal that names none (KES)."
    ),
}


INVOICE_SCHEMA = {
    "invoice_id": pl.String(),
    "customer_id": pl.String(),
    "day": pl.Date(),
    "net_sales": pl.Float64(),
}


def _ids(values: pl.Series) -> tuple[str, ...]:
    return tuple(sorted(values.drop_nulls().unique().to_list()))


def _invoices(store: SalesStore, scope: Scope, span: Window) -> pl.DataFrame:
    """`INVOICE_SCHEMA`: net sales per invoice, customer and business day in `scope`."""
    return (
        store.aggregate(scope, span, ("invoice_id", "customer_id"), "day", ("net_sales",))
        .select("invoice_id", "customer_id", pl.col("period").alias("day"), "net_sales")
        .cast(INVOICE_SCHEMA)  # type: ignore[arg-type]
    )


def influenced_invoices(store: SalesStore, deals: pl.DataFrame, view: View) -> pl.DataFrame:
    """`opportunity_id`, `invoice_id`, `net_sales`: each invoice the won `deals`
    (`core.pipeline_store.WON_DEAL_SCHEMA`) influenced, once."""
    if deals.is_empty():
        return pl.DataFrame(schema=LINK_SCHEMA)
    reach = timedelta(days=INFLUENCE_DAYS)
    first: date = deals["closed_date"].min()  # type: ignore[assignment]
    last: date = deals["closed_date"].max()  # type: ignore[assignment]
    span = Window(first - reach, last + reach)
    unnamed = deals.filter(pl.col("invoice_id").is_null() & pl.col("customer_id").is_not_null())
    # Only the invoices the deals name and their customers' lines are read: a few
    # thousand invoices, where grouping every invoice of the span took seconds.
    parts = [pl.DataFrame(schema=INVOICE_SCHEMA)]
    if named_ids := _ids(deals["invoice_id"]):
        parts.append(_invoices(store, replace(view.scope, invoices=named_ids), span))
    if customers := _ids(unnamed["customer_id"]):
        parts.append(_invoices(store, replace(view.scope, customers=customers), span))
    # An invoice a deal names can also be an unnamed deal's customer's: read twice.
    invoices = pl.concat(parts).unique(["invoice_id", "customer_id", "day"])
    named = (
        deals.filter(pl.col("invoice_id").is_not_null())
        .join(invoices, on="invoice_id")
        .filter((pl.col("day") - pl.col("closed_date")).dt.total_days().abs() <= INFLUENCE_DAYS)
        .select("opportunity_id", "invoice_id", "net_sales")
    )
    rest = invoices.filter(
        pl.col("customer_id").is_not_null()
        & ~pl.col("invoice_id").is_in(named["invoice_id"].implode())
    )
    after = (
        rest.sort("customer_id", "day")
        .join_asof(
            unnamed.select("opportunity_id", "customer_id", "closed_date").sort(
                "customer_id", "closed_date"
            ),
            left_on="day",
            right_on="closed_date",
            by="customer_id",
            strategy="backward",
            tolerance=reach,
            check_sortedness=False,  # sorted by day within each customer, as `by` needs
        )
        .filter(pl.col("opportunity_id").is_not_null())
        .select("opportunity_id", "invoice_id", "net_sales")
    )
    return pl.concat([named, after]).cast(LINK_SCHEMA)  # type: ignore[arg-type]


def by_lead_source(store: SalesStore, pipeline: PipelineStore, view: View) -> pl.DataFrame:
    """Per lead source: won deals and amount in the window, and the invoices they
    influenced (`COLUMNS`), most influenced net sales first."""
    window = pipeline_window(pipeline, view)
    empty = pl.DataFrame(
        schema={
            "lead_source": pl.String,
            "won_deals": pl.Int64,
            "won_amount": pl.Float64,
            "linked_deals": pl.Int64,
            "influenced_invoices": pl.Int64,
            "influenced_net_sales": pl.Float64,
        }
    )
    if window is None:
        return empty
    deals = pipeline.won_deals(view.scope, window)
    if deals.is_empty():
        return empty
    links = influenced_invoices(store, deals, view)
    per_deal = links.group_by("opportunity_id").agg(
        invoices=pl.len().cast(pl.Int64), net_sales=pl.col("net_sales").sum()
    )
    table = (
        deals.join(per_deal, on="opportunity_id", how="left")
        .group_by("lead_source")
        .agg(
            won_deals=pl.len().cast(pl.Int64),
            won_amount=pl.col("amount").sum(),
            linked_deals=pl.col("invoices").is_not_null().sum().cast(pl.Int64),
            influenced_invoices=pl.col("invoices").fill_null(0).sum().cast(pl.Int64),
            influenced_net_sales=pl.col("net_sales").fill_null(0.0).sum(),
        )
        .sort(
            ["influenced_net_sales", "won_amount", "lead_source"],
            descending=[True, True, False],
            nulls_last=True,
        )
    )
    return InfluencedRevenueTable.validate(table.cast(empty.schema))


class InfluencedRevenueTable(pa.DataFrameModel):
    """`influenced-revenue`: counts >= 0, linked deals at most the won deals."""

    lead_source: str = pa.Field(nullable=True, unique=True)
    won_deals: pl.Int64 = pa.Field(ge=0)
    won_amount: pl.Float64 = pa.Field(ge=0)
    linked_deals: pl.Int64 = pa.Field(ge=0)
    influenced_invoices: pl.Int64 = pa.Field(ge=0)
    influenced_net_sales: pl.Float64

    @pa.dataframe_check(error="linked deals are among the won deals")
    @classmethod
    def linked_within_won(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("linked_deals") <= pl.col("won_deals"))

    class Config:
        strict = True
