"""An independent implementation of the KPI areas in DuckDB SQL, for differential tests.

Written from docs/contract.md (the data contract, the KPI definitions) and the KPI
docstrings, not from the Polars code: it starts from the raw generated lines
(naive Africa/Nairobi `sold_at`), derives the money measures itself, takes the
business day as the local calendar date, computes its own comparison windows
and answers every area with one SQL statement over those lines.

It also builds the shared test data: generated lines plus a few hand-made
lines just before and after local midnight on period boundaries, so a store
that buckets by the UTC date instead of the Nairobi date gives other answers.
"""

from __future__ import annotations

import calendar
import functools
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from core.schema import with_derived_measures
from core.stores.embedded import EmbeddedStore
from ingest.sample import generate_sales

SAMPLE_ROWS = 200_000
SAMPLE_SEED = 11
SAMPLE_END = date(2026, 10, 31)

# Local (Nairobi) times right around midnight on month, quarter, year and week
# boundaries: 23:30 local is 20:30 UTC the same day, 00:30 local is 21:30 UTC
# the day before, so UTC bucketing would move the latter into the previous day,
# week, month, quarter or year.
EDGE_TIMES: tuple[datetime, ...] = (
    datetime(2023, 12, 31, 23, 45),
    datetime(2024, 1, 1, 0, 15),
    datetime(2024, 2, 29, 23, 59, 59),
    datetime(2024, 3, 1, 0, 0, 1),
    datetime(2024, 6, 30, 23, 30),
    datetime(2024, 7, 1, 0, 30),
    datetime(2025, 3, 14, 23, 50),
    datetime(2025, 3, 15, 0, 10),
    datetime(2025, 12, 31, 23, 30),
    datetime(2026, 1, 1, 0, 30),
    datetime(2026, 6, 30, 23, 40),
    datetime(2026, 7, 1, 0, 20),
    datetime(2026, 9, 30, 23, 30),
    datetime(2026, 10, 1, 0, 30),
    datetime(2026, 10, 18, 23, 55),  # a Sunday
    datetime(2026, 10, 19, 0, 5),  # the Monday after
    datetime(2026, 10, 31, 23, 59),
)


def sample_lines() -> pl.DataFrame:
    """Generated canonical lines plus the midnight edge lines (naive local `sold_at`)."""
    frame = _sample_lines()
    return frame.clone()


@functools.cache
def _sample_lines() -> pl.DataFrame:
    frame = generate_sales(SAMPLE_ROWS, SAMPLE_SEED, SAMPLE_END, now=datetime(2026, 11, 1, 12, 0))
    # Each edge time gets two lines copied from generated lines with a customer.
    donors = frame.filter(pl.col("customer_id").is_not_null() & (pl.col("quantity") > 0))
    donors = donors.gather_every(max(1, donors.height // (2 * len(EDGE_TIMES))))
    edges = donors.head(2 * len(EDGE_TIMES)).with_columns(
        invoice_id=pl.Series([f"EDGE-{i // 2:04d}" for i in range(2 * len(EDGE_TIMES))]),
        line_no=pl.Series([1 + i % 2 for i in range(2 * len(EDGE_TIMES))], dtype=pl.Int64),
        sold_at=pl.Series([t for t in EDGE_TIMES for _ in range(2)], dtype=pl.Datetime("us")),
    )
    return pl.concat([frame, edges]).sort("sold_at")


def to_stored(frame: pl.DataFrame) -> pl.DataFrame:
    """Canonical lines with naive local `sold_at` as the stores keep them (UTC + derived)."""
    utc = frame.with_columns(
        pl.col("sold_at").dt.replace_time_zone("Africa/Nairobi").dt.convert_time_zone("UTC")
    )
    return with_derived_measures(utc)


_STORES: dict[Path, EmbeddedStore] = {}


def sample_store(directory: Path) -> EmbeddedStore:
    """The embedded store of `sample_lines()` under `directory`, written once per process."""
    if directory not in _STORES:
        store = EmbeddedStore(directory / "sales")
        store.write(to_stored(sample_lines()), "append")
        _STORES[directory] = store
    return _STORES[directory]


# ---------------------------------------------------------------------------------------
# Filters and windows, from docs/contract.md and core/periods.py's promises
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefFilters:
    """The reference engine's own filter state (mirrors the URL parameters)."""

    start: date | None = None
    end: date | None = None
    grain: str = "month"
    compare: str = "previous"
    branches: tuple[str, ...] = ()
    product_lines: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    salespeople: tuple[str, ...] = ()
    allowed_branches: tuple[str, ...] | None = None


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _first_of(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def _last_of(index: int) -> date:
    first = _first_of(index)
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _back(day: date, months: int) -> date:
    """`day` a number of calendar months earlier: a month's last day goes to the last
    day of the month it lands in; any other day keeps its number where it exists."""
    index = _month_index(day) - months
    last = _last_of(index)
    if day == _last_of(_month_index(day)):
        return last
    return last.replace(day=min(day.day, last.day))


def ref_previous(start: date, end: date) -> tuple[date, date]:
    """Previous period: a single day against the day before; a whole calendar
    month/quarter/year against the whole one before; a period-to-date against the
    same calendar days of the previous period (never past its end); anything else
    against the equal-length window ending the day before."""
    for months, aligned in (
        (1, (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)),
        (3, (1, 4, 7, 10)),
        (12, (1,)),
    ):
        if start == end or start.day != 1 or start.month not in aligned:
            continue
        index = _month_index(start)
        if end > _last_of(index + months - 1):
            continue
        previous_last = _last_of(index - 1)
        return _first_of(index - months), min(_back(end, months), previous_last)
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def _year_earlier(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def ref_comparison(start: date, end: date, compare: str) -> tuple[date, date] | None:
    if compare == "previous":
        return ref_previous(start, end)
    if compare == "yoy":
        # Whole months against whole months: February 2025 against all of February 2024.
        whole_months = start.day == 1 and end == _last_of(_month_index(end))
        return _year_earlier(start), _back(end, 12) if whole_months else _year_earlier(end)
    return None


# ---------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------

# Headline KPI columns in the catalogue's order (docs/contract.md, "KPIs").
HEADLINE = (
    "net_sales",
    "cogs",
    "gross_profit",
    "gross_margin_pct",
    "orders",
    "units",
    "aov",
    "upt",
    "active_customers",
    "discount_rate",
)
MONEY = (
    "net_sales",
    "cogs",
    "gross_profit",
    "aov",
    "net_sales_prev",
    "cogs_prev",
    "gross_profit_prev",
    "aov_prev",
    "monetary",
    "avg_selling_price",
)

_TRUNC = {"day": "day", "week": "week", "month": "month", "quarter": "quarter", "year": "year"}

# The RFM segments of docs/contract.md (core/kpi/customers.py SEGMENTS): first match wins.
_SEGMENT_SQL = """
    CASE
        WHEN r >= 4 AND fm >= 4 THEN 'Champions'
        WHEN r >= 3 AND fm >= 3.5 THEN 'Loyal'
        WHEN r >= 4 AND fm >= 2.5 THEN 'Potential loyalist'
        WHEN r = 5 AND fm <= 1.5 THEN 'New'
        WHEN r >= 4 AND fm < 2.5 THEN 'Promising'
        WHEN r = 3 AND fm >= 2.5 THEN 'Needs attention'
        WHEN r = 3 AND fm < 2.5 THEN 'About to sleep'
        WHEN r <= 2 AND fm >= 4.5 THEN 'Cannot lose them'
        WHEN r <= 2 AND fm >= 3 THEN 'At risk'
        WHEN r = 2 AND fm < 3 THEN 'Hibernating'
        WHEN r = 1 AND fm < 3 THEN 'Lost'
    END
"""


def _div(numerator: str, denominator: str) -> str:
    """SQL numerator / denominator, NULL when the denominator is 0 or NULL."""
    return f"(CAST({numerator} AS DOUBLE) / NULLIF(CAST({denominator} AS DOUBLE), 0))"


def _kpi_select(prefix: str = "") -> str:
    """Headline KPI expressions over the raw measure columns of a per-group CTE."""
    p = prefix
    return f"""
        {p}net AS net_sales,
        {p}cogs AS cogs,
        {p}net - {p}cogs AS gross_profit,
        {_div(f"{p}net - {p}cogs", f"{p}net")} AS gross_margin_pct,
        {p}orders AS orders,
        {p}units AS units,
        {_div(f"{p}net", f"{p}orders")} AS aov,
        {_div(f"{p}units", f"{p}orders")} AS upt,
        {p}customers AS active_customers,
        {_div(f"{p}disc", f"{p}gross")} AS discount_rate
    """


_MEASURES = """
    COALESCE(SUM(net_sales), 0) AS net,
    COALESCE(SUM(cogs), 0) AS cogs,
    CAST(COUNT(DISTINCT invoice_id) AS BIGINT) AS orders,
    COALESCE(SUM(quantity), 0) AS units,
    CAST(COUNT(DISTINCT customer) AS BIGINT) AS customers,
    COALESCE(SUM(discount), 0) AS disc,
    COALESCE(SUM(gross_sales), 0) AS gross
"""


@dataclass(frozen=True)
class RefView:
    window: tuple[date, date] | None
    comparison: tuple[date, date] | None
    grain: str
    compare: str


class ReferenceEngine:
    """Every area's table from the raw lines, in DuckDB SQL."""

    def __init__(self, raw: pl.DataFrame) -> None:
        self.con = duckdb.connect()
        self.con.register("raw_lines", raw.to_arrow())
        # docs/contract.md: net_sales = quantity * unit_price - sign(quantity) * discount,
        # cogs = quantity * unit_cost; the business day is the local date of sold_at
        # (naive values are Nairobi time); an empty customer id is a walk-in.
        self.con.execute(
            """
            CREATE TABLE lines AS
            SELECT
                invoice_id, line_no, CAST(sold_at AS DATE) AS day, sold_at,
                branch, salesperson,
                NULLIF(TRIM(customer_id), '') AS customer,
                customer_name, customer_type, product_id,
                COALESCE(product_name, product_id) AS product_name, product_line,
                quantity, unit_price, unit_cost, COALESCE(discount, 0) AS discount,
                quantity * unit_price AS gross_sales,
                quantity * unit_price - SIGN(quantity) * COALESCE(discount, 0) AS net_sales,
                quantity * unit_cost AS cogs
            FROM raw_lines
            """
        )

    # ------------------------------------------------------------------ plumbing

    def _scope(self, f: RefFilters) -> tuple[str, dict[str, Any]]:
        conditions = ["TRUE"]
        params: dict[str, Any] = {}
        for column, values, name in (
            ("branch", f.branches, "branches"),
            ("product_line", f.product_lines, "lines"),
            ("product_id", f.products, "products"),
            ("salesperson", f.salespeople, "reps"),
        ):
            if values:
                conditions.append(f"list_contains(${name}::VARCHAR[], {column})")
                params[name] = list(values)
        if f.allowed_branches is not None:
            conditions.append("list_contains($allowed::VARCHAR[], branch)")
            params["allowed"] = list(f.allowed_branches)
        return " AND ".join(conditions), params

    def _scoped(self, f: RefFilters) -> tuple[str, dict[str, Any]]:
        """A CTE `scoped` of the lines in scope (all time)."""
        where, params = self._scope(f)
        return f"scoped AS (SELECT * FROM lines WHERE {where})", params

    def _query(self, sql: str, params: dict[str, Any]) -> pl.DataFrame:
        used = {k: v for k, v in params.items() if f"${k}" in sql}
        frame = pl.from_arrow(self.con.sql(sql, params=used).to_arrow_table())
        assert isinstance(frame, pl.DataFrame)
        return frame

    def view(self, f: RefFilters) -> RefView:
        """Open ends default to the first/last business day with a sale in scope."""
        start, end = f.start, f.end
        if start is None or end is None:
            scoped, params = self._scoped(f)
            lo, hi = self.con.execute(
                f"WITH {scoped} SELECT MIN(day), MAX(day) FROM scoped", params
            ).fetchall()[0]
            if lo is None:
                return RefView(None, None, f.grain, f.compare)
            start = start or lo
            end = end or hi
        assert start is not None and end is not None
        if start > end:
            return RefView(None, None, f.grain, f.compare)
        return RefView((start, end), ref_comparison(start, end, f.compare), f.grain, f.compare)

    @staticmethod
    def _window_params(view: RefView) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if view.window:
            params["ws"], params["we"] = view.window
        if view.comparison:
            params["cs"], params["ce"] = view.comparison
        return params

    # ------------------------------------------------------------------ areas

    def overview(self, f: RefFilters) -> pl.DataFrame:
        v = self.view(f)
        scoped, params = self._scoped(f)
        if v.window is None:
            return pl.DataFrame(schema={k: pl.Float64 for k in HEADLINE})
        params |= self._window_params(v)
        current = f"""
            cur AS (SELECT {_MEASURES} FROM scoped WHERE day BETWEEN $ws AND $we),
            cur_k AS (SELECT {_kpi_select()} FROM cur)
        """
        if v.comparison is None:
            return self._query(f"WITH {scoped}, {current} SELECT * FROM cur_k", params)
        growth = ",\n".join(
            f"{_div(f'c.{k} - p.{k}', f'p.{k}')} AS {k}_growth_pct" for k in HEADLINE
        )
        prev_cols = ",\n".join(f"p.{k} AS {k}_prev" for k in HEADLINE)
        sql = f"""
            WITH {scoped}, {current},
            prev AS (SELECT {_MEASURES} FROM scoped WHERE day BETWEEN $cs AND $ce),
            prev_k AS (SELECT {_kpi_select()} FROM prev)
            SELECT c.*, {prev_cols}, {growth} FROM cur_k c, prev_k p
        """
        return self._query(sql, params)

    def trend(self, f: RefFilters) -> pl.DataFrame:
        """Headline KPIs for every bucket touching the window (empty buckets: zeros)."""
        v = self.view(f)
        if v.window is None:
            return pl.DataFrame(schema={"period": pl.Date, **{k: pl.Float64 for k in HEADLINE}})
        scoped, params = self._scoped(f)
        params |= self._window_params(v)
        part = _TRUNC[v.grain]
        sql = f"""
            WITH {scoped},
            buckets AS (
                SELECT DISTINCT CAST(date_trunc('{part}', d) AS DATE) AS period
                FROM range(CAST($ws AS TIMESTAMP), CAST($we AS TIMESTAMP) + INTERVAL 1 DAY,
                           INTERVAL 1 DAY) t(d)
            ),
            per AS (
                SELECT CAST(date_trunc('{part}', day) AS DATE) AS period, {_MEASURES}
                FROM scoped WHERE day BETWEEN $ws AND $we GROUP BY 1
            ),
            filled AS (
                SELECT b.period,
                    COALESCE(net, 0) AS net, COALESCE(cogs, 0) AS cogs,
                    COALESCE(orders, 0) AS orders, COALESCE(units, 0) AS units,
                    COALESCE(customers, 0) AS customers, COALESCE(disc, 0) AS disc,
                    COALESCE(gross, 0) AS gross
                FROM buckets b LEFT JOIN per USING (period)
            )
            SELECT period, {_kpi_select()} FROM filled ORDER BY period
        """
        return self._query(sql, params)

    def leaderboard(self, f: RefFilters, key: str, all_members: bool) -> pl.DataFrame:
        """Per member: headline KPIs, share, rank; with a comparison net_sales_prev,
        growth_pct, rank_prev, rank_change. Members: a sale in the window or the
        comparison window, or (`all_members`) anywhere in scope."""
        v = self.view(f)
        scoped, params = self._scoped(f)
        if v.window is None:
            return pl.DataFrame(schema={key: pl.String, **{k: pl.Float64 for k in HEADLINE}})
        params |= self._window_params(v)
        has_prev = v.comparison is not None
        prev_cte = (
            f"""prev AS (
                SELECT {key} AS member, SUM(net_sales) AS net_sales_prev,
                    ROW_NUMBER() OVER (ORDER BY SUM(net_sales) DESC, {key}) AS rank_prev
                FROM scoped WHERE day BETWEEN $cs AND $ce GROUP BY {key}
            )"""
            if has_prev
            else "prev AS (SELECT NULL::VARCHAR AS member, NULL::DOUBLE AS net_sales_prev, "
            "NULL::BIGINT AS rank_prev WHERE FALSE)"
        )
        everyone = (
            f"UNION SELECT DISTINCT {key} FROM scoped WHERE {key} IS NOT NULL AND {key} <> ''"
            if all_members
            else ""
        )
        extra = (
            """, COALESCE(p.net_sales_prev, 0) AS net_sales_prev, p.rank_prev,
                {growth} AS growth_pct, p.rank_prev - t.rank AS rank_change""".format(
                growth=_div("t.net_sales - COALESCE(p.net_sales_prev, 0)", "p.net_sales_prev")
            )
            if has_prev
            else ""
        )
        sql = f"""
            WITH {scoped}, {prev_cte},
            cur AS (
                SELECT {key} AS member, {_MEASURES}
                FROM scoped WHERE day BETWEEN $ws AND $we GROUP BY {key}
            ),
            members AS (
                SELECT member FROM cur UNION SELECT member FROM prev {everyone}
            ),
            filled AS (
                SELECT m.member,
                    COALESCE(net, 0) AS net, COALESCE(cogs, 0) AS cogs,
                    COALESCE(orders, 0) AS orders, COALESCE(units, 0) AS units,
                    COALESCE(customers, 0) AS customers, COALESCE(disc, 0) AS disc,
                    COALESCE(gross, 0) AS gross
                FROM members m LEFT JOIN cur USING (member)
            ),
            table_k AS (
                SELECT member AS {key}, {_kpi_select()},
                    ROW_NUMBER() OVER (ORDER BY net DESC, member) AS rank
                FROM filled
            ),
            t AS (
                SELECT *, {_div("net_sales", "SUM(net_sales) OVER ()")} AS share_of_net_sales
                FROM table_k
            )
            SELECT t.* {extra}
            FROM t LEFT JOIN prev p ON p.member = t.{key}
        """
        return self._query(sql, params)

    def salespeople(self, f: RefFilters) -> pl.DataFrame:
        return self.leaderboard(f, "salesperson", all_members=False)

    def branches(self, f: RefFilters) -> pl.DataFrame:
        return self.leaderboard(f, "branch", all_members=True)

    def product_lines(self, f: RefFilters) -> pl.DataFrame:
        table = self.leaderboard(f, "product_line", all_members=True)
        if table.is_empty():
            return table
        return table.with_columns(
            avg_selling_price=pl.when(pl.col("units") != 0).then(
                pl.col("net_sales") / pl.col("units")
            )
        )

    def products(self, f: RefFilters) -> pl.DataFrame:
        """Every product in scope: KPIs, Pareto share, ABC class, slow movers."""
        v = self.view(f)
        scoped, params = self._scoped(f)
        if v.window is None:
            return pl.DataFrame(schema={"product_id": pl.String})
        params |= self._window_params(v)
        sql = f"""
            WITH {scoped},
            attributes AS (
                SELECT product_id,
                    arg_max(product_name, sold_at) AS product_name,
                    arg_max(product_line, sold_at) AS product_line
                FROM scoped GROUP BY product_id
            ),
            cur AS (
                SELECT product_id, SUM(net_sales) AS net, SUM(cogs) AS cogs,
                    SUM(quantity) AS units, COUNT(DISTINCT invoice_id) AS orders
                FROM scoped WHERE day BETWEEN $ws AND $we GROUP BY product_id
            ),
            -- the last sale up to the window's end, before the window too
            recent AS (
                SELECT product_id, MAX(day) AS last_sale FROM scoped
                WHERE day <= $we GROUP BY product_id
            ),
            t AS (
                SELECT a.product_id, a.product_name, a.product_line,
                    COALESCE(net, 0) AS net_sales, COALESCE(net, 0) - COALESCE(cogs, 0)
                        AS gross_profit,
                    COALESCE(units, 0) AS units, CAST(COALESCE(orders, 0) AS BIGINT) AS orders,
                    last_sale
                FROM attributes a LEFT JOIN cur USING (product_id)
                    LEFT JOIN recent USING (product_id)
            ),
            running AS (
                SELECT *,
                    SUM(net_sales) OVER (ORDER BY net_sales DESC, product_id
                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running,
                    -- the share before an item: the running sum of the items above it
                    COALESCE(SUM(net_sales) OVER (ORDER BY net_sales DESC, product_id
                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before,
                    SUM(net_sales) OVER () AS total
                FROM t
            )
            SELECT product_id, product_name, product_line, net_sales, gross_profit,
                {_div("gross_profit", "net_sales")} AS gross_margin_pct,
                units,
                {_div("net_sales", "units")} AS avg_selling_price,
                {_div("running", "total")} AS cumulative_share,
                CASE
                    WHEN total = 0 THEN NULL
                    WHEN before / total < 0.80 THEN 'A'
                    WHEN before / total < 0.95 THEN 'B'
                    ELSE 'C'
                END AS abc_class,
                orders, last_sale,
                last_sale IS NULL OR last_sale < CAST($we AS DATE) - INTERVAL 89 DAY
                    AS slow_mover,
                CAST(date_diff('day', last_sale, CAST($we AS DATE)) AS BIGINT)
                    AS days_since_last_sale
            FROM running
        """
        return self._query(sql, params)

    def customers(self, f: RefFilters) -> pl.DataFrame:
        """RFM of the customers with a line in the window (walk-ins excluded)."""
        v = self.view(f)
        scoped, params = self._scoped(f)
        if v.window is None:
            return pl.DataFrame(schema={"customer_id": pl.String})
        params |= self._window_params(v)

        def score(value: str, best_high: bool) -> str:
            # w = the customers strictly worse: RANK() counts the rows ordered before the
            # row's peers, worst first. A value shared by all scores 3; the best scores 5.
            worst_first = "ASC" if best_high else "DESC"
            best = f"MAX({value}) OVER ()" if best_high else f"MIN({value}) OVER ()"
            worse = f"(RANK() OVER (ORDER BY {value} {worst_first}) - 1)"
            return (
                f"CASE WHEN MIN({value}) OVER () = MAX({value}) OVER () THEN 3"
                f" WHEN {value} = {best} THEN 5"
                f" ELSE LEAST(5, 1 + (5 * {worse}) // COUNT(*) OVER ()) END"
            )

        def flat(value: str, label: str) -> str:
            return f"CASE WHEN MIN({value}) OVER () = MAX({value}) OVER () THEN '{label}' END"

        sql = f"""
            WITH {scoped},
            firsts AS (
                SELECT customer, MIN(day) AS first_purchase FROM scoped
                WHERE customer IS NOT NULL GROUP BY customer
            ),
            active AS (
                SELECT customer,
                    MAX(day) AS last_purchase,
                    CAST(COUNT(DISTINCT invoice_id) AS BIGINT) AS frequency,
                    SUM(net_sales) AS monetary,
                    SUM(net_sales) - SUM(cogs) AS gross_profit,
                    arg_max(customer_name, sold_at) AS customer_name,
                    arg_max(customer_type, sold_at) AS customer_type
                FROM scoped WHERE day BETWEEN $ws AND $we AND customer IS NOT NULL
                GROUP BY customer
            ),
            measured AS (
                SELECT *, CAST(date_diff('day', last_purchase, CAST($we AS DATE)) AS BIGINT)
                    AS recency_days
                FROM active
            ),
            scored AS (
                SELECT *,
                    {score("recency_days", best_high=False)} AS r,
                    {score("frequency", best_high=True)} AS f,
                    {score("monetary", best_high=True)} AS m,
                    concat_ws(', ', {flat("recency_days", "recency")},
                        {flat("frequency", "frequency")}, {flat("monetary", "monetary")}) AS flat
                FROM measured
            ),
            segmented AS (SELECT *, (f + m) / 2.0 AS fm FROM scored)
            SELECT s.customer AS customer_id, customer_name, customer_type,
                first_purchase, last_purchase, recency_days, frequency, monetary,
                gross_profit, r AS r_score, f AS f_score, m AS m_score,
                {_SEGMENT_SQL} AS segment,
                CASE WHEN flat <> '' THEN
                    'Same for every customer, so scored 3 for all: ' || flat || '.' END AS rfm_note
            FROM segmented s LEFT JOIN firsts USING (customer)
        """
        return self._query(sql, params)

    def cohorts(self, f: RefFilters) -> pl.DataFrame:
        """Cohort = month of first-ever purchase (in scope), for customers whose first
        purchase falls inside the window; activity = their purchases in the window."""
        v = self.view(f)
        scoped, params = self._scoped(f)
        if v.window is None:
            return pl.DataFrame(schema={"cohort": pl.String})
        params |= self._window_params(v)
        sql = f"""
            WITH {scoped},
            firsts AS (
                SELECT customer, MIN(day) AS first_purchase FROM scoped
                WHERE customer IS NOT NULL GROUP BY customer
            ),
            members AS (
                SELECT customer, first_purchase,
                    year(first_purchase) * 12 + month(first_purchase) - 1 AS cohort_index
                FROM firsts WHERE first_purchase BETWEEN $ws AND $we
            ),
            activity AS (
                SELECT DISTINCT customer, year(day) * 12 + month(day) - 1 AS month_index
                FROM scoped WHERE day BETWEEN $ws AND $we AND customer IS NOT NULL
            ),
            sizes AS (SELECT cohort_index, COUNT(*) AS cohort_size FROM members GROUP BY 1),
            returned AS (
                SELECT m.cohort_index, a.month_index, COUNT(*) AS customers
                FROM members m JOIN activity a USING (customer)
                GROUP BY m.cohort_index, a.month_index
            ),
            -- every month from the cohort's to the window's last, bought in or not
            months AS (
                SELECT s.cohort_index, s.cohort_size, g.month_index
                FROM sizes s,
                    generate_series(s.cohort_index,
                        year(CAST($we AS DATE)) * 12 + month(CAST($we AS DATE)) - 1)
                        AS g(month_index)
            )
            SELECT
                strftime(make_date(CAST(m.cohort_index // 12 AS INTEGER),
                    CAST(m.cohort_index % 12 + 1 AS INTEGER), 1), '%Y-%m') AS cohort,
                CAST(m.month_index - m.cohort_index AS BIGINT) AS months_since,
                CAST(COALESCE(r.customers, 0) AS BIGINT) AS customers,
                CAST(m.cohort_size AS BIGINT) AS cohort_size,
                COALESCE(r.customers, 0) / m.cohort_size AS retention_pct
            FROM months m LEFT JOIN returned r USING (cohort_index, month_index)
        """
        return self._query(sql, params)

    def new_vs_returning(self, f: RefFilters) -> pl.DataFrame:
        """Active customers: new = first-ever purchase (in scope) inside the window."""
        v = self.view(f)
        scoped, params = self._scoped(f)
        if v.window is None:
            return pl.DataFrame(schema={"status": pl.String})
        params |= self._window_params(v)
        sql = f"""
            WITH {scoped},
            firsts AS (
                SELECT customer, MIN(day) AS first_purchase FROM scoped
                WHERE customer IS NOT NULL GROUP BY customer
            ),
            active AS (
                SELECT customer, SUM(net_sales) AS net, COUNT(DISTINCT invoice_id) AS orders
                FROM scoped WHERE day BETWEEN $ws AND $we AND customer IS NOT NULL
                GROUP BY customer
            ),
            labelled AS (
                SELECT a.*, CASE WHEN first_purchase BETWEEN $ws AND $we
                    THEN 'new' ELSE 'returning' END AS status
                FROM active a JOIN firsts USING (customer)
            ),
            statuses AS (SELECT * FROM (VALUES ('new'), ('returning')) t(status)),
            summary AS (
                SELECT s.status, CAST(COUNT(l.customer) AS BIGINT) AS customers,
                    COALESCE(SUM(l.net), 0) AS net_sales,
                    CAST(COALESCE(SUM(l.orders), 0) AS BIGINT) AS orders
                FROM statuses s LEFT JOIN labelled l USING (status) GROUP BY s.status
            )
            SELECT *, {_div("customers", "SUM(customers) OVER ()")} AS share_of_customers
            FROM summary
        """
        table = self._query(sql, params)
        return table if table["customers"].sum() else table.clear()

    def concentration(self, f: RefFilters) -> pl.DataFrame:
        """Share of customers' net sales from the top ceil(10%) and ceil(20%) customers."""
        customers = self.customers(f)
        total = float(customers["monetary"].sum()) if customers.height else 0.0
        ranked = (
            customers.sort(["monetary", "customer_id"], descending=[True, False])
            if (customers.height)
            else customers
        )
        rows = []
        for top in (0.10, 0.20):
            count = math.ceil(round(top * customers.height, 9))
            top_sales = float(ranked["monetary"].head(count).sum()) if count else 0.0
            rows.append(
                {
                    "top_pct": top,
                    "customers": count,
                    "net_sales": top_sales,
                    "share_of_net_sales": top_sales / total if total else None,
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

    def clv(self, f: RefFilters, discount_rate: float = 0.10) -> dict[str, Any]:
        """m = gross profit per customer active in the 365 days ending on the window's
        last day; r = share of customers active in the 365 days before those who are
        active again in them; CLV = m r / (1 + d - r)."""
        v = self.view(f)
        if v.window is None:
            return {
                "avg_yearly_gross_profit": None,
                "retention": None,
                "value": None,
                "customers_last_year": 0,
                "customers_prior_year": 0,
            }
        scoped, params = self._scoped(f)
        end = v.window[1]
        params |= {
            "ls": end - timedelta(days=364),
            "le": end,
            "ps": end - timedelta(days=729),
            "pe": end - timedelta(days=365),
        }
        sql = f"""
            WITH {scoped},
            recent AS (
                SELECT customer, SUM(net_sales) - SUM(cogs) AS gp FROM scoped
                WHERE day BETWEEN $ls AND $le AND customer IS NOT NULL GROUP BY customer
            ),
            prior AS (
                SELECT DISTINCT customer FROM scoped
                WHERE day BETWEEN $ps AND $pe AND customer IS NOT NULL
            )
            SELECT
                (SELECT COUNT(*) FROM recent) AS n_recent,
                (SELECT SUM(gp) FROM recent) AS gp,
                (SELECT COUNT(*) FROM prior) AS n_prior,
                (SELECT COUNT(*) FROM prior JOIN recent USING (customer)) AS retained
        """
        n_recent, gp, n_prior, retained = self.con.execute(sql, params).fetchall()[0]
        m = gp / n_recent if n_recent else None
        r = retained / n_prior if n_prior else None
        value = None
        if m is not None and r is not None and 1 + discount_rate - r != 0:
            value = m * r / (1 + discount_rate - r)
        return {
            "avg_yearly_gross_profit": m,
            "retention": r,
            "value": value,
            "customers_last_year": n_recent,
            "customers_prior_year": n_prior,
        }

    def branch_line_mix(self, f: RefFilters) -> pl.DataFrame:
        v = self.view(f)
        scoped, params = self._scoped(f)
        if v.window is None:
            return pl.DataFrame(schema={"branch": pl.String})
        params |= self._window_params(v)
        sql = f"""
            WITH {scoped},
            cells AS (
                SELECT branch, product_line, SUM(net_sales) AS net_sales,
                    SUM(net_sales) - SUM(cogs) AS gross_profit
                FROM scoped WHERE day BETWEEN $ws AND $we GROUP BY branch, product_line
            )
            SELECT *, {_div("gross_profit", "net_sales")} AS gross_margin_pct,
                {_div("net_sales", "SUM(net_sales) OVER (PARTITION BY branch)")}
                    AS share_of_branch
            FROM cells
        """
        return self._query(sql, params)

    def branch_month(self, f: RefFilters) -> pl.DataFrame:
        v = self.view(f)
        scoped, params = self._scoped(f)
        if v.window is None:
            return pl.DataFrame(schema={"branch": pl.String})
        params |= self._window_params(v)
        sql = f"""
            WITH {scoped}
            SELECT branch, CAST(date_trunc('month', day) AS DATE) AS period,
                SUM(net_sales) AS net_sales, SUM(net_sales) - SUM(cogs) AS gross_profit
            FROM scoped WHERE day BETWEEN $ws AND $we GROUP BY 1, 2
        """
        return self._query(sql, params)

    def member_trend(self, f: RefFilters, key: str) -> pl.DataFrame:
        v = self.view(f)
        scoped, params = self._scoped(f)
        if v.window is None:
            return pl.DataFrame(schema={key: pl.String})
        params |= self._window_params(v)
        part = _TRUNC[v.grain]
        sql = f"""
            WITH {scoped},
            cells AS (
                SELECT {key}, CAST(date_trunc('{part}', day) AS DATE) AS period,
                    SUM(net_sales) AS net_sales, SUM(net_sales) - SUM(cogs) AS gross_profit,
                    CAST(COUNT(DISTINCT invoice_id) AS BIGINT) AS orders
                FROM scoped WHERE day BETWEEN $ws AND $we GROUP BY 1, 2
            )
            SELECT {key}, period, net_sales, gross_profit,
                {_div("gross_profit", "net_sales")} AS gross_margin_pct, orders
            FROM cells
        """
        return self._query(sql, params)

    def area(self, area: str, f: RefFilters) -> pl.DataFrame:
        """The table of an export area (names as in `python -m core export`)."""
        return {
            "overview": self.overview,
            "trend": self.trend,
            "salespeople": self.salespeople,
            "products": self.products,
            "product-lines": self.product_lines,
            "branches": self.branches,
            "customers": self.customers,
            "cohorts": self.cohorts,
        }[area](f)


@functools.cache
def reference_engine() -> ReferenceEngine:
    return ReferenceEngine(sample_lines())
