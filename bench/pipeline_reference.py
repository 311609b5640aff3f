"""The pipeline areas' reference engine: DuckDB SQL over the CRM tables' Parquet files.

Written for the benchmark from the definitions (docs/contract.md#pipeline-kpis
and the docstrings of core/kpi/pipeline.py, influence.py, activities.py), not
from the Polars code: one statement per area that returns the area's table.
DuckDB reads the files the current version of each Delta table lists (the
deals, stage history, activities, and the sales lines for the influenced
revenue), so it answers from exactly what the embedded store holds. Values
are bound as named parameters, never pasted into SQL.

`agreement` then holds each area's table from the store against DuckDB's, on
every column, so a timing compares two engines computing the same figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from deltalake import DeltaTable
from polars.testing import assert_frame_equal

from core.kpi.view import View

TABLES = {
    "deals": "opportunities",
    "stages": "stages",
    "activities": "activities",
    "lines": "sales",
}
Params = dict[str, Any]


@dataclass(frozen=True)
class PipelineReference:
    """A DuckDB connection with `deals`, `stages`, `activities` and `lines` views."""

    connection: duckdb.DuckDBPyConnection

    @classmethod
    def open(cls, data_dir: Path) -> PipelineReference:
        connection = duckdb.connect()
        for view, directory in TABLES.items():
            files = DeltaTable(str(data_dir / directory)).file_uris()
            listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            connection.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet([{listed}])")
        return cls(connection)

    def run(self, area: str, view: View) -> list[tuple[Any, ...]]:
        sql, params = PIPELINE_SQL[area](view)
        return self.connection.execute(sql, params).fetchall()

    def frame(self, area: str, view: View) -> pl.DataFrame:
        """The area's table as the KPI code shapes it (the summary's comparison as `_prev`)."""
        sql, params = PIPELINE_SQL[area](view)
        table: pl.DataFrame = self.connection.sql(sql, params=params).pl()
        if area != "pipeline":
            return table
        current = table.filter(pl.col("which") == "current").drop("which")
        if view.compare == "none":
            return current
        previous = table.filter(pl.col("which") == "previous").drop("which")
        return pl.concat(
            [current, previous.rename({c: f"{c}_prev" for c in previous.columns})],
            how="horizontal",
        )


def _scope(view: View, alias: str = "") -> tuple[str, Params]:
    """`AND ...` conditions of the view's scope on the deals (or lines), and parameters."""
    clauses: list[str] = []
    params: Params = {}
    prefix = f"{alias}." if alias else ""
    for i, (column, values) in enumerate(view.scope.member_filters()):
        names = [f"m{i}_{j}" for j in range(len(values))]
        clauses.append(f"AND {prefix}{column} IN ({', '.join('$' + n for n in names)})")
        params.update(zip(names, values, strict=True))
    return " ".join(clauses), params


def _window(view: View) -> tuple[date, date]:
    assert view.window is not None, "the bench's views always have a window"
    return view.window.start, view.window.end


def _outcomes(name: str, scope: str) -> str:
    """The CTE `name`: deals in scope with their outcome in window ($s, $e) and days."""
    return f"""
        {name} AS (
            SELECT *, CASE WHEN outcome = 'open' THEN date_diff('day', created_date, $e)
                           ELSE date_diff('day', created_date, closed_date) END AS days,
                   coalesce(amount, 0) AS amt
            FROM (
                SELECT *,
                    CASE WHEN status IN ('won', 'lost') AND closed_date BETWEEN $s AND $e
                              THEN status
                         WHEN created_date <= $e AND (status = 'open' OR closed_date > $e)
                              THEN 'open' END AS outcome
                FROM deals WHERE true {scope}
            ) WHERE outcome IS NOT NULL
        )"""


SUMMARY = """
    count(*) FILTER (outcome = 'open') AS open_deals,
    coalesce(sum(amt) FILTER (outcome = 'open'), 0) AS open_amount,
    count(*) FILTER (outcome = 'won') AS won_deals,
    coalesce(sum(amt) FILTER (outcome = 'won'), 0) AS won_amount,
    count(*) FILTER (outcome = 'lost') AS lost_deals,
    coalesce(sum(amt) FILTER (outcome = 'lost'), 0) AS lost_amount,
    quantile_cont(days, 0.5) FILTER (outcome = 'won') AS median_cycle_days,
    quantile_cont(days, 0.75) FILTER (outcome = 'won') AS p75_cycle_days
"""
RATES = """
    open_deals, open_amount, won_deals, won_amount, lost_deals, lost_amount,
    won_deals / nullif(won_deals + lost_deals, 0) AS win_rate,
    CASE WHEN lost_amount > 0 THEN won_amount / (won_amount + lost_amount) END
        AS value_win_rate,
    won_amount / nullif(won_deals, 0) AS avg_won_amount,
    median_cycle_days, p75_cycle_days,
    open_deals * (won_deals / nullif(won_deals + lost_deals, 0))
        * (won_amount / nullif(won_deals, 0)) / nullif(median_cycle_days, 0)
        AS velocity_per_day
"""


def summary(view: View) -> tuple[str, Params]:
    scope, params = _scope(view)
    start, end = _window(view)
    parts = [("current", start, end)]
    if view.comparison is not None:
        parts.append(("previous", view.comparison.start, view.comparison.end))
    selects = []
    for i, (which, first, last) in enumerate(parts):
        # One statement per window, each with its own window parameters.
        body = (
            f"WITH {_outcomes('o', scope)}, t AS (SELECT {SUMMARY} FROM o) "
            f"SELECT '{which}' AS which, {RATES} FROM t"
        )
        selects.append(body.replace("$s", f"$s{i}").replace("$e", f"$e{i}"))
        params |= {f"s{i}": first, f"e{i}": last}
    return " UNION ALL ".join(f"({s})" for s in selects), params


def _by_member(key: str) -> Callable[[View], tuple[str, Params]]:
    def build(view: View) -> tuple[str, Params]:
        scope, params = _scope(view)
        start, end = _window(view)
        sql = f"""
            WITH {_outcomes("o", scope)},
            t AS (SELECT {key}, {SUMMARY} FROM o GROUP BY {key})
            SELECT {key}, {RATES} FROM t
            ORDER BY won_amount DESC, open_amount DESC, {key} NULLS FIRST
        """
        return sql, params | {"s": start, "e": end}

    return build


def lost_reasons(view: View) -> tuple[str, Params]:
    scope, params = _scope(view)
    start, end = _window(view)
    sql = f"""
        SELECT lost_reason, count(*) AS lost_deals, sum(coalesce(amount, 0)) AS lost_amount,
               count(*) / sum(count(*)) OVER () AS share_of_lost
        FROM deals
        WHERE status = 'lost' AND closed_date BETWEEN $s AND $e {scope}
        GROUP BY lost_reason
        ORDER BY lost_deals DESC, lost_amount DESC, lost_reason NULLS FIRST
    """
    return sql, params | {"s": start, "e": end}


# A stage name as words ("6 - Closed Won" -> " closed won"), and what its words say.
WORDS = "regexp_replace(lower({c}), '[^a-z]+', ' ', 'g')"
SAYS_WON = r"regexp_matches({w}, '(^|\s)(closed\s?)?won(\s|$)|closedwon')"
SAYS_LOST = r"regexp_matches({w}, '(^|\s)(closed\s?)?lost(\s|$)|closedlost')"
# How far along a sale a stage is: the CRMs' default stage names, earliest first.
RANK = r"""CASE
    WHEN regexp_matches({w}, '\b(new|lead|prospect\w*|inquiry|enquiry|inbound)\b') THEN 10
    WHEN regexp_matches({w}, '\b(contact\w*|qualif\w*|discovery|appointment\w*)\b') THEN 20
    WHEN regexp_matches({w},
        '\b(needs?|analysis|meeting|demo\w*|presentation\w*|visit\w*|value)\b') THEN 30
    WHEN regexp_matches({w}, '\b(proposal|propos\w*|quot\w*|price)\b') THEN 40
    WHEN regexp_matches({w},
        '\b(negotiat\w*|review|contract\w*|decision\w*|commit\w*|verbal)\b') THEN 50
    ELSE 35 END"""


def _on(template: str, column: str) -> str:
    return template.format(w=WORDS.format(c=column))


def funnel(view: View) -> tuple[str, Params]:
    """Deals created in the window; a deal with stage rows entered each open stage it has a
    row for (and Won if won); one without entered its exported stage and every one before
    (all and Won if won, the first if lost). Rows: open stages by rank, then first entry,
    then name; then Won."""
    scope, params = _scope(view)
    start, end = _window(view)
    says = f"({_on(SAYS_WON, 'stage')} OR {_on(SAYS_LOST, 'stage')})"
    sql = f"""
        WITH d AS (
            SELECT opportunity_id, status, stage FROM deals
            WHERE created_date BETWEEN $s AND $e {scope}
        ), h AS (
            SELECT opportunity_id, stage, min(entered_at) AS entered_at
            FROM stages SEMI JOIN d USING (opportunity_id) GROUP BY ALL
        ), open_h AS (
            SELECT * FROM h WHERE NOT {says}
        ), historied AS (
            SELECT DISTINCT opportunity_id FROM h
        ), exported AS (
            SELECT * FROM d ANTI JOIN historied USING (opportunity_id)
        ), named AS (
            SELECT stage, min(entered_at) AS first FROM open_h GROUP BY stage
            UNION ALL SELECT stage, NULL FROM exported WHERE status = 'open'
        ), ordered AS (
            SELECT stage, row_number() OVER (
                ORDER BY {_on(RANK, "stage")}, min(first) NULLS LAST, stage) - 1 AS idx
            FROM named GROUP BY stage
        ), won_row AS (
            SELECT count(*) AS idx FROM ordered
        ), reached AS (
            SELECT opportunity_id, idx FROM open_h JOIN ordered USING (stage)
            UNION
            SELECT opportunity_id, (SELECT idx FROM won_row) FROM d
            SEMI JOIN historied USING (opportunity_id) WHERE status = 'won'
            UNION
            SELECT e.opportunity_id, o.idx FROM exported e
            JOIN ordered x ON e.status = 'open' AND e.stage = x.stage
            JOIN ordered o ON o.idx <= x.idx
            UNION
            SELECT e.opportunity_id, r.idx
            FROM exported e CROSS JOIN (SELECT unnest(range(0, idx + 1)) AS idx FROM won_row) r
            WHERE e.status = 'won'
            UNION
            SELECT opportunity_id, 0 FROM exported
            WHERE status = 'lost' AND (SELECT idx FROM won_row) > 0
        ), entered AS (
            SELECT idx, count(*) AS n FROM reached GROUP BY idx
        ), onward AS (
            SELECT a.idx, count(*) AS n FROM reached a
            JOIN reached b ON a.opportunity_id = b.opportunity_id AND b.idx = a.idx + 1
            GROUP BY a.idx
        )
        SELECT coalesce(o.stage, 'Won') AS stage, coalesce(e.n, 0) AS entered,
               CASE WHEN r.idx < w.idx THEN coalesce(x.n, 0) END AS reached_next,
               CASE WHEN r.idx < w.idx THEN coalesce(x.n, 0) / nullif(coalesce(e.n, 0), 0) END
                   AS conversion_pct
        FROM won_row w CROSS JOIN (SELECT unnest(range(0, idx + 1)) AS idx FROM won_row) r
        LEFT JOIN ordered o ON o.idx = r.idx
        LEFT JOIN entered e ON e.idx = r.idx
        LEFT JOIN onward x ON x.idx = r.idx
        WHERE (SELECT count(*) FROM d) > 0
        ORDER BY r.idx
    """
    return sql, params | {"s": start, "e": end}


INFLUENCE_DAYS = 30  # an invoice counts for a deal won up to 30 days before it


def influenced_revenue(view: View) -> tuple[str, Params]:
    """Per lead source, the won deals and the invoices they influenced: the one a deal
    names (dated within the reach of its close), else the customer's invoices dated on
    the close day or up to the reach after, for that customer's latest such deal."""
    deal_scope, params = _scope(view)
    line_scope, _ = _scope(view)
    start, end = _window(view)
    sql = f"""
        WITH won AS (
            SELECT opportunity_id, lead_source, customer_id, invoice_id, closed_date,
                   coalesce(amount, 0) AS amount
            FROM deals WHERE status = 'won' AND closed_date BETWEEN $s AND $e {deal_scope}
        ), span AS (
            SELECT min(closed_date) - $reach AS lo, max(closed_date) + $reach AS hi FROM won
        ), inv AS (
            SELECT invoice_id, customer_id, sale_date AS day, sum(net_sales) AS net_sales
            FROM lines, span WHERE sale_date BETWEEN span.lo AND span.hi {line_scope}
            GROUP BY ALL
        ), named AS (
            SELECT w.opportunity_id, i.invoice_id, i.net_sales
            FROM won w JOIN inv i USING (invoice_id)
            WHERE abs(date_diff('day', w.closed_date, i.day)) <= $reach
        ), after AS (
            SELECT arg_max(w.opportunity_id, w.closed_date) AS opportunity_id,
                   i.invoice_id, any_value(i.net_sales) AS net_sales
            FROM inv i JOIN won w
              ON w.invoice_id IS NULL AND w.customer_id = i.customer_id
             AND w.closed_date BETWEEN i.day - $reach AND i.day
            WHERE i.invoice_id NOT IN (SELECT invoice_id FROM named)
            GROUP BY i.invoice_id
        ), per_deal AS (
            SELECT opportunity_id, count(*) AS invoices, sum(net_sales) AS net_sales
            FROM (SELECT * FROM named UNION ALL SELECT opportunity_id, invoice_id, net_sales
                  FROM after)
            GROUP BY opportunity_id
        )
        SELECT lead_source, count(*) AS won_deals, sum(amount) AS won_amount,
               count(p.invoices) AS linked_deals,
               coalesce(sum(p.invoices), 0) AS influenced_invoices,
               coalesce(sum(p.net_sales), 0) AS influenced_net_sales
        FROM won LEFT JOIN per_deal p USING (opportunity_id)
        GROUP BY lead_source
        ORDER BY influenced_net_sales DESC, won_amount DESC, lead_source NULLS LAST
    """
    return sql, params | {"s": start, "e": end, "reach": INFLUENCE_DAYS}


ACTIVITY_TYPES = ("call", "visit", "meeting", "email", "quote", "demo", "other")


def activities(view: View) -> tuple[str, Params]:
    """Per activity type: each activity counts on the deal it names, else on its
    customer's deal open when it was done (the latest created); only through a deal in
    scope. Activities in the window, the deals they touched, and the deals closed in the
    window with one of the type done by the close."""
    scope, params = _scope(view, "d")
    closed_scope, _ = _scope(view)
    start, end = _window(view)
    types = ", ".join(f"'{t}'" for t in ACTIVITY_TYPES)
    sql = f"""
        WITH acts AS (
            SELECT activity_id, type, done_at, done_date, opportunity_id, customer_id
            FROM activities WHERE done_date <= $e
        ), links AS (
            SELECT activity_id, type, done_at, done_date, opportunity_id
            FROM acts WHERE opportunity_id IS NOT NULL
            UNION ALL
            SELECT a.activity_id, a.type, a.done_at, a.done_date, d.opportunity_id
            FROM acts a JOIN deals d ON d.customer_id = a.customer_id
            WHERE a.opportunity_id IS NULL AND d.created_at <= a.done_at
              AND (d.closed_at IS NULL OR a.done_at <= d.closed_at)
            QUALIFY row_number() OVER (
                PARTITION BY a.activity_id ORDER BY d.created_at DESC, d.opportunity_id) = 1
        ), flagged AS (
            SELECT l.type, l.opportunity_id, d.status,
                   l.done_date BETWEEN $s AND $e AS in_window,
                   d.status IN ('won', 'lost') AND d.closed_date BETWEEN $s AND $e
                       AND l.done_at <= d.closed_at AS by_close
            FROM links l JOIN deals d USING (opportunity_id)
            WHERE true {scope}
        ), counted AS (
            SELECT type AS activity_type,
                   count(*) FILTER (in_window) AS activities,
                   count(DISTINCT opportunity_id) FILTER (in_window) AS deals_touched,
                   count(DISTINCT opportunity_id) FILTER (by_close AND status = 'won')
                       AS won_touched,
                   count(DISTINCT opportunity_id) FILTER (by_close AND status = 'lost')
                       AS lost_touched,
                   count(*) FILTER (by_close AND status = 'won') AS won_activities
            FROM flagged GROUP BY type
        ), per_type AS (
            SELECT * FROM counted WHERE activities > 0 OR won_touched + lost_touched > 0
        ), closed AS (
            SELECT count(*) FILTER (status = 'won') AS won,
                   count(*) FILTER (status = 'lost') AS lost
            FROM deals
            WHERE status IN ('won', 'lost') AND closed_date BETWEEN $s AND $e {closed_scope}
        )
        SELECT activity_type, activities, deals_touched, won_touched AS won_deals_touched,
               won_activities / nullif(won, 0) AS activities_per_won_deal,
               won_touched / nullif(won_touched + lost_touched, 0) AS win_rate_with,
               (won - won_touched) / nullif(won + lost - won_touched - lost_touched, 0)
                   AS win_rate_without
        FROM per_type, closed
        ORDER BY list_position([{types}], activity_type)
    """
    return sql, params | {"s": start, "e": end}


PIPELINE_SQL: dict[str, Callable[[View], tuple[str, Params]]] = {
    "pipeline": summary,
    "pipeline-salespeople": _by_member("salesperson"),
    "pipeline-branches": _by_member("branch"),
    "pipeline-lead-sources": _by_member("lead_source"),
    "funnel": funnel,
    "lost-reasons": lost_reasons,
    "influenced-revenue": influenced_revenue,
    "activities": activities,
}
# Areas whose row order is part of the answer (the funnel's stages run in order); the
# others are compared by their key, as ties in their sort may fall either way.
ORDERED = frozenset({"funnel", "activities"})
# Sums of amounts in another order differ in the last bits.
RELATIVE_TOLERANCE = 1e-9


def agreement(area: str, got: pl.DataFrame, expected: pl.DataFrame) -> str | None:
    """None when the store's table for `area` holds DuckDB's figures, else the first
    difference (in a line)."""
    if got.columns != expected.columns:
        return f"columns differ: {got.columns} vs {expected.columns}"
    if got.height != expected.height:
        return f"{got.height} rows vs DuckDB's {expected.height}"
    if area not in ORDERED:
        keys = [c for c, t in got.schema.items() if t == pl.String]
        if keys:
            got, expected = got.sort(keys, nulls_last=True), expected.sort(keys, nulls_last=True)
    try:
        assert_frame_equal(
            got, expected, check_dtypes=False, check_exact=False, rel_tol=RELATIVE_TOLERANCE
        )
    except AssertionError as exc:
        return " ".join(str(exc).split())[:300]
    return None
