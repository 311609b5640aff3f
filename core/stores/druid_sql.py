"""Druid SQL text for the store's queries, built only from names this module knows.

User values (members, dates) never enter the text: each becomes a `?`
placeholder with a typed parameter. Column names come from the fixed
`DIMENSIONS`/`MEASURES` tuples and are refused otherwise, so the text of
any query is one of a finite set of shapes.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl

from core.schema import TEXT_COLUMNS  # what a query may group by, beyond DIMENSIONS
from core.store import DIMENSIONS, LATEST_COLUMNS, MEASURES, Grain, Scope, Window
from core.stores.druid_http import SqlParameter, parameter

# Druid period per grain; TIME_FLOOR aligns P1W to Monday and P3M to calendar quarters
# (both counted from 1970-01-01 in the query's time zone).
PERIODS: dict[str, str] = {
    "day": "P1D",
    "week": "P1W",
    "month": "P1M",
    "quarter": "P3M",
    "year": "P1Y",
}

DAY = "'yyyy-MM-dd'"


HEAD_COLUMNS: tuple[str, ...] = ("invoice_head", "line_head", "product_head")

MEASURE_SQL: dict[str, str] = {
    "gross_sales": 'SUM("gross_sales")',
    "discount": 'SUM("discount")',
    "net_sales": 'SUM("net_sales")',
    "cogs": 'SUM("cogs")',
    "gross_profit": 'SUM("gross_profit")',
    "units": 'SUM("quantity")',
    "lines": "COUNT(*)",
    "orders": 'COUNT(DISTINCT "invoice_id")',
    # A walk-in's id is null (the data contract refuses a blank one), which COUNT(DISTINCT)
    # leaves out. A CASE keeping '' out as well was an expression per line that Druid cannot
    # vectorize: a year of 10M lines 0.55 -> 0.25 s without it.
    "customers": 'COUNT(DISTINCT "customer_id")',
    "first_sale": f'TIME_FORMAT(MIN("__time"), {DAY})',
    "last_sale": f'TIME_FORMAT(MAX("__time"), {DAY})',
    # Epoch milliseconds: free of the query's time zone (the store reads them as UTC).
    "last_sold_at": 'TIMESTAMP_TO_MILLIS(MAX("__time"))',
}
assert set(MEASURE_SQL) == set(MEASURES)


# An `IN` list of more values than this is planned as a join with the values inline.
# Druid 27 plans a longer list as one OR term per value, in time growing faster than
# the list: an invoice's lines over a year took 1.07 s for 1,000 ids as OR terms and
# 0.13 s as a join, 15 s for 9,000 ids (in queries of 1,000) and 1.1 s as one join;
# below about a hundred values the OR terms are faster (0.06 s for 30 ids, 0.12 s).
IN_LIST_AS_JOIN = 100


def query_context(timezone: str) -> dict[str, Any]:
    """The context of every read: exact counts, exact top-N, business time zone, long
    `IN` lists joined (`IN_LIST_AS_JOIN`)."""
    return {
        "sqlTimeZone": timezone,
        "useApproximateCountDistinct": False,
        "useApproximateTopN": False,
        # Several exact COUNT(DISTINCT) in one query are planned as grouping sets.
        "useGroupingSetForExactDistinct": True,
        "inSubQueryThreshold": IN_LIST_AS_JOIN,
    }


def quote(name: str) -> str:
    """A double-quoted identifier (names here are known constants, never user text)."""
    return '"' + name.replace('"', '""') + '"'


def sql_string(text: str) -> str:
    """A single-quoted SQL literal of our own text, for statements that take no
    parameters (MSQ ingestion)."""
    return "'" + text.replace("'", "''") + "'"


def check_dimension(column: str, allowed: tuple[str, ...] = DIMENSIONS) -> str:
    """`column` if it is one of `allowed` (known names only ever reach the SQL text)."""
    if column not in allowed:
        raise ValueError(f"unknown column {column!r}: expected one of {', '.join(allowed)}")
    return column


def matches_nothing(scope: Scope) -> bool:
    """An empty allowed-branches list: no line matches, so no query is needed.

    (Druid 27 cannot plan a constant-false filter around aggregates.)
    """
    return any(not values for _, values in scope.member_filters())


def where(scope: Scope, window: Window | None) -> tuple[str, list[SqlParameter]]:
    """WHERE text and parameters for a scope and an inclusive window of business days.

    The window becomes a half-open range on `__time` (midnight of the first
    day to midnight after the last, in the query's time zone), so Druid prunes
    segments by time.
    """
    conditions: list[str] = []
    params: list[SqlParameter] = []
    if window is not None:
        conditions.append('"__time" >= ? AND "__time" < ?')
        params += [parameter(window.start), parameter(window.end + timedelta(days=1))]
    for column, values in scope.member_filters():
        check_dimension(column, TEXT_COLUMNS)
        if not values:
            raise ValueError("an empty member list matches nothing: check matches_nothing() first")
        conditions.append(f"{quote(column)} IN ({', '.join('?' * len(values))})")
        params += [parameter(v) for v in values]
    return (" WHERE " + " AND ".join(conditions) if conditions else ""), params


def group_keys(by: tuple[str, ...], grain: Grain | None) -> tuple[list[str], list[str]]:
    """GROUP BY expressions and their SELECT items: the `by` columns, then `period`.

    The period is grouped as the bare TIME_FLOOR, which Druid turns into the
    query's granularity; grouped as its TIME_FORMAT text it is a string per
    line (10M lines, a year by month: sums 0.67 -> 0.32 s, distinct customers
    2.6 -> 1.1 s). It comes back as the bucket's local start with its offset,
    `2025-11-01T00:00:00.000+03:00`, whose first ten characters are the day
    (`day_of`).
    """
    keys = [quote(check_dimension(column, TEXT_COLUMNS)) for column in by]
    select = list(keys)
    if grain is not None:
        period = f"TIME_FLOOR(\"__time\", '{PERIODS[grain]}')"
        keys.append(period)
        select.append(f'{period} AS "period"')
    return keys, select


def day_of(text: pl.Expr) -> pl.Expr:
    """A period (local timestamp with offset) or a first/last sale (a formatted day) as a date."""
    return text.str.slice(0, len("yyyy-MM-dd")).str.to_date("%Y-%m-%d")


# Lines among a query's lines whose invoice heads cannot be trusted: the invoice is not
# uniform, or the line predates the flags (null). Any such line and `orders` is recounted.
# A filtered count, not SUM(CASE ...): Druid cannot vectorize a CASE, and one such
# expression runs the whole query row by row (a year of 10M lines: sums 337 -> 135 ms,
# by salesperson 452 -> 190 ms).
UNSURE = "orders_unsure"
UNSURE_SQL = 'COUNT(*) FILTER (WHERE "invoice_uniform" IS NULL OR "invoice_uniform" <> 1)'


def aggregate(
    datasource: str,
    scope: Scope,
    window: Window | None,
    by: tuple[str, ...],
    grain: Grain | None,
    measures: tuple[str, ...],
    orders_head: str | None = None,
) -> tuple[str, list[SqlParameter]]:
    """SQL for `SalesStore.aggregate`: one row per group of `by` (and `period`).

    With `orders_head` (see `core.stores.invoice_heads`), `orders` is the sum
    of that head flag and the row also carries `UNSURE`, the number of lines
    whose flags do not count (0 means the sum is the exact distinct count).
    """
    unknown = set(measures) - set(MEASURE_SQL)
    if unknown:
        raise ValueError(f"unknown measures: {sorted(unknown)}")
    keys, select = group_keys(by, grain)
    sql_of = dict(MEASURE_SQL)
    if orders_head is not None and "orders" in measures:
        sql_of["orders"] = f"SUM({quote(check_dimension(orders_head, HEAD_COLUMNS))})"
    select += [f"{sql_of[m]} AS {quote(m)}" for m in measures]
    if orders_head is not None and "orders" in measures:
        select.append(f"{UNSURE_SQL} AS {quote(UNSURE)}")
    if not select:
        select = ['COUNT(*) AS "lines"']
    text, params = where(scope, window)
    sql = f"SELECT {', '.join(select)} FROM {quote(datasource)}{text}"
    if keys:
        sql += f" GROUP BY {', '.join(keys)}"
    return sql, params


LATEST_TIME = "latest_ms"


def latest_values(
    datasource: str,
    scope: Scope,
    window: Window | None,
    by: tuple[str, ...],
    grain: Grain | None,
    latest: tuple[str, ...],
) -> tuple[str, list[SqlParameter]]:
    """Each combination of `latest` values per group, with its last sale (`LATEST_TIME`).

    The store keeps, per group and column, the value of the combination sold
    last. Druid's own LATEST() would do it in one pass but costs 3-15x this
    group-by here: it reserves its full byte budget for every group.
    """
    columns = [quote(check_dimension(c, LATEST_COLUMNS)) for c in latest]
    keys, select = group_keys(by, grain)
    select += [*columns, f'TIMESTAMP_TO_MILLIS(MAX("__time")) AS {quote(LATEST_TIME)}']
    text, params = where(scope, window)
    groups = ", ".join([*keys, *columns])
    return f"SELECT {', '.join(select)} FROM {quote(datasource)}{text} GROUP BY {groups}", params


# A customer's months in a window, or the members they bought from, as the bits of one
# BIGINT: at most 62 of them, so the mask stays positive. More group as before.
MAX_MASK_BITS = 62


def month_number(day: date) -> int:
    """Months since year 0: consecutive months differ by one."""
    return day.year * 12 + day.month


def window_months(window: Window) -> int:
    """How many calendar months `window` touches (a bit each in `active_months`)."""
    return month_number(window.end) - month_number(window.start) + 1


def active_months(datasource: str, scope: Scope, window: Window) -> tuple[str, list[SqlParameter]]:
    """Per customer, the months of `window` they bought in, as a mask: bit k is the k-th
    month from the window's first (months in the query's time zone).

    One row per customer instead of one per customer and month: a year of 10M lines,
    43,000 rows instead of 336,000, which Druid groups and sends in about half the time.
    """
    if window_months(window) > MAX_MASK_BITS:
        raise ValueError(f"a window of more than {MAX_MASK_BITS} months has no mask")
    text, params = where(scope, window)
    month = 'EXTRACT(YEAR FROM "__time") * 12 + EXTRACT(MONTH FROM "__time")'
    sql = (
        f'SELECT "customer_id", BIT_OR(BITWISE_SHIFT_LEFT(1, {month} - ?)) AS "mask" '
        f'FROM {quote(datasource)}{text} GROUP BY "customer_id"'
    )
    return sql, [parameter(month_number(window.start)), *params]


def customer_masks(
    datasource: str,
    scope: Scope,
    window: Window | None,
    column: str,
    members: list[str],
) -> tuple[str, list[SqlParameter]]:
    """Per customer, which of `members` of `column` they bought from: bit k for
    `members[k]`, the bit after the last for a line without one.

    Distinct customers per member are then the customers with each bit set. Druid
    groups by customer alone instead of by member and customer, the nested group-by
    an exact COUNT(DISTINCT) per member needs: a year of 10M lines by product line,
    0.73-0.82 -> 0.41-0.55 s.
    """
    if len(members) + 1 > MAX_MASK_BITS:
        raise ValueError(f"more than {MAX_MASK_BITS - 1} members have no mask")
    name = quote(check_dimension(column, TEXT_COLUMNS))
    cases = " ".join(f"WHEN {name} = ? THEN {1 << k}" for k in range(len(members)))
    bit = f"CASE {cases} WHEN {name} IS NULL THEN {1 << len(members)} ELSE 0 END"
    text, params = where(scope, window)
    sql = (
        f'SELECT "customer_id", BIT_OR({bit}) AS "mask" '
        f'FROM {quote(datasource)}{text} GROUP BY "customer_id"'
    )
    return sql, [*(parameter(m) for m in members), *params]


def distinct_values(datasource: str, column: str, scope: Scope) -> tuple[str, list[SqlParameter]]:
    name = quote(check_dimension(column, TEXT_COLUMNS))
    text, params = where(scope, None)
    return f"SELECT {name} FROM {quote(datasource)}{text} GROUP BY {name}", params


def date_range(datasource: str, scope: Scope) -> tuple[str, list[SqlParameter]]:
    text, params = where(scope, None)
    return (
        f'SELECT TIME_FORMAT(MIN("__time"), {DAY}) AS "lo", '
        f'TIME_FORMAT(MAX("__time"), {DAY}) AS "hi" '
        f"FROM {quote(datasource)}{text}",
        params,
    )


def count_lines(
    datasource: str, scope: Scope, window: Window | None
) -> tuple[str, list[SqlParameter]]:
    text, params = where(scope, window)
    return f'SELECT COUNT(*) AS "lines" FROM {quote(datasource)}{text}', params
