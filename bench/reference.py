"""The reference engine: DuckDB SQL for each area, over the Delta table's Parquet files.

Written for the benchmark, not taken from the Polars code: one statement per
area that returns the area's table (the same rows the KPI code returns, in
the same spirit: distinct counts over the integer keys that ingest stores,
members as text). Values are bound as parameters, never pasted into SQL.
DuckDB reads the line-level files the Delta table's current version lists,
so it sees exactly the data the embedded store answers from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from deltalake import DeltaTable

from core.kpi.view import View


@dataclass(frozen=True)
class Reference:
    """A DuckDB connection with a `lines` view over one store's Parquet files."""

    connection: duckdb.DuckDBPyConnection

    @classmethod
    def open(cls, store_path: Path) -> Reference:
        files = DeltaTable(str(store_path)).file_uris()
        connection = duckdb.connect()
        listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        connection.execute(f"CREATE VIEW lines AS SELECT * FROM read_parquet([{listed}])")
        return cls(connection)

    def run(self, area: str, view: View) -> list[tuple[Any, ...]]:
        sql, params = AREA_SQL[area](view)
        return self.connection.execute(sql, params).fetchall()


HEADLINE = """
    sum(net_sales) AS net_sales, sum(cogs) AS cogs, sum(gross_profit) AS gross_profit,
    sum(gross_profit) / nullif(sum(net_sales), 0) AS gross_margin_pct,
    count(DISTINCT invoice_key) AS orders, sum(quantity) AS units,
    sum(net_sales) / nullif(count(DISTINCT invoice_key), 0) AS aov,
    sum(quantity) / nullif(count(DISTINCT invoice_key), 0) AS upt,
    count(DISTINCT customer_key) AS active_customers,
    sum(discount) / nullif(sum(gross_sales), 0) AS discount_rate
"""


def _scope(view: View) -> tuple[str, list[Any]]:
    """`AND ...` conditions of the view's scope, and their parameters."""
    clauses, params = [], []
    for column, values in view.scope.member_filters():
        clauses.append(f"AND {column} IN ({', '.join('?' for _ in values)})")
        params.extend(values)
    return " ".join(clauses), params


def _window(view: View) -> tuple[date, date]:
    assert view.window is not None
    return view.window.start, view.window.end


def _comparison(view: View) -> tuple[date, date]:
    # Without a comparison an empty range (end before start) matches nothing.
    if view.comparison is None:
        return date(1, 1, 2), date(1, 1, 1)
    return view.comparison.start, view.comparison.end


def overview(view: View) -> tuple[str, list[Any]]:
    scope, sp = _scope(view)
    sql = f"""
        SELECT 'current' AS which, {HEADLINE} FROM lines
        WHERE sale_date BETWEEN ? AND ? {scope}
        UNION ALL
        SELECT 'previous', {HEADLINE} FROM lines
        WHERE sale_date BETWEEN ? AND ? {scope}
    """
    return sql, [*_window(view), *sp, *_comparison(view), *sp]


def trend(view: View) -> tuple[str, list[Any]]:
    scope, sp = _scope(view)
    grain = {"day": "day", "week": "week", "month": "month", "quarter": "quarter", "year": "year"}[
        view.grain
    ]
    sql = f"""
        WITH buckets AS (
            SELECT DISTINCT date_trunc('{grain}', d)::DATE AS period
            FROM range(?::TIMESTAMP, ?::TIMESTAMP + INTERVAL 1 DAY, INTERVAL 1 DAY) t(d)
        ), totals AS (
            SELECT date_trunc('{grain}', sale_date)::DATE AS period, {HEADLINE} FROM lines
            WHERE sale_date BETWEEN ? AND ? {scope} GROUP BY 1
        )
        SELECT * FROM buckets LEFT JOIN totals USING (period) ORDER BY period
    """
    return sql, [*_window(view), *_window(view), *sp]


def _leaderboard(key: str, all_members: bool) -> Callable[[View], tuple[str, list[Any]]]:
    def build(view: View) -> tuple[str, list[Any]]:
        scope, sp = _scope(view)
        known = f"UNION SELECT DISTINCT {key} FROM lines WHERE true {scope}" if all_members else ""
        sql = f"""
            WITH cur AS (
                SELECT {key}, {HEADLINE} FROM lines
                WHERE sale_date BETWEEN ? AND ? {scope} GROUP BY {key}
            ), prev AS (
                SELECT {key}, sum(net_sales) AS net_sales_prev,
                       row_number() OVER (ORDER BY sum(net_sales) DESC, {key}) AS rank_prev
                FROM lines WHERE sale_date BETWEEN ? AND ? {scope} GROUP BY {key}
            ), members AS (
                SELECT {key} FROM cur UNION SELECT {key} FROM prev {known}
            )
            SELECT m.{key}, cur.* EXCLUDE ({key}),
                   coalesce(cur.net_sales, 0) / sum(coalesce(cur.net_sales, 0)) OVER ()
                       AS share_of_net_sales,
                   row_number() OVER (ORDER BY coalesce(cur.net_sales, 0) DESC, m.{key}) AS rank,
                   coalesce(prev.net_sales_prev, 0) AS net_sales_prev, prev.rank_prev,
                   (coalesce(cur.net_sales, 0) - prev.net_sales_prev)
                       / nullif(prev.net_sales_prev, 0) AS growth_pct
            FROM members m LEFT JOIN cur USING ({key}) LEFT JOIN prev USING ({key})
            ORDER BY rank
        """
        return sql, [*_window(view), *sp, *_comparison(view), *sp, *(sp if all_members else [])]

    return build


def products(view: View) -> tuple[str, list[Any]]:
    scope, sp = _scope(view)
    sql = f"""
        WITH attributes AS (
            SELECT product_id, arg_max(product_name, sale_date) AS product_name,
                   arg_max(product_line, sale_date) AS product_line
            FROM lines WHERE true {scope} GROUP BY product_id
        ), cur AS (
            SELECT product_id, sum(net_sales) AS net_sales, sum(gross_profit) AS gross_profit,
                   sum(quantity) AS units, count(DISTINCT invoice_key) AS orders
            FROM lines WHERE sale_date BETWEEN ? AND ? {scope} GROUP BY product_id
        ), recent AS (  -- the last sale up to the window's end, before the window too
            SELECT product_id, max(sale_date) AS last_sale
            FROM lines WHERE sale_date <= ? {scope} GROUP BY product_id
        ), joined AS (
            SELECT a.*, coalesce(c.net_sales, 0) AS net_sales,
                   coalesce(c.gross_profit, 0) AS gross_profit, coalesce(c.units, 0) AS units,
                   coalesce(c.orders, 0) AS orders, r.last_sale
            FROM attributes a LEFT JOIN cur c USING (product_id)
                 LEFT JOIN recent r USING (product_id)
        ), ranked AS (
            SELECT *, sum(net_sales) OVER (ORDER BY net_sales DESC, product_id
                                           ROWS UNBOUNDED PRECEDING) AS running,
                      sum(net_sales) OVER (ORDER BY net_sales DESC, product_id
                                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                          AS before,
                      sum(net_sales) OVER () AS total
            FROM joined
        )
        SELECT product_id, product_name, product_line, net_sales, gross_profit,
               gross_profit / nullif(net_sales, 0) AS gross_margin_pct, units,
               net_sales / nullif(units, 0) AS avg_selling_price,
               running / nullif(total, 0) AS cumulative_share,
               CASE WHEN coalesce(before, 0) / nullif(total, 0) < 0.80 THEN 'A'
                    WHEN coalesce(before, 0) / nullif(total, 0) < 0.95 THEN 'B'
                    ELSE 'C' END AS abc_class,
               orders, last_sale
        FROM ranked ORDER BY net_sales DESC, product_id
    """
    return sql, [*sp, *_window(view), *sp, _window(view)[1], *sp]


def customers(view: View) -> tuple[str, list[Any]]:
    scope, sp = _scope(view)
    start, end = _window(view)
    sql = f"""
        WITH active AS (
            SELECT customer_id, sum(net_sales) AS monetary, sum(gross_profit) AS gross_profit,
                   count(DISTINCT invoice_key) AS frequency, max(sale_date) AS last_purchase,
                   arg_max(customer_name, sale_date) AS customer_name,
                   arg_max(customer_type, sale_date) AS customer_type
            FROM lines WHERE sale_date BETWEEN ? AND ? {scope} AND customer_id IS NOT NULL
            GROUP BY customer_id
        ), firsts AS (
            SELECT customer_id, min(sale_date) AS first_purchase
            FROM lines WHERE customer_id IS NOT NULL {scope} GROUP BY customer_id
        ), scored AS (
            SELECT *, date_diff('day', last_purchase, ?::DATE) AS recency_days,
                   count(*) OVER () AS n
            FROM active
        ), rfm AS (
            SELECT *,
              -- w = customers strictly worse (rank counts the rows before the row's peers);
              -- a value shared by all scores 3, the best value 5
              CASE WHEN min(recency_days) OVER () = max(recency_days) OVER () THEN 3
                   WHEN recency_days = min(recency_days) OVER () THEN 5
                   ELSE least(5, 1 + (5 * (rank() OVER (ORDER BY recency_days DESC) - 1)) // n)
              END AS r_score,
              CASE WHEN min(frequency) OVER () = max(frequency) OVER () THEN 3
                   WHEN frequency = max(frequency) OVER () THEN 5
                   ELSE least(5, 1 + (5 * (rank() OVER (ORDER BY frequency) - 1)) // n)
              END AS f_score,
              CASE WHEN min(monetary) OVER () = max(monetary) OVER () THEN 3
                   WHEN monetary = max(monetary) OVER () THEN 5
                   ELSE least(5, 1 + (5 * (rank() OVER (ORDER BY monetary) - 1)) // n)
              END AS m_score
            FROM scored
        )
        SELECT r.customer_id, r.customer_name, r.customer_type, f.first_purchase,
               r.last_purchase, r.recency_days, r.frequency, r.monetary, r.gross_profit,
               r.r_score, r.f_score, r.m_score,
               CASE
                 WHEN r_score >= 4 AND (f_score + m_score) / 2 >= 4 THEN 'Champions'
                 WHEN r_score >= 3 AND (f_score + m_score) / 2 >= 3.5 THEN 'Loyal'
                 WHEN r_score >= 4 AND (f_score + m_score) / 2 >= 2.5 THEN 'Potential loyalist'
                 WHEN r_score = 5 AND (f_score + m_score) / 2 <= 1.5 THEN 'New'
                 WHEN r_score >= 4 THEN 'Promising'
                 WHEN r_score = 3 AND (f_score + m_score) / 2 >= 2.5 THEN 'Needs attention'
                 WHEN r_score = 3 THEN 'About to sleep'
                 WHEN (f_score + m_score) / 2 >= 4.5 THEN 'Cannot lose them'
                 WHEN (f_score + m_score) / 2 >= 3 THEN 'At risk'
                 WHEN r_score = 2 THEN 'Hibernating'
                 ELSE 'Lost' END AS segment
        FROM rfm r LEFT JOIN firsts f USING (customer_id)
        ORDER BY monetary DESC, customer_id
    """
    return sql, [start, end, *sp, *sp, end]


def cohorts(view: View) -> tuple[str, list[Any]]:
    scope, sp = _scope(view)
    start, end = _window(view)
    sql = f"""
        WITH firsts AS (
            SELECT customer_key, min(sale_date) AS first_purchase
            FROM lines WHERE customer_key IS NOT NULL {scope} GROUP BY customer_key
        ), cohort AS (
            SELECT customer_key, date_trunc('month', first_purchase)::DATE AS cohort_start
            FROM firsts WHERE first_purchase BETWEEN ? AND ?
        ), activity AS (
            SELECT DISTINCT customer_key, date_trunc('month', sale_date)::DATE AS period
            FROM lines WHERE sale_date BETWEEN ? AND ? AND customer_key IS NOT NULL {scope}
        ), sizes AS (
            SELECT cohort_start, count(*) AS cohort_size FROM cohort GROUP BY 1
        ), counts AS (
            SELECT c.cohort_start, date_diff('month', c.cohort_start, a.period) AS months_since,
                   count(*) AS customers
            FROM activity a JOIN cohort c USING (customer_key) GROUP BY 1, 2
        ), grid AS (
            SELECT cohort_start, cohort_size,
                   unnest(range(0, date_diff('month', cohort_start, ?::DATE) + 1)) AS months_since
            FROM sizes
        )
        SELECT strftime(g.cohort_start, '%Y-%m') AS cohort, g.months_since,
               coalesce(n.customers, 0) AS customers, g.cohort_size,
               coalesce(n.customers, 0) / g.cohort_size AS retention_pct
        FROM grid g LEFT JOIN counts n USING (cohort_start, months_since)
        ORDER BY 1, 2
    """
    return sql, [*sp, start, end, start, end, *sp, end]


AREA_SQL: dict[str, Callable[[View], tuple[str, list[Any]]]] = {
    "overview": overview,
    "trend": trend,
    "salespeople": _leaderboard("salesperson", all_members=False),
    "products": products,
    "product-lines": _leaderboard("product_line", all_members=True),
    "branches": _leaderboard("branch", all_members=True),
    "customers": customers,
    "cohorts": cohorts,
}
