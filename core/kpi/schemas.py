"""Pandera (Polars API) models of every area's output table.

One model per export area of docs/contract.md (`AREA_SCHEMAS`), plus the branch and
customer side tables the pages show. Each pins the columns, their dtypes and
nullability, the ranges that hold by definition (counts >= 0, ranks >= 1,
RFM scores 1-5, retention in [0, 1]) and the table-wide invariants of the
KPI definitions: shares sum to 1, rank is a permutation, the Pareto share
ends at 1, ABC classes follow the Pareto order, ratios are their
numerator / denominator and empty exactly when the denominator is 0.

Shares and the cumulative share lie in [0, 1] only when no member has
negative net sales (returns can outweigh sales), so that range is checked
under that condition. Validate collected DataFrames: on a LazyFrame Pandera
checks only the schema.
"""

from __future__ import annotations

from itertools import pairwise

import pandera.polars as pa
import polars as pl

from core.kpi.customers import SEGMENT_NAMES
from core.kpi.pipeline_schemas import PIPELINE_AREA_SCHEMAS

# Sums of money differ by float summation order only; half a cent is "equal".
MONEY_TOLERANCE = 0.005
# Ratios recomputed from their (already rounded-free) parts agree to this.
RATIO_TOLERANCE = 1e-9

UNIT_INTERVAL = {"min_value": 0.0, "max_value": 1.0}


def _ratio_consistent(data: pa.PolarsData, name: str, num: str, den: str) -> pl.LazyFrame:
    """`name` is num / den, and empty exactly when den is 0 (nulls in den: unchecked)."""
    lf = data.lazyframe
    expected = pl.col(num) / pl.col(den)
    ok = (
        pl.when(pl.col(den).is_null())
        .then(True)
        .when(pl.col(den) == 0)
        .then(pl.col(name).is_null())
        .otherwise((pl.col(name) - expected).abs() <= RATIO_TOLERANCE * (1 + expected.abs()))
    )
    return lf.select(ok.alias(name))


def _shares_sum_to_one(data: pa.PolarsData, share: str, value: str) -> pl.LazyFrame:
    """Shares sum to 1 when the total is not 0 (all empty otherwise)."""
    lf = data.lazyframe
    total = pl.col(value).sum()
    ok = (
        pl.when(pl.len() == 0)
        .then(True)
        .when(total == 0)
        .then(pl.col(share).is_null().all())
        .otherwise((pl.col(share).sum() - 1).abs() <= RATIO_TOLERANCE)
    )
    return lf.select(ok)


def _share_in_unit_interval(data: pa.PolarsData, share: str, value: str) -> pl.LazyFrame:
    """With no negative member, every share is in [0, 1]."""
    lf = data.lazyframe
    negative = (pl.col(value) < 0).any()
    inside = pl.col(share).is_null() | pl.col(share).is_between(
        -RATIO_TOLERANCE, 1 + RATIO_TOLERANCE
    )
    return lf.select(negative | inside)


def _rank_is_permutation(data: pa.PolarsData, rank: str) -> pl.LazyFrame:
    """The non-empty ranks are exactly 1..n."""
    ranks = pl.col(rank).drop_nulls().sort()
    expected = pl.int_range(1, pl.col(rank).drop_nulls().len() + 1, dtype=pl.Int64)
    return data.lazyframe.select((ranks == expected).all())


class HeadlineColumns(pa.DataFrameModel):
    """The overview KPIs, in the catalogue's units (money in KES, ratios as fractions)."""

    net_sales: pl.Float64
    cogs: pl.Float64
    gross_profit: pl.Float64
    gross_margin_pct: pl.Float64 = pa.Field(nullable=True)
    orders: pl.Int64 = pa.Field(ge=0)
    units: pl.Float64
    aov: pl.Float64 = pa.Field(nullable=True)
    upt: pl.Float64 = pa.Field(nullable=True)
    active_customers: pl.Int64 = pa.Field(ge=0)
    discount_rate: pl.Float64 = pa.Field(nullable=True)

    @pa.dataframe_check(error="gross_profit must be net_sales - cogs")
    @classmethod
    def profit_is_net_less_cogs(cls, data: pa.PolarsData) -> pl.LazyFrame:
        diff = pl.col("net_sales") - pl.col("cogs") - pl.col("gross_profit")
        return data.lazyframe.select(diff.abs() <= MONEY_TOLERANCE)

    @pa.dataframe_check(error="gross_margin_pct must be gross_profit / net_sales")
    @classmethod
    def margin_is_ratio(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _ratio_consistent(data, "gross_margin_pct", "gross_profit", "net_sales")

    @pa.dataframe_check(error="aov must be net_sales / orders")
    @classmethod
    def aov_is_ratio(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _ratio_consistent(data, "aov", "net_sales", "orders")

    @pa.dataframe_check(error="upt must be units / orders")
    @classmethod
    def upt_is_ratio(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _ratio_consistent(data, "upt", "units", "orders")

    @pa.dataframe_check(error="with no orders there are no customers and no sales")
    @classmethod
    def nothing_without_orders(cls, data: pa.PolarsData) -> pl.LazyFrame:
        empty = pl.col("orders") == 0
        ok = ~empty | (
            (pl.col("active_customers") == 0)
            & (pl.col("net_sales") == 0)
            & pl.col("discount_rate").is_null()
        )
        return data.lazyframe.select(ok)


class OverviewTable(HeadlineColumns):
    """`overview`: one row; `<kpi>_prev` and `<kpi>_growth_pct` with a comparison."""

    net_sales_prev: pl.Float64 | None
    cogs_prev: pl.Float64 | None
    gross_profit_prev: pl.Float64 | None
    gross_margin_pct_prev: pl.Float64 | None = pa.Field(nullable=True)
    orders_prev: pl.Int64 | None = pa.Field(ge=0)
    units_prev: pl.Float64 | None
    aov_prev: pl.Float64 | None = pa.Field(nullable=True)
    upt_prev: pl.Float64 | None = pa.Field(nullable=True)
    active_customers_prev: pl.Int64 | None = pa.Field(ge=0)
    discount_rate_prev: pl.Float64 | None = pa.Field(nullable=True)
    net_sales_growth_pct: pl.Float64 | None = pa.Field(nullable=True)
    cogs_growth_pct: pl.Float64 | None = pa.Field(nullable=True)
    gross_profit_growth_pct: pl.Float64 | None = pa.Field(nullable=True)
    gross_margin_pct_growth_pct: pl.Float64 | None = pa.Field(nullable=True)
    orders_growth_pct: pl.Float64 | None = pa.Field(nullable=True)
    units_growth_pct: pl.Float64 | None = pa.Field(nullable=True)
    aov_growth_pct: pl.Float64 | None = pa.Field(nullable=True)
    upt_growth_pct: pl.Float64 | None = pa.Field(nullable=True)
    active_customers_growth_pct: pl.Float64 | None = pa.Field(nullable=True)
    discount_rate_growth_pct: pl.Float64 | None = pa.Field(nullable=True)
    # Where the view has a target (core/kpi/targets.py).
    target: pl.Float64 | None = pa.Field(gt=0)
    attainment_pct: pl.Float64 | None = pa.Field(nullable=True)

    class Config:
        strict = True

    @pa.dataframe_check(error="the overview has exactly one row")
    @classmethod
    def one_row(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.len() == 1)

    @pa.dataframe_check(error="net_sales_growth_pct must be (net_sales - prev) / prev")
    @classmethod
    def growth_is_ratio(cls, data: pa.PolarsData) -> pl.LazyFrame:
        if "net_sales_prev" not in data.lazyframe.collect_schema():
            return data.lazyframe.select(pl.lit(True))
        lf = data.lazyframe.with_columns(_change=pl.col("net_sales") - pl.col("net_sales_prev"))
        return _ratio_consistent(
            pa.PolarsData(lf, data.key), "net_sales_growth_pct", "_change", "net_sales_prev"
        )


class TrendTable(HeadlineColumns):
    """`trend`: one row per time bucket (`period` = bucket start, every bucket listed)."""

    period: pl.Date = pa.Field(unique=True)

    class Config:
        strict = True


class _Leaderboard(HeadlineColumns):
    """Per member: headline KPIs, share, rank; comparison columns when asked for."""

    share_of_net_sales: pl.Float64 = pa.Field(nullable=True)
    rank: pl.Int64 = pa.Field(ge=1)
    net_sales_prev: pl.Float64 | None = pa.Field(nullable=True)
    growth_pct: pl.Float64 | None = pa.Field(nullable=True)
    rank_prev: pl.Int64 | None = pa.Field(ge=1, nullable=True)
    rank_change: pl.Int64 | None = pa.Field(nullable=True)
    # Where any member has a target in the window (core/kpi/targets.py).
    target: pl.Float64 | None = pa.Field(gt=0, nullable=True)
    attainment_pct: pl.Float64 | None = pa.Field(nullable=True)

    @pa.dataframe_check(error="shares of net sales must sum to 1")
    @classmethod
    def shares_sum_to_one(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _shares_sum_to_one(data, "share_of_net_sales", "net_sales")

    @pa.dataframe_check(error="shares must lie in [0, 1] when no member is negative")
    @classmethod
    def shares_in_range(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _share_in_unit_interval(data, "share_of_net_sales", "net_sales")

    @pa.dataframe_check(error="rank must be a permutation of 1..n")
    @classmethod
    def rank_permutation(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _rank_is_permutation(data, "rank")

    @pa.dataframe_check(error="rank_prev must be a permutation of 1..n over ranked members")
    @classmethod
    def rank_prev_permutation(cls, data: pa.PolarsData) -> pl.LazyFrame:
        if "rank_prev" not in data.lazyframe.collect_schema():
            return data.lazyframe.select(pl.lit(True))
        return _rank_is_permutation(data, "rank_prev")

    @pa.dataframe_check(error="rank_change must be rank_prev - rank")
    @classmethod
    def rank_change_is_difference(cls, data: pa.PolarsData) -> pl.LazyFrame:
        if "rank_change" not in data.lazyframe.collect_schema():
            return data.lazyframe.select(pl.lit(True))
        expected = pl.col("rank_prev") - pl.col("rank")
        return data.lazyframe.select(pl.col("rank_change").eq_missing(expected))

    @pa.dataframe_check(error="rows must be sorted by rank")
    @classmethod
    def sorted_by_rank(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("rank").diff().fill_null(1) > 0)


class SalespeopleTable(_Leaderboard):
    """`salespeople`: `active_customers` is the customers each one served."""

    salesperson: str = pa.Field(unique=True)

    class Config:
        strict = True


class BranchesTable(_Leaderboard):
    """`branches`: every branch in scope, a branch without sales as zeros."""

    branch: str = pa.Field(unique=True)

    class Config:
        strict = True


class ProductLinesTable(_Leaderboard):
    """`product-lines`: plus the average selling price (net sales / units)."""

    product_line: str = pa.Field(unique=True)
    avg_selling_price: pl.Float64 = pa.Field(nullable=True)

    class Config:
        strict = True

    @pa.dataframe_check(error="avg_selling_price must be net_sales / units")
    @classmethod
    def asp_is_ratio(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _ratio_consistent(data, "avg_selling_price", "net_sales", "units")


class ProductsTable(pa.DataFrameModel):
    """`products`: Pareto order (net sales desc, ties by id), ABC class, slow movers."""

    product_id: str = pa.Field(unique=True)
    product_name: str
    product_line: str
    net_sales: pl.Float64
    gross_profit: pl.Float64
    gross_margin_pct: pl.Float64 = pa.Field(nullable=True)
    units: pl.Float64
    avg_selling_price: pl.Float64 = pa.Field(nullable=True)
    cumulative_share: pl.Float64 = pa.Field(nullable=True)
    abc_class: str = pa.Field(isin=["A", "B", "C"], nullable=True)
    orders: pl.Int64 = pa.Field(ge=0)
    last_sale: pl.Date = pa.Field(nullable=True)
    slow_mover: pl.Boolean | None
    days_since_last_sale: pl.Int64 | None = pa.Field(ge=0, nullable=True)

    class Config:
        strict = True

    @pa.dataframe_check(error="products must be sorted by net sales desc, ties by product_id")
    @classmethod
    def pareto_order(cls, data: pa.PolarsData) -> pl.LazyFrame:
        previous = pl.col("net_sales").shift(1)
        ok = (
            previous.is_null()
            | (previous > pl.col("net_sales"))
            | (
                (previous == pl.col("net_sales"))
                & (pl.col("product_id").shift(1) < pl.col("product_id"))
            )
        )
        return data.lazyframe.select(ok)

    @pa.dataframe_check(error="cumulative_share must end at 1 (empty when total is 0)")
    @classmethod
    def pareto_ends_at_one(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.when(pl.len() == 0)
            .then(True)
            .when(pl.col("net_sales").sum() == 0)
            .then(pl.col("cumulative_share").is_null().all())
            .otherwise((pl.col("cumulative_share").last() - 1).abs() <= RATIO_TOLERANCE)
        )

    @pa.dataframe_check(
        error="cumulative_share must rise within [0, 1] when no product is negative"
    )
    @classmethod
    def pareto_monotone(cls, data: pa.PolarsData) -> pl.LazyFrame:
        negative = (pl.col("net_sales") < 0).any()
        share = pl.col("cumulative_share")
        rising = share.diff().fill_null(0) >= -RATIO_TOLERANCE
        inside = share.is_between(-RATIO_TOLERANCE, 1 + RATIO_TOLERANCE)
        return data.lazyframe.select(negative | share.is_null() | (rising & inside))

    @pa.dataframe_check(error="ABC classes must follow the Pareto order (A, then B, then C)")
    @classmethod
    def abc_in_order(cls, data: pa.PolarsData) -> pl.LazyFrame:
        letter = pl.col("abc_class")
        ok = letter.is_null() | (letter.shift(1).is_null() | (letter.shift(1) <= letter))
        return data.lazyframe.select(ok)

    @pa.dataframe_check(error="gross_margin_pct must be gross_profit / net_sales")
    @classmethod
    def margin_is_ratio(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _ratio_consistent(data, "gross_margin_pct", "gross_profit", "net_sales")

    @pa.dataframe_check(error="avg_selling_price must be net_sales / units")
    @classmethod
    def asp_is_ratio(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _ratio_consistent(data, "avg_selling_price", "net_sales", "units")


class CustomersTable(pa.DataFrameModel):
    """`customers`: RFM per customer with a purchase in the window (no walk-ins)."""

    customer_id: str = pa.Field(unique=True, str_length={"min_value": 1})
    customer_name: str = pa.Field(nullable=True)
    customer_type: str = pa.Field(nullable=True)
    first_purchase: pl.Date
    last_purchase: pl.Date
    recency_days: pl.Int64 = pa.Field(ge=0)
    frequency: pl.Int64 = pa.Field(ge=1)
    monetary: pl.Float64
    gross_profit: pl.Float64
    r_score: pl.Int64 = pa.Field(in_range={"min_value": 1, "max_value": 5})
    f_score: pl.Int64 = pa.Field(in_range={"min_value": 1, "max_value": 5})
    m_score: pl.Int64 = pa.Field(in_range={"min_value": 1, "max_value": 5})
    segment: str = pa.Field(isin=list(SEGMENT_NAMES))
    rfm_note: str = pa.Field(nullable=True)

    class Config:
        strict = True

    @pa.dataframe_check(error="first_purchase must not be after last_purchase")
    @classmethod
    def first_before_last(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("first_purchase") <= pl.col("last_purchase"))

    @pa.dataframe_check(error="a better recency (fewer days) never scores lower")
    @classmethod
    def recency_scores_ordered(cls, data: pa.PolarsData) -> pl.LazyFrame:
        ordered = data.lazyframe.sort("recency_days", "r_score", descending=[True, False])
        return ordered.select(pl.col("r_score").diff().fill_null(0) >= 0)

    @pa.dataframe_check(error="a higher monetary value never scores lower")
    @classmethod
    def monetary_scores_ordered(cls, data: pa.PolarsData) -> pl.LazyFrame:
        ordered = data.lazyframe.sort("monetary", "m_score")
        return ordered.select(pl.col("m_score").diff().fill_null(0) >= 0)


class CohortsTable(pa.DataFrameModel):
    """`cohorts`: retention by month of first-ever purchase."""

    cohort: str = pa.Field(str_matches=r"^\d{4}-(0[1-9]|1[0-2])$")
    months_since: pl.Int64 = pa.Field(ge=0)
    customers: pl.Int64 = pa.Field(ge=0)  # 0: none of the cohort bought that month
    cohort_size: pl.Int64 = pa.Field(ge=1)
    retention_pct: pl.Float64 = pa.Field(in_range=UNIT_INTERVAL)

    class Config:
        strict = True
        unique = ["cohort", "months_since"]  # noqa: RUF012 (pandera reads a list)

    @pa.dataframe_check(error="retention_pct must be customers / cohort_size")
    @classmethod
    def retention_is_ratio(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _ratio_consistent(data, "retention_pct", "customers", "cohort_size")

    @pa.dataframe_check(error="month 0 of a cohort is the whole cohort")
    @classmethod
    def month_zero_is_everyone(cls, data: pa.PolarsData) -> pl.LazyFrame:
        ok = (pl.col("months_since") != 0) | (pl.col("customers") == pl.col("cohort_size"))
        return data.lazyframe.select(ok)


class BranchLineMixTable(pa.DataFrameModel):
    """Branch x product line: net sales, gross profit, margin, share of the branch."""

    branch: str
    product_line: str
    net_sales: pl.Float64
    gross_profit: pl.Float64
    gross_margin_pct: pl.Float64 = pa.Field(nullable=True)
    share_of_branch: pl.Float64 = pa.Field(nullable=True)

    class Config:
        strict = True
        unique = ["branch", "product_line"]  # noqa: RUF012 (pandera reads a list)

    @pa.dataframe_check(error="each branch's line shares must sum to 1")
    @classmethod
    def shares_sum_to_one_per_branch(cls, data: pa.PolarsData) -> pl.LazyFrame:
        per_branch = data.lazyframe.group_by("branch").agg(
            total=pl.col("net_sales").sum(), shares=pl.col("share_of_branch").sum()
        )
        ok = (pl.col("total") == 0) | ((pl.col("shares") - 1).abs() <= RATIO_TOLERANCE)
        return per_branch.select(ok)


class BranchMonthTable(pa.DataFrameModel):
    """Branch x calendar month net sales and gross profit."""

    branch: str
    period: pl.Date
    net_sales: pl.Float64
    gross_profit: pl.Float64

    class Config:
        strict = True
        unique = ["branch", "period"]  # noqa: RUF012 (pandera reads a list)

    @pa.dataframe_check(error="period must be a month's first day")
    @classmethod
    def month_starts(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("period").dt.day() == 1)


class NewVsReturningTable(pa.DataFrameModel):
    """Active customers split by first-ever purchase inside the window or before."""

    status: str = pa.Field(isin=["new", "returning"], unique=True)
    customers: pl.Int64 = pa.Field(ge=0)
    net_sales: pl.Float64
    orders: pl.Int64 = pa.Field(ge=0)
    share_of_customers: pl.Float64 = pa.Field(in_range=UNIT_INTERVAL, nullable=True)

    class Config:
        strict = True

    @pa.dataframe_check(error="customer shares must sum to 1")
    @classmethod
    def shares_sum_to_one(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _shares_sum_to_one(data, "share_of_customers", "customers")


class ConcentrationTable(pa.DataFrameModel):
    """Share of customers' net sales from the top 10% and 20% of customers."""

    top_pct: pl.Float64 = pa.Field(isin=[0.10, 0.20], unique=True)
    customers: pl.Int64 = pa.Field(ge=0)
    net_sales: pl.Float64
    share_of_net_sales: pl.Float64 = pa.Field(nullable=True)

    class Config:
        strict = True

    @pa.dataframe_check(error="a larger top group never holds fewer customers")
    @classmethod
    def nested_groups(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.sort("top_pct").select(pl.col("customers").diff().fill_null(0) >= 0)


class TargetsTable(pa.DataFrameModel):
    """`targets`: each target with a month in the window, prorated, beside its actual."""

    member: str
    branch: str = pa.Field(nullable=True)
    salesperson: str = pa.Field(nullable=True)
    product_line: str = pa.Field(nullable=True)
    month: str = pa.Field(str_matches=r"^\d{4}-\d{2}$")
    days_in_window: pl.Int64 = pa.Field(ge=1, le=31)
    target: pl.Float64 = pa.Field(gt=0)
    actual: pl.Float64
    attainment_pct: pl.Float64 = pa.Field(nullable=True)
    target_gross_profit: pl.Float64 = pa.Field(nullable=True)
    actual_gross_profit: pl.Float64
    gross_profit_attainment_pct: pl.Float64 = pa.Field(nullable=True)

    class Config:
        strict = True

    @pa.dataframe_check(error="attainment_pct must be actual / target")
    @classmethod
    def attainment_is_ratio(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _ratio_consistent(data, "attainment_pct", "actual", "target")


# Export areas (docs/contract.md, "Export columns") -> their output model.
class ForecastTable(pa.DataFrameModel):
    """`forecast`: per branch (and "All branches") and day or month, the forecast inside
    its 80% interval, inside its 95% interval."""

    branch: pl.String
    period: pl.Date
    forecast: pl.Float64
    lo_80: pl.Float64
    hi_80: pl.Float64
    lo_95: pl.Float64
    hi_95: pl.Float64

    @pa.dataframe_check(error="intervals must nest: lo_95 <= lo_80 <= forecast <= hi_80 <= hi_95")
    @classmethod
    def intervals_nest(cls, data: pa.PolarsData) -> pl.LazyFrame:
        ends = ("lo_95", "lo_80", "forecast", "hi_80", "hi_95")
        return data.lazyframe.select(
            pl.all_horizontal(pl.col(a) <= pl.col(b) for a, b in pairwise(ends))
        )

    @pa.dataframe_check(error="one row per branch and period")
    @classmethod
    def one_row_each(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.struct("branch", "period").is_duplicated())

    class Config:
        strict = True


AREA_SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    "overview": OverviewTable,
    "trend": TrendTable,
    "salespeople": SalespeopleTable,
    "products": ProductsTable,
    "product-lines": ProductLinesTable,
    "branches": BranchesTable,
    "customers": CustomersTable,
    "cohorts": CohortsTable,
    "targets": TargetsTable,
    "forecast": ForecastTable,
    **PIPELINE_AREA_SCHEMAS,
}


def validate_area(area: str, table: pl.DataFrame) -> pl.DataFrame:
    """Validate an area's collected output table, reporting every failure at once.

    Raises
    ------
    pandera.errors.SchemaErrors
        If any column, dtype, range or table rule fails.
    """
    return AREA_SCHEMAS[area].validate(table, lazy=True)
