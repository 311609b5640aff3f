"""The pipeline store protocol: what the pipeline KPIs ask of the CRM datasets.

Both stores keep opportunities, their stage history and activities beside
their sales lines (the embedded store as Delta tables, Druid as datasources
of their own: core/pipeline_datasets.py) and answer the same few
aggregates. KPI code sees only these small frames: deal counts and amounts
per group, outcome and day count, from which every pipeline KPI (win rates,
cycle quantiles, ageing, velocity) is exact; the stage history of the
window's deals; activity counts per type.

A user's scope (branches, salespeople, product lines, and the branch
restriction of their role) filters deals. Stage rows and activities have no
branch of their own: they count only through a deal in scope (an activity
through the one deal it counts on, `attributed`), so a restricted user
never sees the history or the activities of another branch's deal, and a
row no stored deal claims counts for nobody.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

import polars as pl

from core.opportunities import DIMENSIONS
from core.pipeline_datasets import OPPORTUNITIES
from core.store import Progress, Scope, StoreHealth, Window, WriteMode, WriteResult

OUTCOMES: tuple[str, ...] = ("won", "lost", "open")
EMPTY_REPLACE = OPPORTUNITIES.empty_replace
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


# Every `stage_history` frame: one row per deal created in the window and stage it has
# history for, with the first time it entered it, beside the deal's status and exported stage.
STAGE_HISTORY_SCHEMA: dict[str, pl.DataType] = {
    "opportunity_id": pl.String(),
    "status": pl.String(),
    "deal_stage": pl.String(),
    "stage": pl.String(),
    "entered_at": pl.Datetime("us", "UTC"),
}
# Every `activity_facts` frame: per activity type, what the activities KPIs count.
ACTIVITY_FACT_SCHEMA: dict[str, pl.DataType] = {
    "activity_type": pl.String(),
    "activities": pl.Int64(),
    "deals_touched": pl.Int64(),
    "won_deals_touched": pl.Int64(),
    "lost_deals_touched": pl.Int64(),
    "won_deal_activities": pl.Int64(),
}
# What `attributed` reads of the stored deals and activities.
DEAL_LINK_COLUMNS: tuple[str, ...] = (
    "opportunity_id",
    "customer_id",
    "created_at",
    "closed_at",
    "status",
    "closed_date",
    "branch",
    "product_line",
    "product_id",
    "salesperson",
)
ACTIVITY_LINK_COLUMNS: tuple[str, ...] = (
    "activity_id",
    "type",
    "done_at",
    "done_date",
    "opportunity_id",
    "customer_id",
)


def in_scope(deals: pl.LazyFrame, scope: Scope) -> pl.LazyFrame:
    """The deals `scope` lets a query see (every member condition ANDed)."""
    for column, values in scope.member_filters():
        deals = deals.filter(pl.col(column).is_in(list(values)))
    return deals


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


def stage_history(deals: pl.LazyFrame, entries: pl.LazyFrame) -> pl.LazyFrame:
    """The definition of `PipelineStore.stage_history`, in Polars.

    `deals` are the deals the answer is about (in scope, created in the
    window), `entries` stored stage rows; a deal's repeated rows for a stage
    count once, at the first.
    """
    first = entries.group_by("opportunity_id", "stage").agg(pl.col("entered_at").min())
    return (
        deals.select("opportunity_id", "status", pl.col("stage").alias("deal_stage"))
        .join(first, on="opportunity_id", how="inner")
        .select(list(STAGE_HISTORY_SCHEMA))
        .sort("opportunity_id", "entered_at", "stage")
    )


def attributed(deals: pl.DataFrame, activities: pl.DataFrame) -> pl.DataFrame:
    """Each activity beside the one deal it counts on, with that deal's columns.

    An activity that names a deal (`opportunity_id`) counts on it, whenever it
    was done. One that names only a customer counts on that customer's deal
    that was open when it was done (created by then, not yet closed), the
    most recently created if several were, so one visit is never two. An
    activity naming a deal that is not stored, or a customer without such a
    deal, counts on none and is left out. `deals` must be every stored deal,
    not only those in a user's scope: which deal an activity counts on never
    depends on who asks.
    """
    deals = deals.select(DEAL_LINK_COLUMNS)
    named = activities.filter(pl.col("opportunity_id").is_not_null()).drop("customer_id")
    by_customer = (
        activities.filter(pl.col("opportunity_id").is_null() & pl.col("customer_id").is_not_null())
        .drop("opportunity_id")
        .join(
            deals.select("opportunity_id", "customer_id", "created_at", "closed_at"),
            on="customer_id",
            how="inner",
        )
        .filter(
            (pl.col("created_at") <= pl.col("done_at"))
            & (pl.col("closed_at").is_null() | (pl.col("done_at") <= pl.col("closed_at")))
        )
        .sort(["activity_id", "created_at", "opportunity_id"], descending=[False, True, False])
        .unique("activity_id", keep="first", maintain_order=True)
        .drop("customer_id", "created_at", "closed_at")
    )
    links = pl.concat([named, by_customer.select(named.columns)])
    return links.join(deals, on="opportunity_id", how="inner")


# Every `activity_links` frame: one row per stored activity that counts on a deal, with
# what the activity KPIs ask of it and of its deal. The repeating texts are categorical:
# the frame is kept in memory per data version (a million activities, about 40 MB).
ACTIVITY_LINK_SCHEMA: dict[str, pl.DataType] = {
    "opportunity_id": pl.String(),
    "type": pl.Categorical(),
    "done_date": pl.Date(),
    "by_close": pl.Boolean(),  # done by the deal's close (its instant); false while open
    "status": pl.Categorical(),
    "closed_date": pl.Date(),
    # The deal's members a scope filters on (`in_scope`).
    **{
        column: pl.Categorical()
        for column in ("branch", "product_line", "product_id", "salesperson")
    },
}


def activity_links(deals: pl.DataFrame, activities: pl.DataFrame) -> pl.DataFrame:
    """The definition of `PipelineStore.activity_links`, in Polars, over every stored
    deal (`DEAL_LINK_COLUMNS`) and activity (`ACTIVITY_LINK_COLUMNS`)."""
    return (
        attributed(deals, activities)
        .with_columns(by_close=(pl.col("done_at") <= pl.col("closed_at")).fill_null(False))
        .select(list(ACTIVITY_LINK_SCHEMA))
        .cast(ACTIVITY_LINK_SCHEMA)  # type: ignore[arg-type]
    )


def activity_facts(links: pl.DataFrame, scope: Scope, window: Window) -> pl.DataFrame:
    """Per activity type, `ACTIVITY_FACT_SCHEMA`, over the deals in `scope`.

    `links` is `PipelineStore.activity_links`. `activities`: those done in
    `window` (by business day); `deals_touched`: the deals they were on;
    `won_deals_touched` and `lost_deals_touched`: deals won or lost in
    `window` with an activity of the type done by their close (any day);
    `won_deal_activities`: those activities on the won deals. Types with none
    of these are left out.
    """
    start, end = pl.lit(window.start), pl.lit(window.end)
    in_window = pl.col("done_date").is_between(start, end)
    closed_inside = pl.col("status").is_in(["won", "lost"]) & pl.col("closed_date").is_between(
        start, end
    )
    by_close = closed_inside & pl.col("by_close")
    won, lost = by_close & (pl.col("status") == "won"), by_close & (pl.col("status") == "lost")
    deal = pl.col("opportunity_id")
    found = (
        in_scope(links.lazy(), scope)
        .group_by(pl.col("type").cast(pl.String).alias("activity_type"))
        .agg(
            activities=in_window.sum(),
            deals_touched=deal.filter(in_window).n_unique(),
            won_deals_touched=deal.filter(won).n_unique(),
            lost_deals_touched=deal.filter(lost).n_unique(),
            won_deal_activities=won.sum(),
        )
        .filter(
            (pl.col("activities") > 0)
            | ((pl.col("won_deals_touched") + pl.col("lost_deals_touched")) > 0)
        )
        .collect()
    )
    return found.select(pl.col(c).cast(t) for c, t in ACTIVITY_FACT_SCHEMA.items()).sort(
        "activity_type"
    )


class KeyedStore(Protocol):
    """What every store does with one CRM dataset's rows (deals, stage entries, activities).
    Implementations: `KeyedDeltaTable` (embedded), `KeyedDatasource` (druid)."""

    name: str

    def write(
        self, rows: pl.DataFrame, mode: WriteMode, progress: Progress | None = None
    ) -> WriteResult:
        """Store validated rows (the dataset's stored model) all-or-nothing.

        `append` adds new rows and replaces each stored row whose key the frame
        holds (the latest export wins); `replace` makes the frame the whole
        dataset, and refuses an empty frame. Either is one transaction.
        """
        ...

    def count(self) -> int:
        """Number of stored rows (of every branch: writers are not scoped)."""
        ...

    def health(self) -> StoreHealth:
        """Whether the dataset answers, and facts about it."""
        ...

    def data_version(self) -> str:
        """A token that changes whenever the stored rows change."""
        ...


class PipelineStore(Protocol):
    """What every store answers about the CRM datasets. Implementations: embedded, druid."""

    name: str

    @property
    def stages(self) -> KeyedStore:
        """The writer of the stage history beside the deals."""
        ...

    @property
    def activities(self) -> KeyedStore:
        """The writer of the activities beside the deals."""
        ...

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

    def stage_history(self, scope: Scope, window: Window) -> pl.DataFrame:
        """The stage history of the deals in `scope` created in `window`.

        `STAGE_HISTORY_SCHEMA`: per deal and stage it has rows for, the first
        time it entered it, beside the deal's status and exported stage; by
        deal, then time. Deals without history have no rows.
        """
        ...

    def activity_links(self) -> pl.DataFrame:
        """`ACTIVITY_LINK_SCHEMA`: every stored activity beside the one deal it counts on
        (`attributed`), for `activity_facts`. Which deal that is depends on every
        stored deal, never on who asks, so one frame per data version serves all."""
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
        """A token that changes whenever stored deals, stage history or activities change
        (cache keys use it); "empty" while none is stored."""
        ...
