"""The pipeline store protocol: what the pipeline KPIs ask of the opportunities dataset.

Both stores keep opportunities beside their sales lines (the embedded store
as its own Delta table, Druid as its own datasource) and answer the same
few aggregates. KPI code sees only these small frames: deal counts and
amounts per group, outcome and day count, from which every pipeline KPI
(win rates, cycle quantiles, ageing, velocity) is exact.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

import polars as pl

from core.opportunities import DIMENSIONS
from core.store import Progress, Scope, StoreHealth, Window, WriteMode, WriteResult

OUTCOMES: tuple[str, ...] = ("won", "lost", "open")
# Why a replace by an empty export is refused: it is far likelier a failed export than a
# CRM with no deals left, and it would wipe the dataset.
EMPTY_REPLACE = "a replace needs at least one deal: the file holds none"
# Every `facts` frame: the `by` columns (text) first, then these.
FACT_SCHEMA: dict[str, pl.DataType] = {
    "outcome": pl.String(),
    "days": pl.Int64(),
    "deals": pl.Int64(),
    "amount": pl.Float64(),
}
STAGE_SCHEMA: dict[str, pl.DataType] = {
    "stage": pl.String(),
    "status": pl.String(),
    "deals": pl.Int64(),
    "amount": pl.Float64(),
}
# The open deals listed as stuck: the oldest first, as many as a page table shows.
OPEN_DEAL_COLUMNS: tuple[str, ...] = (
    "opportunity_id",
    "opportunity_name",
    "stage",
    "salesperson",
    "branch",
    "customer_name",
    "amount",
    "created_date",
    "expected_close",
)
# The won deals whose invoices the influenced revenue looks for.
WON_DEAL_SCHEMA: dict[str, pl.DataType] = {
    "opportunity_id": pl.String(),
    "lead_source": pl.String(),
    "customer_id": pl.String(),
    "invoice_id": pl.String(),
    "closed_date": pl.Date(),
    "amount": pl.Float64(),
}


def check_by(by: tuple[str, ...]) -> tuple[str, ...]:
    """`by` if every column is one of `DIMENSIONS` (known names only reach a query)."""
    unknown = [c for c in by if c not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown columns {unknown}: expected some of {', '.join(DIMENSIONS)}")
    return by


def outcome_facts(deals: pl.LazyFrame, window: Window, by: tuple[str, ...]) -> pl.LazyFrame:
    """The definition of `PipelineStore.facts` over stored deals, in Polars.

    The embedded store runs it on its table; the Druid store's SQL says the
    same, and the parity tests hold the two together.
    """
    start, end = pl.lit(window.start), pl.lit(window.end)
    closed_inside = pl.col("status").is_in(["won", "lost"]) & pl.col("closed_date").is_between(
        start, end
    )
    open_at_end = (pl.col("created_date") <= end) & (
        (pl.col("status") == "open") | (pl.col("closed_date") > end)
    )
    return (
        deals.with_columns(
            outcome=pl.when(closed_inside)
            .then(pl.col("status"))
            .when(open_at_end)
            .then(pl.lit("open"))
            .otherwise(None),
        )
        .filter(pl.col("outcome").is_not_null())
        .with_columns(
            days=pl.when(pl.col("outcome") == "open")
            .then((end - pl.col("created_date")).dt.total_days())
            .otherwise((pl.col("closed_date") - pl.col("created_date")).dt.total_days())
            .cast(pl.Int64)
        )
        .group_by(*by, "outcome", "days")
        .agg(
            deals=pl.len().cast(pl.Int64),
            amount=pl.col("amount").fill_null(0.0).sum().cast(pl.Float64),
        )
    )


class PipelineStore(Protocol):
    """What every store answers about opportunities. Implementations: embedded, druid."""

    name: str

    def facts(self, scope: Scope, window: Window, by: tuple[str, ...] = ()) -> pl.DataFrame:
        """Deals and amount per (`by`..., `outcome`, `days`) for `window`.

        `outcome` is `won` or `lost` for deals closed inside the window (by
        their `closed_date`), `days` then their cycle (closed - created, in
        business days); `open` for deals created by the window's last day and
        still open then (a deal won after the window was open at its end),
        `days` then their age on that day. Other deals are left out; an
        empty amount counts 0.
        """
        ...

    def stage_counts(self, scope: Scope, window: Window) -> pl.DataFrame:
        """Deals and amount per (`stage`, `status`) of the deals created in `window`."""
        ...

    def open_deals(self, scope: Scope, as_of: date, limit: int) -> pl.DataFrame:
        """The `limit` oldest deals open on `as_of`, `OPEN_DEAL_COLUMNS`, oldest first."""
        ...

    def won_deals(self, scope: Scope, window: Window) -> pl.DataFrame:
        """The deals won (closed) inside `window`, `WON_DEAL_SCHEMA`, by close day then id."""
        ...

    def distinct_values(self, column: str, scope: Scope) -> list[str]:
        """Sorted distinct non-empty values of a dimension within `scope`."""
        ...

    def date_range(self, scope: Scope) -> Window | None:
        """First day a deal was created and last day one was created or closed, in `scope`;
        None if empty."""
        ...

    def count(self, scope: Scope) -> int:
        """Number of stored deals in `scope`."""
        ...

    def write(
        self, deals: pl.DataFrame, mode: WriteMode, progress: Progress | None = None
    ) -> WriteResult:
        """Store validated deals (a `StoredOpportunity` frame) all-or-nothing.

        `append` adds new deals and replaces each stored deal whose
        `opportunity_id` the frame holds (the latest export wins); `replace`
        makes the frame the whole dataset. Either is one transaction.
        """
        ...

    def health(self) -> StoreHealth:
        """Whether the dataset answers, and facts about it."""
        ...

    def data_version(self) -> str:
        """A token that changes whenever stored deals change (cache keys use it)."""
        ...
