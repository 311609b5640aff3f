"""Products: KPIs per product, Pareto, ABC classes and slow movers."""

from __future__ import annotations

from datetime import date, timedelta
from typing import cast

import polars as pl

from core.kpi.catalogue import add_kpis, ratio
from core.kpi.view import View
from core.store import SalesStore, Scope, Window

# ABC thresholds on the cumulative share *before* an item (docs/contract.md, "products").
A_LIMIT = 0.80
B_LIMIT = 0.95
# A slow mover has no sale in the 90 days up to the window's last day.
SLOW_MOVER_DAYS = 90

SALE_MEASURES = ("net_sales", "cogs", "gross_profit", "units", "orders")


def product_catalogue(store: SalesStore, scope: Scope) -> pl.DataFrame:
    """Each product in `scope` over all time: its first and last sale, and its name and
    product line on its latest sale. The same for every window, so the app caches it
    apart from the windows' figures (`core.cache.product_catalogue`)."""
    return store.aggregate(
        scope,
        None,
        by=("product_id",),
        measures=("first_sale", "last_sale"),
        latest=("product_name", "product_line"),
    )


def product_attributes(
    store: SalesStore, view: View, catalogue: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Each product in scope, over all time: its name and product line on its latest sale,
    and `last_sale`, its latest sale up to the window's last day (null if none by then).

    A sale before the window counts: over the last 30 days, a product last sold 40
    days ago was sold 40 days ago, not never. `catalogue` is `product_catalogue` of
    the view's scope, if the caller has it.
    """
    known = catalogue if catalogue is not None else product_catalogue(store, view.scope)
    first = cast("date | None", known["first_sale"].min())
    latest = cast("date | None", known["last_sale"].max())
    end = view.window.end if view.window is not None else None
    if end is not None and first is not None and first > end:
        known = known.with_columns(last_sale=pl.lit(None, pl.Date))  # nothing sold by then
    elif end is not None and first is not None and latest is not None and latest > end:
        # A window in the past: each product's latest sale up to its end.
        before = store.aggregate(
            view.scope, Window(first, end), by=("product_id",), measures=("last_sale",)
        )
        known = known.drop("last_sale").join(before, on="product_id", how="left")
    return known.select("product_id", "product_name", "product_line", "last_sale")


def product_names(store: SalesStore, scope: Scope) -> dict[str, str]:
    """Each product in `scope` (a few, by `products`) to its name on its latest sale."""
    frame = store.aggregate(
        scope, None, by=("product_id",), measures=("last_sale",), latest=("product_name",)
    )
    return {
        row["product_id"]: row["product_name"]
        for row in frame.iter_rows(named=True)
        if row["product_id"] is not None and row["product_name"] is not None
    }


def abc_classes(cumulative_before: pl.Expr) -> pl.Expr:
    """A while the share before the item is under 80%, B under 95%, else C."""
    return (
        pl.when(cumulative_before < A_LIMIT)
        .then(pl.lit("A"))
        .when(cumulative_before < B_LIMIT)
        .then(pl.lit("B"))
        .otherwise(pl.lit("C"))
    )


def products(store: SalesStore, view: View, catalogue: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per product in scope: KPIs, Pareto cumulative share, ABC class, slow-mover flag.

    Sorted by net sales descending, ties by `product_id`. Products with no
    sale in the window are listed with zeros (they are C, and slow movers).
    `cumulative_share` and `abc_class` are empty when total net sales are 0.
    `catalogue` is `product_catalogue` of the view's scope, if the caller has it.
    """
    attributes = product_attributes(store, view, catalogue)
    if view.window is None:
        current = pl.DataFrame(schema={"product_id": pl.String})
    else:
        current = store.aggregate(
            view.scope, view.window, by=("product_id",), measures=SALE_MEASURES
        )
    table = attributes.join(current, on="product_id", how="left").with_columns(
        pl.col(m).fill_null(0) for m in SALE_MEASURES if m in current.columns
    )
    if "net_sales" not in table.columns:
        table = table.with_columns(
            [pl.lit(0.0).alias(m) for m in ("net_sales", "cogs", "gross_profit", "units")],
            orders=pl.lit(0, dtype=pl.Int64),
        )
    table = add_kpis(table, ("net_sales", "gross_profit", "gross_margin_pct", "units"))
    table = table.sort(["net_sales", "product_id"], descending=[True, False])
    total = table["net_sales"].sum()
    table = table.with_columns(
        avg_selling_price=ratio(pl.col("net_sales"), pl.col("units")),
        cumulative_share=ratio(pl.col("net_sales").cum_sum(), pl.lit(total)),
    )
    # The share before an item is the previous item's cumulative share, the very number
    # the table shows: subtracting the item from its running sum instead can land a hair
    # under a limit the previous row shows reached (1975.20 of 2469.00 is 0.8, but
    # (1975.20 + 394.17 - 394.17) / 2469.00 is 0.79999...).
    table = table.with_columns(
        abc_class=pl.when(pl.lit(total) != 0).then(
            abc_classes(pl.col("cumulative_share").shift(1, fill_value=0.0))
        ),
    )
    if view.window is not None:
        cutoff = view.window.end - timedelta(days=SLOW_MOVER_DAYS - 1)
        table = table.with_columns(
            slow_mover=pl.col("last_sale").is_null() | (pl.col("last_sale") < cutoff),
            days_since_last_sale=(pl.lit(view.window.end) - pl.col("last_sale")).dt.total_days(),
        )
    return table.select(
        "product_id",
        "product_name",
        "product_line",
        "net_sales",
        "gross_profit",
        "gross_margin_pct",
        "units",
        "avg_selling_price",
        "cumulative_share",
        "abc_class",
        "orders",
        "last_sale",
        *(["slow_mover", "days_since_last_sale"] if view.window else []),
    )


def abc_summary(table: pl.DataFrame) -> pl.DataFrame:
    """Per ABC class: products, net sales and share of net sales."""
    total = table["net_sales"].sum()
    return (
        table.filter(pl.col("abc_class").is_not_null())
        .group_by("abc_class")
        .agg(
            products=pl.len(),
            net_sales=pl.col("net_sales").sum(),
            gross_profit=pl.col("gross_profit").sum(),
        )
        .with_columns(share_of_net_sales=ratio(pl.col("net_sales"), pl.lit(total)))
        .sort("abc_class")
    )
