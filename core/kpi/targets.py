"""Attainment against targets, and the run-rate of a period to date.

A target is a month's net sales (optionally gross profit) for a slice: a
branch and/or a salesperson and/or a product line, a blank member meaning
all (`core/targets.py`). Over a window:

- a month's target counts in proportion to its days inside the window
  (10 of 31 days of January: 10/31 of January's target);
- a member's target is the sum of the prorated targets of the slices that
  are that member at the view's level (`fitting`), and its attainment is its
  net sales in the targeted months' days of the window / that target, so a
  month without a target counts in neither;
- a user's branches restrict targets as they restrict lines: a restricted
  user sees only targets of its branches (a whole-company salesperson
  target then has no branch to be shown under, and is not shown).

The rules, with a worked example, are in docs/contract.md ("Targets").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from core.kpi import members
from core.kpi import overview as headline
from core.kpi.catalogue import ratio
from core.kpi.view import View
from core.periods import shift_months, unit_end, unit_start
from core.store import SalesStore, Scope, Window
from core.targets import MEMBER_COLUMNS

# The columns a prorated target row carries.
PRORATED_SCHEMA: dict[str, pl.DataType] = {
    "month": pl.Date(),
    "branch": pl.String(),
    "salesperson": pl.String(),
    "product_line": pl.String(),
    "days_in_window": pl.Int64(),
    "target": pl.Float64(),
    "target_gross_profit": pl.Float64(),
    "actual": pl.Float64(),
    "actual_gross_profit": pl.Float64(),
}
RUN_RATE_PERIODS = ("month", "quarter")


def _member_values(scope: Scope, column: str) -> tuple[str, ...] | None:
    """The members of `column` the scope keeps, None for every member."""
    if column == "branch":
        wanted = set(scope.branches) if scope.branches else None
        if scope.allowed_branches is not None:
            allowed = set(scope.allowed_branches)
            wanted = allowed if wanted is None else wanted & allowed
        return None if wanted is None else tuple(sorted(wanted))
    values = {"salesperson": scope.salespeople, "product_line": scope.product_lines}[column]
    return values or None


def visible(targets: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    """The targets a user restricted to `scope.allowed_branches` may see (all without one)."""
    if scope.allowed_branches is None:
        return targets
    return targets.filter(pl.col("branch").is_in(list(scope.allowed_branches)))


def fitting(targets: pl.DataFrame, scope: Scope, key: str | None = None) -> pl.DataFrame:
    """The targets that are the view's slice, per member of `key` (None: the view's total).

    A member column the view filters (or `key`) must name one of its members;
    a column it does not filter must be blank (all), except the branch: where a
    member (or the total) has no target for all branches, its branches' targets
    add up to it (the business's target is the sum of its branches'). A
    product filter has no targets: targets are not set per product.
    """
    if scope.products:
        return targets.clear()
    condition = pl.lit(True)
    for column in MEMBER_COLUMNS:
        values = _member_values(scope, column)
        if column == key or values is not None:
            named = pl.col(column).is_not_null()
            if values is not None:
                named = named & pl.col(column).is_in(list(values))
            condition = condition & named
        elif column != "branch":
            condition = condition & pl.col(column).is_null()
    rows = targets.filter(condition)
    if key == "branch" or _member_values(scope, "branch") is not None:
        return rows
    whole = rows.filter(pl.col("branch").is_null())
    per_branch = rows.filter(pl.col("branch").is_not_null())
    if key is None:
        return whole if whole.height else per_branch
    # Per member: its all-branch targets if it has any, else its branches'.
    has_whole = whole[key].unique().implode()
    return pl.concat([whole, per_branch.filter(~pl.col(key).is_in(has_whole))])


def prorated(targets: pl.DataFrame, window: Window) -> pl.DataFrame:
    """The targets of months that overlap `window`, each scaled by its share of days inside.

    Adds `days_in_window` and `target` / `target_gross_profit` (prorated);
    `actual` columns are left for `with_actuals`.
    """
    month_end = pl.col("month").dt.month_end()
    first = pl.max_horizontal(pl.col("month"), pl.lit(window.start))
    last = pl.min_horizontal(month_end, pl.lit(window.end))
    days = ((last - first).dt.total_days() + 1).cast(pl.Int64)
    share = days / month_end.dt.day()
    return (
        targets.filter((pl.col("month") <= window.end) & (month_end >= window.start))
        .with_columns(days_in_window=days)
        .with_columns(
            target=pl.col("net_sales") * share,
            target_gross_profit=pl.col("gross_profit") * share,
        )
        .select("month", *MEMBER_COLUMNS, "days_in_window", "target", "target_gross_profit")
    )


def with_actuals(
    store: SalesStore, scope: Scope, window: Window, rows: pl.DataFrame
) -> pl.DataFrame:
    """`rows` (from `prorated`) with each slice's net sales and gross profit in the
    month's days inside `window`, under `scope`: one store query, grouped by month and
    by the member columns the rows name."""
    if rows.is_empty():
        return pl.DataFrame(schema=PRORATED_SCHEMA)
    named = [c for c in MEMBER_COLUMNS if rows[c].is_not_null().any()]
    sales = store.aggregate(
        scope, window, by=tuple(named), grain="month", measures=("net_sales", "gross_profit")
    ).rename({"period": "month"})
    parts = []
    patterns = rows.select(pl.col(c).is_not_null().alias(c) for c in named).unique()
    for pattern in patterns.iter_rows(named=True):
        keys = [c for c in named if pattern[c]]
        part = rows.filter(
            pl.all_horizontal(
                [pl.col(c).is_not_null() if pattern[c] else pl.col(c).is_null() for c in named]
            )
        )
        per_slice = sales.group_by("month", *keys).agg(
            actual=pl.col("net_sales").sum(), actual_gross_profit=pl.col("gross_profit").sum()
        )
        parts.append(part.join(per_slice, on=["month", *keys], how="left"))
    return (
        pl.concat(parts, how="diagonal_relaxed")
        .with_columns(pl.col("actual", "actual_gross_profit").fill_null(0.0))
        .select(list(PRORATED_SCHEMA))
        .cast(PRORATED_SCHEMA)  # type: ignore[arg-type]
    )


def _attained(store: SalesStore, view: View, key: str | None) -> pl.DataFrame:
    if view.window is None:
        return pl.DataFrame(schema=PRORATED_SCHEMA)
    rows = fitting(visible(store.read_targets(), view.scope), view.scope, key)
    return with_actuals(store, view.scope, view.window, prorated(rows, view.window))


def member_attainment(store: SalesStore, view: View, key: str) -> pl.DataFrame:
    """Per member of `key` with a target in the window: `target` (prorated), and
    `attainment_pct` = its net sales in the targeted days / `target`."""
    rows = _attained(store, view, key)
    return (
        rows.group_by(key)
        .agg(pl.col("target").sum(), pl.col("actual").sum())
        .with_columns(attainment_pct=ratio(pl.col("actual"), pl.col("target")))
        .select(key, "target", "attainment_pct")
    )


def with_targets(table: pl.DataFrame, store: SalesStore, view: View, key: str) -> pl.DataFrame:
    """A leaderboard with `target` and `attainment_pct` where any member has a target
    in the window (empty for a member without one); unchanged where none has."""
    attained = member_attainment(store, view, key)
    if attained.is_empty():
        return table
    # Beside net sales, which they judge.
    order = [key, "net_sales", "target", "attainment_pct"]
    joined = table.join(attained, on=key, how="left")
    return joined.select(*order, *(c for c in table.columns if c not in order))


@dataclass(frozen=True)
class Attainment:
    """The view's total against its target."""

    target: float | None  # prorated over the window; None without a target
    actual: float  # net sales in the targeted days of the window
    attainment_pct: float | None
    months_with_target: int
    months_in_window: int


def total_attainment(store: SalesStore, view: View) -> Attainment:
    """The view's net sales against the sum of its fitting, prorated targets."""
    rows = _attained(store, view, None)
    months = 0
    if view.window is not None:
        months = (view.window.end.year - view.window.start.year) * 12
        months += view.window.end.month - view.window.start.month + 1
    if rows.is_empty():
        return Attainment(None, 0.0, None, 0, months)
    target = float(rows["target"].sum())
    actual = float(rows["actual"].sum())
    return Attainment(
        target, actual, actual / target if target else None, rows["month"].n_unique(), months
    )


def overview(store: SalesStore, view: View) -> pl.DataFrame:
    """The overview area with `target` and `attainment_pct` where the view has a target."""
    table = headline.overview(store, view)
    attained = total_attainment(store, view)
    if attained.target is None:
        return table
    return table.with_columns(
        target=pl.lit(attained.target, dtype=pl.Float64),
        attainment_pct=pl.lit(attained.attainment_pct, dtype=pl.Float64),
    )


def salespeople(store: SalesStore, view: View) -> pl.DataFrame:
    return with_targets(members.salespeople(store, view), store, view, "salesperson")


def branches(store: SalesStore, view: View) -> pl.DataFrame:
    return with_targets(members.branches(store, view), store, view, "branch")


def product_lines(store: SalesStore, view: View) -> pl.DataFrame:
    return with_targets(members.product_lines(store, view), store, view, "product_line")


TARGETS_AREA_SCHEMA: dict[str, pl.DataType] = {
    "member": pl.String(),
    "branch": pl.String(),
    "salesperson": pl.String(),
    "product_line": pl.String(),
    "month": pl.String(),
    "days_in_window": pl.Int64(),
    "target": pl.Float64(),
    "actual": pl.Float64(),
    "attainment_pct": pl.Float64(),
    "target_gross_profit": pl.Float64(),
    "actual_gross_profit": pl.Float64(),
    "gross_profit_attainment_pct": pl.Float64(),
}


def member_label() -> pl.Expr:
    """A slice as one text: "Mombasa / Amina Otieno"; blank members (all) left out."""
    return pl.concat_str(
        [pl.col(c) for c in MEMBER_COLUMNS], separator=" / ", ignore_nulls=True
    ).alias("member")


def targets_area(store: SalesStore, view: View) -> pl.DataFrame:
    """The `targets` export: every target the user may see with a month in the window,
    under the view's member filters (a filtered member column must name one of its
    members), prorated, with the slice's actual net sales and gross profit."""
    if view.window is None or view.scope.products:
        return pl.DataFrame(schema=TARGETS_AREA_SCHEMA)
    rows = visible(store.read_targets(), view.scope)
    for column in MEMBER_COLUMNS:
        values = _member_values(view.scope, column)
        if values is not None:
            rows = rows.filter(pl.col(column).is_in(list(values)))
    rows = with_actuals(store, view.scope, view.window, prorated(rows, view.window))
    return (
        rows.with_columns(
            member_label(),
            pl.col("month").dt.strftime("%Y-%m"),
            attainment_pct=ratio(pl.col("actual"), pl.col("target")),
            gross_profit_attainment_pct=ratio(
                pl.col("actual_gross_profit"), pl.col("target_gross_profit")
            ),
        )
        .select(list(TARGETS_AREA_SCHEMA))
        .cast(TARGETS_AREA_SCHEMA)  # type: ignore[arg-type]
        .sort("month", "member")
    )


@dataclass(frozen=True)
class RunRate:
    """Where a period to date is heading: its projected total beside its target."""

    period: str  # "month" or "quarter"
    start: date
    end: date  # the period's last day
    to_date: Window  # the days counted so far
    actual: float  # net sales over `to_date`
    projected: float | None  # None while nothing is known to project from
    method: str  # how `projected` was worked out, for the page's tooltip
    target: float | None  # the whole period's target; None without one
    projected_attainment_pct: float | None


def run_rate(store: SalesStore, scope: Scope, period: str, today: date) -> RunRate:
    """The projected net sales of this month or quarter (`period`) at its end.

    Counted days are the period's days before today (today's sales are still
    coming in), or today alone on the period's first day. Like-for-like: the
    period before made `same_days / full` of its total in the same calendar
    days, so the projection is `actual * full / same_days`;
    without sales in those days, the days elapsed scale it instead
    (`actual * period_days / counted_days`).
    """
    if period not in RUN_RATE_PERIODS:
        raise ValueError(f"run-rate period {period!r}: expected month or quarter")
    start = unit_start(today, period)
    end = unit_end(start, period)
    to_date = Window(start, max(start, today - timedelta(days=1)))
    measured = store.aggregate(scope, to_date, measures=("net_sales",))
    actual = float(measured["net_sales"][0])
    previous_start = unit_start(start - timedelta(days=1), period)
    previous_full = Window(previous_start, start - timedelta(days=1))
    # The same calendar days of the period before: 1-5 November for 1-5 December,
    # 1 October-10 November for 1 January-10 February (clipped to a shorter month's end).
    months = 1 if period == "month" else 3
    previous_days = Window(
        previous_start, min(shift_months(to_date.end, -months), previous_full.end)
    )
    projected: float | None = None
    method = ""
    same_days = float(store.aggregate(scope, previous_days, measures=("net_sales",))[0, 0])
    full = float(store.aggregate(scope, previous_full, measures=("net_sales",))[0, 0])
    if same_days > 0 and full > 0:
        projected = actual * full / same_days
        method = (
            f"like-for-like: {previous_days.start:%d %b}-{previous_days.end:%d %b} made "
            f"{same_days / full:.0%} of {previous_full.start:%B %Y}"
            if period == "month"
            else f"like-for-like: the same days of the quarter before made "
            f"{same_days / full:.0%} of it"
        )
    if projected is None and actual:
        projected = actual * ((end - start).days + 1) / to_date.days
        method = f"{to_date.days} of {(end - start).days + 1} days, at their daily average"
    rows = fitting(visible(store.read_targets(), scope), scope)
    whole = prorated(rows, Window(start, end))
    target = float(whole["target"].sum()) if whole.height else None
    attained = projected / target if projected is not None and target else None
    return RunRate(period, start, end, to_date, actual, projected, method, target, attained)
