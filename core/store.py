"""The store protocol: the few operations KPIs need, answered by aggregation.

Both stores (embedded Delta table, Druid) implement `SalesStore`. KPI code
only ever sees the small frames `aggregate` returns, never raw lines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol

import polars as pl

Grain = Literal["day", "week", "month", "quarter", "year"]
GRAINS: tuple[Grain, ...] = ("day", "week", "month", "quarter", "year")

# Dimensions a query may group or filter by; anything else is refused.
DIMENSIONS: tuple[str, ...] = (
    "branch",
    "salesperson",
    "product_line",
    "product_id",
    "product_name",
    "customer_id",
    "customer_type",
    "payment_method",
)

# Attributes `aggregate` can return as of each group's most recent line.
LATEST_COLUMNS: tuple[str, ...] = ("customer_name", "customer_type", "product_name", "product_line")

SUM_MEASURES: tuple[str, ...] = (
    "gross_sales",
    "discount",
    "net_sales",
    "cogs",
    "gross_profit",
    "units",
    "lines",
)
DISTINCT_MEASURES: tuple[str, ...] = ("orders", "customers")
DATE_MEASURES: tuple[str, ...] = ("first_sale", "last_sale")
# The instant (UTC) of the group's most recent line: what decides its `latest` values.
TIME_MEASURES: tuple[str, ...] = ("last_sold_at",)
MEASURES: tuple[str, ...] = (*SUM_MEASURES, *DISTINCT_MEASURES, *DATE_MEASURES, *TIME_MEASURES)

MEASURE_DTYPES: dict[str, pl.DataType] = {
    **{m: pl.Float64() for m in SUM_MEASURES if m != "lines"},
    "lines": pl.Int64(),
    "orders": pl.Int64(),
    "customers": pl.Int64(),
    "first_sale": pl.Date(),
    "last_sale": pl.Date(),
    "last_sold_at": pl.Datetime("us", "UTC"),
}

WriteMode = Literal["append", "replace"]
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class Window:
    """An inclusive range of business days."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"window start {self.start} is after its end {self.end}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def overlaps(self, other: Window | None) -> bool:
        """Whether the two windows share a day (never with no window)."""
        return other is not None and self.start <= other.end and self.end >= other.start


@dataclass(frozen=True)
class Scope:
    """Which lines a query sees, apart from time.

    An empty tuple means "no restriction" for the requested members.
    `allowed_branches` is the user's role restriction: `None` means every
    branch, a tuple limits every query to those branches whatever else is
    asked (an empty tuple therefore matches nothing). `customers` and
    `invoices` are no filter of a page: the influenced revenue reads only the
    invoices won deals name and their customers' lines, a few thousand of millions.
    """

    branches: tuple[str, ...] = ()
    product_lines: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    salespeople: tuple[str, ...] = ()
    allowed_branches: tuple[str, ...] | None = None
    customers: tuple[str, ...] = ()
    invoices: tuple[str, ...] = ()

    def member_filters(self) -> list[tuple[str, tuple[str, ...]]]:
        """The (column, allowed values) conditions every store must AND together."""
        conditions = [
            ("branch", self.branches),
            ("product_line", self.product_lines),
            ("product_id", self.products),
            ("salesperson", self.salespeople),
            ("customer_id", self.customers),
            ("invoice_id", self.invoices),
        ]
        result = [(column, values) for column, values in conditions if values]
        if self.allowed_branches is not None:
            result.append(("branch", self.allowed_branches))
        return result


@dataclass(frozen=True)
class WriteResult:
    """What a write changed."""

    inserted: int
    updated: int
    replaced: int
    window: Window | None


@dataclass(frozen=True)
class TargetWriteResult:
    """What a write of targets changed."""

    inserted: int
    updated: int
    removed: int


@dataclass(frozen=True)
class StoreHealth:
    """What the Diagnostics page and `python -m core.health` show."""

    backend: str
    ok: bool
    detail: str
    facts: dict[str, Any] = field(default_factory=dict)


class StoreError(RuntimeError):
    """The store cannot answer or write; the message is fit for a user."""


class SalesStore(Protocol):
    """What every store answers. Implementations: embedded, druid."""

    name: str

    def aggregate(
        self,
        scope: Scope,
        window: Window | None,
        by: tuple[str, ...] = (),
        grain: Grain | None = None,
        measures: tuple[str, ...] = MEASURES,
        latest: tuple[str, ...] = (),
    ) -> pl.DataFrame:
        """Measures per group of `by` (and `period`, the bucket start, if `grain`).

        With no `by` and no `grain` the result has exactly one row, even when
        nothing matches (sums 0, counts 0, dates null). Sales are grouped by
        their business day in the business time zone. `orders` counts distinct
        invoices, `customers` distinct non-empty customer ids. Each column of
        `latest` (one of `LATEST_COLUMNS`) follows the measures, holding its
        value on the group's most recent line that has one (null only if no
        line has): a customer's current name without grouping by every name
        it ever had.
        """
        ...

    def active_months(self, scope: Scope, window: Window) -> pl.DataFrame:
        """`customer_id`, `period`: each customer with an id, and each month (its first
        day, business time) in which they bought within `window`, once.

        What cohort retention asks: whether a customer bought in a month, not what.
        """
        ...

    def distinct_values(self, column: str, scope: Scope) -> list[str]:
        """Sorted distinct non-empty values of a dimension within `scope`."""
        ...

    def date_range(self, scope: Scope) -> Window | None:
        """First and last business day with a sale in `scope`, or None if empty."""
        ...

    def count_lines(self, scope: Scope, window: Window | None) -> int:
        """Number of stored lines in `scope` and `window`."""
        ...

    def write(
        self,
        lines: pl.DataFrame,
        mode: WriteMode,
        replace_window: Window | None = None,
        progress: Progress | None = None,
    ) -> WriteResult:
        """Store validated lines (a `StoredLine` frame) all-or-nothing.

        `append` inserts new lines and updates lines whose
        `(invoice_id, line_no)` is already stored. `replace` deletes every
        stored line in `replace_window` (default: the lines' own date range)
        and writes the lines, in one transaction.
        """
        ...

    def read_targets(self) -> pl.DataFrame:
        """Every stored target (`core.targets.StoredTarget` columns), sorted by month and slice.

        Targets are a small table (a row per month and slice): the KPIs filter
        them in Polars, by the same scope rules as the lines (core/kpi/targets.py).
        """
        ...

    def write_targets(
        self, targets: pl.DataFrame, removed: pl.DataFrame | None = None
    ) -> TargetWriteResult:
        """Store validated targets (`StoredTarget` columns) all-or-nothing.

        A target whose month and slice is already stored replaces it; `removed`
        (month and slice columns) names stored targets to delete in the same
        transaction.
        """
        ...

    def health(self) -> StoreHealth:
        """Whether the store answers, and facts about it."""
        ...

    def data_version(self) -> str:
        """A token that changes whenever stored data changes (cache keys use it)."""
        ...


def active_months_grouped(store: SalesStore, scope: Scope, window: Window) -> pl.DataFrame:
    """`SalesStore.active_months` as a group-by of lines by customer and month: the
    embedded store's answer, and Druid's for a window too long for a mask."""
    months = store.aggregate(scope, window, ("customer_id",), "month", ("lines",))
    return months.filter(pl.col("customer_id").is_not_null()).select("customer_id", "period")


def asks_first_sales(
    scope: Scope,
    window: Window | None,
    by: tuple[str, ...],
    grain: Grain | None,
    measures: tuple[str, ...],
    latest: tuple[str, ...],
) -> bool:
    """Whether an `aggregate` asks every customer's first sale over all time, unfiltered:
    what both stores keep beside their lines at each write."""
    return (
        not scope.member_filters()
        and window is None
        and by == ("customer_id",)
        and grain is None
        and measures == ("first_sale",)
        and not latest
    )


def replaced_window(lines: pl.DataFrame, window: Window | None) -> Window:
    """The days a `replace` write makes `lines` the whole of: `window`, or the lines'
    own span when None. Refuses a line outside it, and no window with no line."""
    if window is None:
        if lines.is_empty():
            raise StoreError("replace needs a date range or at least one line")
        window = Window(lines["sale_date"].min(), lines["sale_date"].max())  # type: ignore[arg-type]
    outside = lines.filter(~pl.col("sale_date").is_between(window.start, window.end))
    if not outside.is_empty():
        first = outside.row(0, named=True)
        raise StoreError(
            f"{len(outside)} lines fall outside the range {window.start}..{window.end} "
            f"being replaced (first: invoice {first['invoice_id']} on {first['sale_date']})"
        )
    return window
