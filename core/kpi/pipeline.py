"""Pipeline KPIs: what is being sold, what is won and lost, how long deals take.

Definitions (docs/contract.md#pipeline-kpis), over the view's window: a
deal's outcome counts by its close day, creation by its creation day, open
pipeline as of the window's last day. Every number comes from the store's
`facts` (deals and amount per group, outcome and day count), so quantiles of
the sales cycle are exact without pulling deals into Python. Ratios with a
zero denominator are empty, never 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pandera.polars as pa
import polars as pl

from core.kpi.view import View
from core.opportunities import status_of_stage
from core.pipeline_store import FACT_SCHEMA, PipelineStore
from core.store import Window


@dataclass(frozen=True)
class PipelineKpi:
    """One column of the pipeline areas: its label, meaning and unit."""

    name: str
    label: str
    description: str
    format: str  # "kes", "pct", "count", "days"


PIPELINE_KPIS: tuple[PipelineKpi, ...] = (
    PipelineKpi(
        "open_deals",
        "Open deals",
        "Deals created by the window's last day and still open on it.",
        "count",
    ),
    PipelineKpi("open_amount", "Open pipeline", "Amount of the open deals, KES.", "kes"),
    PipelineKpi("won_deals", "Won", "Deals won (closed) inside the window.", "count"),
    PipelineKpi("won_amount", "Won amount", "Amount of the deals won in the window, KES.", "kes"),
    PipelineKpi("lost_deals", "Lost", "Deals lost (closed) inside the window.", "count"),
    PipelineKpi(
        "lost_amount", "Lost amount", "Amount of the deals lost in the window, KES.", "kes"
    ),
    PipelineKpi(
        "win_rate", "Win rate", "won_deals / (won_deals + lost_deals); empty with none.", "pct"
    ),
    PipelineKpi(
        "value_win_rate",
        "Value win rate",
        "won_amount / (won_amount + lost_amount); empty when the lost amounts are all 0.",
        "pct",
    ),
    PipelineKpi("avg_won_amount", "Average won deal", "won_amount / won_deals, KES.", "kes"),
    PipelineKpi(
        "median_cycle_days",
        "Sales cycle (median)",
        "Median days from creation to close of the deals won in the window.",
        "days",
    ),
    PipelineKpi(
        "p75_cycle_days",
        "Sales cycle (p75)",
        "75th percentile (linear) of the same days: three in four won deals took no longer.",
        "days",
    ),
    PipelineKpi(
        "velocity_per_day",
        "Pipeline velocity",
        "open_deals x win_rate x avg_won_amount / median_cycle_days: KES the pipeline "
        "turns into won business per day; empty when a part is.",
        "kes",
    ),
)
SUMMARY_COLUMNS: tuple[str, ...] = tuple(k.name for k in PIPELINE_KPIS)
BY_NAME: dict[str, PipelineKpi] = {k.name: k for k in PIPELINE_KPIS}
assert len(BY_NAME) == len(PIPELINE_KPIS), "pipeline KPI names must be unique"

# Ageing of open deals by days open on the window's last day: (label, first, last day).
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("90+", 91, None),
)
# Open deals listed as stuck on the page: the oldest, as many as a table shows at once.
STUCK_LIMIT = 20
# Stage names ordered by how far along a sale they usually are (CRM defaults of HubSpot,
# Salesforce, Pipedrive, Odoo). Without stage history this is what orders the funnel;
# a stage matching none sits between the needs and the proposal steps.
STAGE_RANKS: tuple[tuple[str, int], ...] = (
    (r"\b(new|lead|prospect\w*|inquiry|enquiry|inbound)\b", 10),
    (r"\b(contact\w*|qualif\w*|discovery|appointment\w*)\b", 20),
    (r"\b(needs?|analysis|meeting|demo\w*|presentation\w*|visit\w*|value)\b", 30),
    (r"\b(proposal|propos\w*|quot\w*|price)\b", 40),
    (r"\b(negotiat\w*|review|contract\w*|decision\w*|commit\w*|verbal)\b", 50),
)
UNKNOWN_STAGE_RANK = 35
WON_STAGE = "Won"


def _weighted_quantile(days: pl.Series, counts: pl.Series, q: float) -> float | None:
    """The q-quantile (linear, as DuckDB's quantile_cont) of days repeated counts times."""
    total = int(counts.sum()) if len(counts) else 0
    if total == 0:
        return None
    order = pl.DataFrame({"d": days, "n": counts}).sort("d")
    ends = order["n"].cum_sum()
    position = q * (total - 1)
    lower, upper = int(position), min(int(position) + 1, total - 1)

    def at(index: int) -> float:
        return float(order["d"][int((ends > index).arg_max())])  # type: ignore[arg-type]

    low, high = at(lower), at(upper)
    return low + (high - low) * (position - lower)


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    return pl.when(denominator != 0).then(numerator / denominator).otherwise(None)


def summarise(facts: pl.DataFrame, by: tuple[str, ...] = ()) -> pl.DataFrame:
    """The summary columns per group of `by` from a `PipelineStore.facts` frame."""
    outcome = pl.col("outcome")
    sums = facts.group_by(by or pl.lit(0).alias("_all")).agg(
        open_deals=pl.col("deals").filter(outcome == "open").sum(),
        open_amount=pl.col("amount").filter(outcome == "open").sum(),
        won_deals=pl.col("deals").filter(outcome == "won").sum(),
        won_amount=pl.col("amount").filter(outcome == "won").sum(),
        lost_deals=pl.col("deals").filter(outcome == "lost").sum(),
        lost_amount=pl.col("amount").filter(outcome == "lost").sum(),
    )
    if not by:
        sums = sums.drop("_all")
        if sums.is_empty():
            sums = pl.DataFrame(
                [[0, 0.0, 0, 0.0, 0, 0.0]],
                schema=[c for c in SUMMARY_COLUMNS[:6]],
                orient="row",
            )
    won = facts.filter(outcome == "won")
    keys = list(by)
    if keys:
        # Per group, the quantiles of its (days, deals) histogram: a few hundred rows each.
        rows = []
        for group_key, part in won.partition_by(keys, as_dict=True, maintain_order=True).items():
            rows.append(
                (
                    *group_key,
                    _weighted_quantile(part["days"], part["deals"], 0.5),
                    _weighted_quantile(part["days"], part["deals"], 0.75),
                )
            )
        cycles = pl.DataFrame(
            rows,
            schema={
                **{k: facts.schema[k] for k in keys},
                "median_cycle_days": pl.Float64,
                "p75_cycle_days": pl.Float64,
            },
            orient="row",
        )
        table = sums.join(cycles, on=keys, how="left", nulls_equal=True)
    else:
        table = sums.with_columns(
            median_cycle_days=pl.lit(_weighted_quantile(won["days"], won["deals"], 0.5)),
            p75_cycle_days=pl.lit(_weighted_quantile(won["days"], won["deals"], 0.75)),
        )
    closed = pl.col("won_deals") + pl.col("lost_deals")
    table = table.with_columns(
        pl.col("open_deals", "won_deals", "lost_deals").cast(pl.Int64),
        pl.col("open_amount", "won_amount", "lost_amount").cast(pl.Float64),
        pl.col("median_cycle_days", "p75_cycle_days").cast(pl.Float64),
        win_rate=_ratio(pl.col("won_deals"), closed),
        value_win_rate=pl.when(pl.col("lost_amount") > 0)
        .then(pl.col("won_amount") / (pl.col("won_amount") + pl.col("lost_amount")))
        .otherwise(None),
        avg_won_amount=_ratio(pl.col("won_amount"), pl.col("won_deals")),
    ).with_columns(
        velocity_per_day=_ratio(
            pl.col("open_deals") * pl.col("win_rate") * pl.col("avg_won_amount"),
            pl.col("median_cycle_days"),
        )
    )
    return table.select(*by, *SUMMARY_COLUMNS)


def pipeline_window(store: PipelineStore, view: View) -> Window | None:
    """The view's window; with no sales window, the deals' own range."""
    return view.window if view.window is not None else store.date_range(view.scope)


def _facts(
    store: PipelineStore, view: View, window: Window | None, by: tuple[str, ...]
) -> pl.DataFrame:
    if window is None:
        schema = {**{c: pl.String() for c in by}, **FACT_SCHEMA}
        return pl.DataFrame(schema=schema)
    return store.facts(view.scope, window, by)


def summary(store: PipelineStore, view: View) -> pl.DataFrame:
    """One row: the summary columns, and `<column>_prev` of the comparison window."""
    current = summarise(_facts(store, view, pipeline_window(store, view), ()))
    if view.compare == "none":
        return PipelineSummary.validate(current)
    previous = summarise(_facts(store, view, view.comparison, ()))
    both = pl.concat(
        [current, previous.rename({c: f"{c}_prev" for c in SUMMARY_COLUMNS})], how="horizontal"
    )
    PipelineSummary.validate(current)
    return both


def by_member(store: PipelineStore, view: View, key: str) -> pl.DataFrame:
    """The summary columns per `key` (salesperson, branch, lead_source), most won first."""
    table = summarise(_facts(store, view, pipeline_window(store, view), (key,)), (key,))
    table = table.sort(["won_amount", "open_amount", key], descending=[True, True, False])
    PipelineSummary.validate(table.drop(key))
    return table


def salespeople(store: PipelineStore, view: View) -> pl.DataFrame:
    return by_member(store, view, "salesperson")


def branches(store: PipelineStore, view: View) -> pl.DataFrame:
    return by_member(store, view, "branch")


def lead_sources(store: PipelineStore, view: View) -> pl.DataFrame:
    return by_member(store, view, "lead_source")


def lost_reasons(store: PipelineStore, view: View) -> pl.DataFrame:
    """Per lost reason: lost deals and amount in the window and the share of lost deals."""
    facts = _facts(store, view, pipeline_window(store, view), ("lost_reason",))
    lost = (
        facts.filter(pl.col("outcome") == "lost")
        .group_by("lost_reason")
        .agg(lost_deals=pl.col("deals").sum().cast(pl.Int64), lost_amount=pl.col("amount").sum())
        .with_columns(share_of_lost=pl.col("lost_deals") / pl.col("lost_deals").sum())
        .sort(["lost_deals", "lost_amount", "lost_reason"], descending=[True, True, False])
    )
    return lost.select("lost_reason", "lost_deals", "lost_amount", "share_of_lost")


def ageing(store: PipelineStore, view: View) -> pl.DataFrame:
    """Open deals on the window's last day by days open: `AGE_BANDS`, every band listed."""
    facts = _facts(store, view, pipeline_window(store, view), ()).filter(
        pl.col("outcome") == "open"
    )
    rows = []
    for label, first, last in AGE_BANDS:
        inside = pl.col("days") >= first
        if last is not None:
            inside &= pl.col("days") <= last
        band = facts.filter(inside)
        rows.append(
            {
                "age_band": label,
                "open_deals": int(band["deals"].sum()),
                "open_amount": float(band["amount"].sum()),
            }
        )
    return pl.DataFrame(
        rows, schema={"age_band": pl.String, "open_deals": pl.Int64, "open_amount": pl.Float64}
    )


def stuck_deals(store: PipelineStore, view: View, limit: int = STUCK_LIMIT) -> pl.DataFrame:
    """The oldest deals open on the window's last day, with their age in days."""
    window = pipeline_window(store, view)
    if window is None:
        return pl.DataFrame()
    deals = store.open_deals(view.scope, window.end, limit)
    return deals.with_columns(
        age_days=(pl.lit(window.end) - pl.col("created_date")).dt.total_days().cast(pl.Int64)
    )


def stage_rank(stage: str) -> int:
    """How far along a sale `stage` is (`STAGE_RANKS`); higher is later."""
    words = re.sub(r"[^a-z]+", " ", stage.lower())
    for pattern, rank in STAGE_RANKS:
        if re.search(pattern, words):
            return rank
    return UNKNOWN_STAGE_RANK


FUNNEL_SCHEMA: dict[str, pl.DataType] = {
    "stage": pl.String(),
    "entered": pl.Int64(),
    "reached_next": pl.Int64(),
    "conversion_pct": pl.Float64(),
}


def funnel(store: PipelineStore, view: View) -> pl.DataFrame:
    """Stage conversion of the deals created in the window.

    Rows: the open stages in order, then `Won`; `entered` (deals that entered
    the stage), `reached_next` (of those, the deals that entered the next row
    too) and `conversion_pct`. Open stages run by `stage_rank`.

    Where the window's deals have stage history (`PipelineStore.stage_history`),
    a deal entered every open stage it has a row for, and `Won` if it is won;
    stages of the same rank run by their first entry. A deal without history
    is counted from its exported stage, as every deal is when none has
    history: it reached its exported stage and every open stage before it; a
    won deal reached every stage and `Won`; a lost deal entered the first
    stage, where it left.
    """
    window = pipeline_window(store, view)
    if window is None:
        return pl.DataFrame(schema=FUNNEL_SCHEMA)
    counts = store.stage_counts(view.scope, window)
    history = store.stage_history(view.scope, window)
    if history.is_empty():
        return _funnel_of_exported(counts)
    return _funnel_of_history(history, counts)


def _funnel_frame(stages: list[str], entered: list[int], reached: list[int]) -> pl.DataFrame:
    """The funnel table; `reached` has one value fewer than `stages` (the last has none)."""
    reached_next: list[int | None] = [*reached, None]
    return pl.DataFrame(
        {
            "stage": stages,
            "entered": entered,
            "reached_next": reached_next,
            "conversion_pct": [
                None if r is None or e == 0 else r / e
                for e, r in zip(entered, reached_next, strict=True)
            ],
        },
        schema=FUNNEL_SCHEMA,
    )


def _funnel_of_exported(counts: pl.DataFrame) -> pl.DataFrame:
    """The funnel from each deal's exported stage (`PipelineStore.stage_counts`)."""
    won = int(counts.filter(pl.col("status") == "won")["deals"].sum())
    lost = int(counts.filter(pl.col("status") == "lost")["deals"].sum())
    open_stages = (
        counts.filter(pl.col("status") == "open").group_by("stage").agg(pl.col("deals").sum())
    )
    ordered = sorted(open_stages.rows(), key=lambda row: (stage_rank(row[0]), row[0]))
    if won + lost + sum(n for _, n in ordered) == 0:
        return pl.DataFrame(schema=FUNNEL_SCHEMA)
    stages = [name for name, _ in ordered] + [WON_STAGE]
    at_stage = [n for _, n in ordered] + [won]
    entered = [sum(at_stage[i:]) for i in range(len(stages))]
    entered[0] += lost
    return _funnel_frame(stages, entered, entered[1:])


def _funnel_of_history(history: pl.DataFrame, counts: pl.DataFrame) -> pl.DataFrame:
    """The funnel from stage history, the deals without history from their exported stage."""
    open_rows = history.filter(status_of_stage(pl.col("stage")).is_null())
    first_entry: dict[str, datetime] = dict(
        open_rows.group_by("stage").agg(pl.col("entered_at").min()).rows()
    )
    # stage_counts holds every deal of the window: less those with history, the rest.
    with_history = (
        history.unique("opportunity_id")
        .group_by(pl.col("deal_stage").alias("stage"), "status")
        .agg(historied=pl.len())
    )
    exported = (
        counts.join(with_history, on=["stage", "status"], how="left")
        .with_columns(pl.col("deals") - pl.col("historied").fill_null(0))
        .filter(pl.col("deals") > 0)
    )
    exported_open: dict[str, int] = dict(
        exported.filter(pl.col("status") == "open")
        .group_by("stage")
        .agg(pl.col("deals").sum())
        .rows()
    )
    exported_won = int(exported.filter(pl.col("status") == "won")["deals"].sum())
    exported_lost = int(exported.filter(pl.col("status") == "lost")["deals"].sum())

    never = datetime.max.replace(tzinfo=UTC)  # stages only exported sort after entered ones
    stages = sorted(
        {*first_entry, *exported_open},
        key=lambda s: (stage_rank(s), first_entry.get(s, never), s),
    )
    won_row = len(stages)
    index = {stage: i for i, stage in enumerate(stages)}
    # Each deal with history and the rows it entered: its open stages' and, if won, Won's.
    deal_rows = pl.concat(
        [
            open_rows.select(
                "opportunity_id", row=pl.col("stage").replace_strict(index, return_dtype=pl.Int64)
            ),
            history.filter(pl.col("status") == "won").select(
                "opportunity_id", row=pl.lit(won_row, dtype=pl.Int64)
            ),
        ]
    ).unique()
    # A deal reached row i + 1 from row i when it entered both.
    onward = deal_rows.join(deal_rows.with_columns(pl.col("row") - 1), on=["opportunity_id", "row"])
    entered_at: dict[int, int] = dict(deal_rows.group_by("row").len().rows())
    reached_at: dict[int, int] = dict(onward.group_by("row").len().rows())
    entered = [entered_at.get(i, 0) for i in range(won_row + 1)]
    reached = [reached_at.get(i, 0) for i in range(won_row)]
    # Deals counted from their exported stage entered every row up to it; a won one all,
    # a lost one the first.
    exported_reach = [(index[s], n) for s, n in exported_open.items()] + [(won_row, exported_won)]
    for last_row, deals in exported_reach:
        for i in range(last_row + 1):
            entered[i] += deals
        for i in range(last_row):
            reached[i] += deals
    if stages:
        entered[0] += exported_lost
    return _funnel_frame([*stages, WON_STAGE], entered, reached)


class PipelineSummary(pa.DataFrameModel):
    """The summary columns: counts and amounts >= 0, rates in [0, 1], empty when undefined."""

    open_deals: pl.Int64 = pa.Field(ge=0)
    open_amount: pl.Float64 = pa.Field(ge=0)
    won_deals: pl.Int64 = pa.Field(ge=0)
    won_amount: pl.Float64 = pa.Field(ge=0)
    lost_deals: pl.Int64 = pa.Field(ge=0)
    lost_amount: pl.Float64 = pa.Field(ge=0)
    win_rate: pl.Float64 = pa.Field(nullable=True, ge=0, le=1)
    value_win_rate: pl.Float64 = pa.Field(nullable=True, ge=0, le=1)
    avg_won_amount: pl.Float64 = pa.Field(nullable=True, ge=0)
    median_cycle_days: pl.Float64 = pa.Field(nullable=True, ge=0)
    p75_cycle_days: pl.Float64 = pa.Field(nullable=True, ge=0)
    velocity_per_day: pl.Float64 = pa.Field(nullable=True, ge=0)

    @pa.dataframe_check(error="win_rate is empty exactly when no deal closed")
    @classmethod
    def win_rate_defined(cls, data: pa.PolarsData) -> pl.LazyFrame:
        closed = pl.col("won_deals") + pl.col("lost_deals")
        return data.lazyframe.select(pl.col("win_rate").is_null() == (closed == 0))

    @pa.dataframe_check(error="p75 cycle is at least the median")
    @classmethod
    def quantiles_ordered(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("p75_cycle_days") >= pl.col("median_cycle_days")).fill_null(True)
        )

    class Config:
        strict = True
        ordered = False
