"""Customers (walk-ins excluded): RFM, segments, cohorts, new vs returning,
concentration and a simple CLV.

RFM as-of date is the window's last day. Each of R, F and M scores 1-5
(5 = best; recency: fewer days is better, frequency and monetary: more is
better) by where a customer's value starts among the n customers:

    score = min(5, 1 + floor(5 w / n)),  w = the customers strictly worse

Equal values score alike, and a tied block scores where it starts, the
lowest score any of its members would reach: on retail data about half of
all customers buy once, and those one-time buyers all score F 1 (with F 2
then empty) rather than the average F 3 that giving a tie its block's
higher score hands them, which made a third of all customers Champions.
Splitting ties by row order (NTILE) would give identical customers
different scores. The block holding the best value always scores 5, also
among a handful of customers. A measure on which every customer has the
same value (recency over a single day) says nothing: everyone scores 3 on
it, and `rfm_note` says so.

Segments come from R and FM = (F + M) / 2, first matching row wins:

| segment            | R      | FM          |
|--------------------|--------|-------------|
| Champions          | >= 4   | >= 4        |
| Loyal              | >= 3   | >= 3.5      |
| Potential loyalist | >= 4   | >= 2.5      |
| New                | 5      | <= 1.5      |
| Promising          | >= 4   | < 2.5       |
| Needs attention    | 3      | >= 2.5      |
| About to sleep     | 3      | < 2.5       |
| Cannot lose them   | <= 2   | >= 4.5      |
| At risk            | <= 2   | >= 3        |
| Hibernating        | 2      | < 3         |
| Lost               | 1      | < 3         |

A customer's first purchase is their first-ever in scope (all time, same
branch/line/product/salesperson filters), so "new" means new to this slice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from core.kpi.catalogue import ratio
from core.kpi.view import View
from core.store import SalesStore, Window

# (segment, R at least, R at most, FM at least, FM at most): first match wins.
SEGMENTS: tuple[tuple[str, int, int, float, float], ...] = (
    ("Champions", 4, 5, 4.0, 5.0),
    ("Loyal", 3, 5, 3.5, 5.0),
    ("Potential loyalist", 4, 5, 2.5, 5.0),
    ("New", 5, 5, 1.0, 1.5),
    ("Promising", 4, 5, 1.0, 2.4),
    ("Needs attention", 3, 3, 2.5, 5.0),
    ("About to sleep", 3, 3, 1.0, 2.4),
    ("Cannot lose them", 1, 2, 4.5, 5.0),
    ("At risk", 1, 2, 3.0, 5.0),
    ("Hibernating", 2, 2, 1.0, 2.9),
    ("Lost", 1, 1, 1.0, 2.9),
)
SEGMENT_NAMES = tuple(s[0] for s in SEGMENTS)
# The segments of customers who bought well before and are drifting off.
SLIPPING = ("At risk", "Cannot lose them", "About to sleep")
# Segments scored over fewer days than this are unsteady: recency and frequency have
# little room to differ, and a customer's segment can change from one day to the next.
SHORT_RFM_DAYS = 90
# The score of a measure on which every customer has the same value: the middle one.
UNINFORMATIVE_SCORE = 3
RFM_MEASURES = {"recency_days": "recency", "frequency": "frequency", "monetary": "monetary"}
# CLV's default discount rate d (docs/contract.md).
DEFAULT_DISCOUNT_RATE = 0.10
CONCENTRATION_TOPS = (0.10, 0.20)


def _score(frame: pl.DataFrame, value: str, best_high: bool, name: str) -> pl.DataFrame:
    """Score 1-5: min(5, 1 + floor(5 w / n)), w the customers strictly worse (module doc);
    the best value's block scores 5, and a value equal for every customer scores 3."""
    if frame[value].n_unique() <= 1:
        return frame.with_columns(pl.lit(UNINFORMATIVE_SCORE, dtype=pl.Int64).alias(name))
    n = frame.height
    worse = pl.col(value).rank(method="min", descending=not best_high).cast(pl.Int64) - 1
    best = pl.col(value).max() if best_high else pl.col(value).min()
    score = (
        pl.when(pl.col(value) == best).then(5).otherwise(pl.min_horizontal(5, 1 + 5 * worse // n))
    )
    return frame.with_columns(score.cast(pl.Int64).alias(name))


def _note(frame: pl.DataFrame) -> str | None:
    """The measures every customer shares, whose score (3 for all) therefore says nothing."""
    same = [label for column, label in RFM_MEASURES.items() if frame[column].n_unique() <= 1]
    if not same:
        return None
    return f"Same for every customer, so scored {UNINFORMATIVE_SCORE} for all: {', '.join(same)}."


def segment_expr() -> pl.Expr:
    """The segment of each (r_score, f_score, m_score) row: the first matching row of SEGMENTS."""
    fm = (pl.col("f_score") + pl.col("m_score")) / 2
    segment = pl.lit(None, dtype=pl.String)
    for name, r_lo, r_hi, fm_lo, fm_hi in reversed(SEGMENTS):  # built inside out: first wins
        condition = pl.col("r_score").is_between(r_lo, r_hi) & fm.is_between(fm_lo, fm_hi)
        segment = pl.when(condition).then(pl.lit(name)).otherwise(segment)
    return segment


def first_purchases(store: SalesStore, view: View) -> pl.DataFrame:
    """customer_id -> first-ever purchase day in scope."""
    frame = store.aggregate(view.scope, None, by=("customer_id",), measures=("first_sale",))
    return frame.filter(pl.col("customer_id").is_not_null()).rename(
        {"first_sale": "first_purchase"}
    )


CUSTOMER_SCHEMA = {
    "customer_id": pl.String,
    "customer_name": pl.String,
    "customer_type": pl.String,
    "first_purchase": pl.Date,
    "last_purchase": pl.Date,
    "recency_days": pl.Int64,
    "frequency": pl.Int64,
    "monetary": pl.Float64,
    "gross_profit": pl.Float64,
    "r_score": pl.Int64,
    "f_score": pl.Int64,
    "m_score": pl.Int64,
    "segment": pl.String,
    "rfm_note": pl.String,
}


def _scored(
    store: SalesStore, view: View, measures: tuple[str, ...], latest: tuple[str, ...]
) -> pl.DataFrame | None:
    """Active customers (in the window) with RFM values, scores and segment; None if none."""
    if view.window is None:
        return None
    active = store.aggregate(
        view.scope,
        view.window,
        by=("customer_id",),
        measures=("net_sales", "orders", "last_sale", *measures),
        latest=latest,  # as on the customer's latest sale
    ).filter(pl.col("customer_id").is_not_null())
    if active.is_empty():
        return None
    table = active.rename(
        {"orders": "frequency", "net_sales": "monetary", "last_sale": "last_purchase"}
    )
    table = table.with_columns(
        recency_days=(pl.lit(view.window.end) - pl.col("last_purchase"))
        .dt.total_days()
        .cast(pl.Int64)
    )
    table = _score(table, "recency_days", best_high=False, name="r_score")
    table = _score(table, "frequency", best_high=True, name="f_score")
    table = _score(table, "monetary", best_high=True, name="m_score")
    return table.with_columns(segment=segment_expr(), rfm_note=pl.lit(_note(table), pl.String))


def rfm(store: SalesStore, view: View) -> pl.DataFrame:
    """One row per customer with a purchase in the window: RFM values, scores, segment."""
    table = _scored(store, view, ("gross_profit",), ("customer_name", "customer_type"))
    if table is None:
        return pl.DataFrame(schema=CUSTOMER_SCHEMA)
    table = table.join(first_purchases(store, view), on="customer_id", how="left")
    return (
        table.select(list(CUSTOMER_SCHEMA))
        .cast(CUSTOMER_SCHEMA)  # type: ignore[arg-type]
        .sort(["monetary", "customer_id"], descending=[True, False])
    )


def segments(store: SalesStore, view: View) -> pl.DataFrame:
    """`customer_id`, `monetary` and `segment` of `rfm`, without the names and first
    purchases it also reads (a year of 10M lines: 0.6 -> 0.2 s): what the Overview needs."""
    schema = {c: CUSTOMER_SCHEMA[c] for c in ("customer_id", "monetary", "segment")}
    table = _scored(store, view, (), ())
    if table is None:
        return pl.DataFrame(schema=schema)
    return table.select(list(schema)).cast(schema)  # type: ignore[arg-type]


def slipping_away(customers: pl.DataFrame) -> tuple[int, float]:
    """How many customers of `rfm` or `segments` are in `SLIPPING`, and their net sales."""
    slipping = customers.filter(pl.col("segment").is_in(SLIPPING))
    return slipping.height, float(slipping["monetary"].sum())


def segment_summary(customers: pl.DataFrame) -> pl.DataFrame:
    """Per segment: customers, net sales, share of customers' net sales, mean R and FM."""
    total = customers["monetary"].sum()
    return (
        customers.group_by("segment")
        .agg(
            customers=pl.len(),
            monetary=pl.col("monetary").sum(),
            avg_recency_days=pl.col("recency_days").mean(),
            avg_frequency=pl.col("frequency").mean(),
            r_score=pl.col("r_score").mean(),
            fm_score=((pl.col("f_score") + pl.col("m_score")) / 2).mean(),
        )
        .with_columns(share_of_net_sales=ratio(pl.col("monetary"), pl.lit(total)))
        .sort("monetary", descending=True)
    )


def cohorts(store: SalesStore, view: View, customers: pl.DataFrame | None = None) -> pl.DataFrame:
    """Retention by month of first-ever purchase, for cohorts starting in the window.

    A cohort is the customers whose first-ever purchase is inside the window
    (the "new" customers of `new_vs_returning`), grouped by its month; a
    window cut mid-month keeps only that month's in-window first purchases, so
    month 0 is always 100% and nothing outside the window is counted.
    `customers` is how many of the cohort bought in that month, `cohort_size`
    how many the cohort has, `retention_pct` their ratio. Each cohort has a
    row for every month from its own to the window's last, 0 where none of
    it bought.

    `customers` (`rfm` of the same view) saves reading the first purchases
    again: a customer whose first purchase is in the window is active in it.
    """
    schema = {
        "cohort": pl.String,
        "months_since": pl.Int64,
        "customers": pl.Int64,
        "cohort_size": pl.Int64,
        "retention_pct": pl.Float64,
    }
    if view.window is None:
        return pl.DataFrame(schema=schema)
    firsts = (
        customers.select("customer_id", "first_purchase")
        if customers is not None
        else first_purchases(store, view)
    )
    activity = store.active_months(view.scope, view.window)
    firsts = firsts.with_columns(cohort_start=pl.col("first_purchase").dt.truncate("1mo")).filter(
        pl.col("first_purchase").is_between(view.window.start, view.window.end)
    )
    sizes = firsts.group_by("cohort_start").agg(cohort_size=pl.len())
    cohort_month = _month_index(pl.col("cohort_start"))
    joined = activity.join(firsts, on="customer_id", how="inner").with_columns(
        months_since=_month_index(pl.col("period")) - cohort_month
    )
    counts = joined.group_by("cohort_start", "months_since").agg(customers=pl.len())
    # Every month from the cohort's to the window's last: a month none of it bought in
    # is 0% retained, a figure, not a gap.
    last_month = _month_index(pl.lit(view.window.end))
    grid = sizes.with_columns(
        months_since=pl.int_ranges(0, last_month - cohort_month + 1, dtype=pl.Int64)
    ).explode("months_since")
    return (
        grid.join(counts, on=["cohort_start", "months_since"], how="left")
        .with_columns(pl.col("customers").fill_null(0))
        .with_columns(
            cohort=pl.col("cohort_start").dt.strftime("%Y-%m"),
            retention_pct=ratio(pl.col("customers"), pl.col("cohort_size")),
        )
        .select(list(schema))
        .cast(schema)  # type: ignore[arg-type]
        .sort("cohort", "months_since")
    )


def _month_index(day: pl.Expr) -> pl.Expr:
    """Months since year 0 of a date: differences of two are whole calendar months."""
    return day.dt.year().cast(pl.Int64) * 12 + day.dt.month().cast(pl.Int64)


def new_vs_returning(
    store: SalesStore, view: View, customers: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Active customers split by whether their first-ever purchase is inside the window
    (the RFM table `customers` when the caller has it, else read for `view`)."""
    table = customers if customers is not None else rfm(store, view)
    return new_and_returning(table, view.window)


def new_and_returning(customers: pl.DataFrame, window: Window | None) -> pl.DataFrame:
    """`new_vs_returning` of an RFM table already read: no store is asked."""
    schema = {
        "status": pl.String,
        "customers": pl.Int64,
        "net_sales": pl.Float64,
        "orders": pl.Int64,
        "share_of_customers": pl.Float64,
    }
    if window is None or customers.is_empty():
        return pl.DataFrame(schema=schema)
    labelled = customers.with_columns(
        status=pl.when(pl.col("first_purchase") >= window.start)
        .then(pl.lit("new"))
        .otherwise(pl.lit("returning"))
    )
    summary = labelled.group_by("status").agg(
        customers=pl.len(), net_sales=pl.col("monetary").sum(), orders=pl.col("frequency").sum()
    )
    everyone = pl.DataFrame({"status": ["new", "returning"]})
    summary = everyone.join(summary, on="status", how="left").with_columns(
        pl.col("customers", "orders").fill_null(0), pl.col("net_sales").fill_null(0.0)
    )
    return (
        summary.with_columns(
            share_of_customers=ratio(pl.col("customers"), pl.col("customers").sum())
        )
        .select(list(schema))
        .cast(schema)  # type: ignore[arg-type]
    )


def concentration(customers: pl.DataFrame) -> pl.DataFrame:
    """Share of customers' net sales from the top 10% and 20% of customers (by net sales).

    The top x% is the first ceil(x n) customers in net-sales order (ties by id).
    """
    total = float(customers["monetary"].sum()) if not customers.is_empty() else 0.0
    ordered = customers.sort(["monetary", "customer_id"], descending=[True, False])
    rows = []
    for top in CONCENTRATION_TOPS:
        count = math.ceil(top * ordered.height)
        top_sales = float(ordered.head(count)["monetary"].sum()) if count else 0.0
        rows.append(
            {
                "top_pct": top,
                "customers": count,
                "net_sales": float(top_sales),
                "share_of_net_sales": (top_sales / total) if total else None,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "top_pct": pl.Float64,
            "customers": pl.Int64,
            "net_sales": pl.Float64,
            "share_of_net_sales": pl.Float64,
        },
    )


@dataclass(frozen=True)
class Clv:
    """Simple CLV = m r / (1 + d - r) over the year ending on the window's last day."""

    avg_yearly_gross_profit: float | None  # m
    retention: float | None  # r
    discount_rate: float  # d
    value: float | None
    customers_last_year: int
    customers_prior_year: int


def clv(
    store: SalesStore,
    view: View,
    discount_rate: float = DEFAULT_DISCOUNT_RATE,
    customers: pl.DataFrame | None = None,
) -> Clv:
    """m = gross profit per active customer over the last 365 days of the window;
    r = share of customers active in the 365 days before that who bought again
    in the last 365 days.

    `customers` (`rfm` of the same view) is those 365 days' customers when the
    window is exactly that long, as the default 12 months are: one read fewer.
    """
    if view.window is None:
        return Clv(None, None, discount_rate, None, 0, 0)
    end = view.window.end
    last_year = Window(end - timedelta(days=364), end)
    prior_year = Window(end - timedelta(days=729), end - timedelta(days=365))
    if customers is not None and view.window == last_year:
        recent = customers.select("customer_id", "gross_profit")
    else:
        recent = store.aggregate(
            view.scope, last_year, by=("customer_id",), measures=("gross_profit",)
        )
    recent = recent.filter(pl.col("customer_id").is_not_null())
    # Membership only: a line count is cheaper than distinct orders.
    prior = store.aggregate(view.scope, prior_year, by=("customer_id",), measures=("lines",))
    prior = prior.filter(pl.col("customer_id").is_not_null())
    m = float(recent["gross_profit"].sum()) / recent.height if recent.height else None
    retained = prior.join(recent, on="customer_id", how="semi").height
    r = retained / prior.height if prior.height else None
    value = None
    if m is not None and r is not None and (1 + discount_rate - r) != 0:
        value = m * r / (1 + discount_rate - r)
    return Clv(m, r, discount_rate, value, recent.height, prior.height)
