"""Leaderboards per member of a dimension: salespeople, branches, product lines.

Every member known in scope is listed, so a branch with no sales in the
window shows as 0 rather than vanishing.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from core.kpi.catalogue import HEADLINE, add_kpis, growth, ratio, store_measures
from core.kpi.view import View
from core.store import SUM_MEASURES, SalesStore


def _zero_filled(frame: pl.DataFrame, key: str, members: list[str]) -> pl.DataFrame:
    everyone = pl.DataFrame({key: members}, schema={key: pl.String})
    joined = everyone.join(frame, on=key, how="full", coalesce=True)
    counters = [c for c in frame.columns if c in (*SUM_MEASURES, "orders", "customers")]
    return joined.with_columns(pl.col(c).fill_null(0) for c in counters)


def _ranked(frame: pl.DataFrame, key: str, value: str, name: str) -> pl.DataFrame:
    """Rank 1 = highest `value`; ties go to the smaller key. Null value: no rank."""
    order = frame.filter(pl.col(value).is_not_null()).sort([value, key], descending=[True, False])
    ranks = (
        order.select(key).with_row_index(name, offset=1).with_columns(pl.col(name).cast(pl.Int64))
    )
    return frame.join(ranks, on=key, how="left")


def leaderboard(store: SalesStore, view: View, key: str, all_members: bool = False) -> pl.DataFrame:
    """Per member of `key`: headline KPIs, share of net sales, growth and rank.

    Members are those with a sale in the window or the comparison window; with
    `all_members`, every member ever seen in scope (a branch with no sales in
    the window then shows as 0). Columns: `key`, the headline KPIs,
    `share_of_net_sales`, `rank` (1 = highest net sales, ties to the smaller
    key) and, with a comparison, `net_sales_prev`, `growth_pct`, `rank_prev`,
    `rank_change` (positive = moved up).
    """
    measures = store_measures()
    if view.window is None:
        current = pl.DataFrame(schema={key: pl.String, **{m: pl.Float64 for m in measures}})
    else:
        current = store.aggregate(view.scope, view.window, by=(key,), measures=measures)
    previous = None
    if view.comparison is not None:
        previous = store.aggregate(
            view.scope, view.comparison, by=(key,), measures=("net_sales",)
        ).rename({"net_sales": "net_sales_prev"})
        previous = _ranked(previous, key, "net_sales_prev", "rank_prev")
    members = set(current[key].to_list())
    if previous is not None:
        members |= set(previous[key].to_list())
    if all_members:
        members |= set(store.distinct_values(key, view.scope))
    ordered = sorted(m for m in members if m is not None)
    table = add_kpis(_zero_filled(current, key, ordered)).select(key, *HEADLINE)
    total = table["net_sales"].sum()
    table = table.with_columns(share_of_net_sales=ratio(pl.col("net_sales"), pl.lit(total)))
    table = _ranked(table, key, "net_sales", "rank")
    if previous is not None:
        # A member without lines in the comparison window sold 0 there, and has no rank.
        table = (
            table.join(previous, on=key, how="left")
            .with_columns(pl.col("net_sales_prev").fill_null(0.0))
            .with_columns(
                growth_pct=growth(pl.col("net_sales"), pl.col("net_sales_prev")),
                rank_change=pl.col("rank_prev") - pl.col("rank"),
            )
        )
    elif view.compare != "none":  # a comparison asked for, but nothing matches: same columns
        table = table.with_columns(
            net_sales_prev=pl.lit(None, dtype=pl.Float64),
            rank_prev=pl.lit(None, dtype=pl.Int64),
            growth_pct=pl.lit(None, dtype=pl.Float64),
            rank_change=pl.lit(None, dtype=pl.Int64),
        )
    return table.sort(["net_sales", key], descending=[True, False], nulls_last=True)


def salespeople(store: SalesStore, view: View) -> pl.DataFrame:
    """Per salesperson; `active_customers` is the customers each one served."""
    return leaderboard(store, view, "salesperson")


def branches(store: SalesStore, view: View) -> pl.DataFrame:
    return leaderboard(store, view, "branch", all_members=True)


def product_lines(store: SalesStore, view: View) -> pl.DataFrame:
    table = leaderboard(store, view, "product_line", all_members=True)
    return table.with_columns(avg_selling_price=ratio(pl.col("net_sales"), pl.col("units")))


def member_trend(store: SalesStore, view: View, key: str) -> pl.DataFrame:
    """Net sales, gross profit and margin per member and time bucket."""
    if view.window is None:
        return pl.DataFrame(schema={key: pl.String, "period": pl.Date, "net_sales": pl.Float64})
    frame = store.aggregate(
        view.scope,
        view.window,
        by=(key,),
        grain=view.grain,
        measures=("net_sales", "cogs", "gross_profit", "orders"),
    )
    return add_kpis(frame, ("net_sales", "gross_profit", "gross_margin_pct", "orders")).select(
        key, "period", "net_sales", "gross_profit", "gross_margin_pct", "orders"
    )


def branch_line_mix(store: SalesStore, view: View) -> pl.DataFrame:
    """Branch x product line: net sales, gross profit and each line's share of the branch."""
    if view.window is None:
        return pl.DataFrame(
            schema={"branch": pl.String, "product_line": pl.String, "net_sales": pl.Float64}
        )
    frame = store.aggregate(
        view.scope,
        view.window,
        by=("branch", "product_line"),
        measures=("net_sales", "gross_profit"),
    )
    return frame.with_columns(
        gross_margin_pct=ratio(pl.col("gross_profit"), pl.col("net_sales")),
        share_of_branch=ratio(pl.col("net_sales"), pl.col("net_sales").sum().over("branch")),
    )


def branch_month(store: SalesStore, view: View) -> pl.DataFrame:
    """Branch x calendar month net sales and gross profit (for the heatmap)."""
    if view.window is None:
        return pl.DataFrame(
            schema={"branch": pl.String, "period": pl.Date, "net_sales": pl.Float64}
        )
    return store.aggregate(
        view.scope,
        view.window,
        by=("branch",),
        grain="month",
        measures=("net_sales", "gross_profit"),
    )


# The member the Overview names per dimension, and the measure it leads by.
LEADS_BY: dict[str, str] = {
    "salesperson": "gross_profit",
    "product_line": "gross_profit",
    "branch": "net_sales",
}


def leaders(store: SalesStore, view: View) -> pl.DataFrame:
    """Per dimension of `LEADS_BY`, its leading member among those with positive net sales.

    One sums-only query grouped by every such dimension replaces a leaderboard
    each (with its comparison window and distinct counts): the leader and its
    figures are those of the first row of the leaderboard sorted by the lead
    measure, ties to the smaller name. Columns: `dimension`, `member`,
    `net_sales`, `gross_profit`, `gross_margin_pct`, `share_of_net_sales`;
    no row for a dimension without a member with positive net sales.
    """
    schema = {
        "dimension": pl.String,
        "member": pl.String,
        "net_sales": pl.Float64,
        "gross_profit": pl.Float64,
        "gross_margin_pct": pl.Float64,
        "share_of_net_sales": pl.Float64,
    }
    if view.window is None:
        return pl.DataFrame(schema=schema)
    frame = store.aggregate(
        view.scope, view.window, by=tuple(LEADS_BY), measures=("net_sales", "gross_profit")
    )
    rows = []
    for key, lead in LEADS_BY.items():
        known = frame.filter(pl.col(key).is_not_null())
        total = known["net_sales"].sum()
        per_member = (
            known.group_by(key)
            .agg(pl.col("net_sales", "gross_profit").sum())
            .filter(pl.col("net_sales") > 0)
            .sort([lead, key], descending=[True, False])
        )
        if per_member.height:
            rows.append(
                per_member.head(1).select(
                    dimension=pl.lit(key),
                    member=pl.col(key),
                    net_sales="net_sales",
                    gross_profit="gross_profit",
                    gross_margin_pct=ratio(pl.col("gross_profit"), pl.col("net_sales")),
                    share_of_net_sales=ratio(pl.col("net_sales"), pl.lit(total)),
                )
            )
    return pl.concat(rows).cast(schema) if rows else pl.DataFrame(schema=schema)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Standing:
    """One member among its peers: the members of the same leaderboard, same window."""

    member: str
    rank: int | None  # by net sales, 1 = highest; None without sales in the window
    selling: int  # peers with sales in the window, the member included
    share_of_net_sales: float | None
    gross_margin_pct: float | None
    peers_margin_pct: float | None  # every peer's lines together
    rank_change: int | None = None  # places gained since the comparison window


def standing(peers: pl.DataFrame, key: str, member: str) -> Standing:
    """Where `member` stands in `peers`, a table of `key`'s members (a leaderboard, or
    the products area) over the view with the member filter lifted: its rank, share
    and margin against everyone's.

    Rank and share are `leaderboard`'s: 1 = highest net sales, ties to the smaller
    key; share of the net sales of all rows. A table without them (products) has
    them computed here by the same rules.
    """
    if "rank" not in peers.columns:
        peers = _ranked(peers, key, "net_sales", "rank")
    if "share_of_net_sales" not in peers.columns:
        total = peers["net_sales"].sum()
        peers = peers.with_columns(share_of_net_sales=ratio(pl.col("net_sales"), pl.lit(total)))
    selling = peers.filter(pl.col("orders") > 0)
    totals = selling.select(pl.col("gross_profit").sum(), pl.col("net_sales").sum()).row(0)
    peers_margin = totals[0] / totals[1] if totals[1] else None
    rows = peers.filter(pl.col(key) == member)
    if rows.is_empty() or not rows["orders"][0]:
        return Standing(member, None, selling.height, None, None, peers_margin)
    row = rows.row(0, named=True)
    return Standing(
        member,
        row["rank"],
        selling.height,
        row["share_of_net_sales"],
        row["gross_margin_pct"],
        peers_margin,
        row.get("rank_change"),
    )
