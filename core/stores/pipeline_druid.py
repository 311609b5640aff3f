"""The CRM datasets in Druid: datasources of their own beside the sales lines.

Deals, stage history and activities live in `<datasource>_opportunities`,
`<datasource>_stages` and `<datasource>_activities`, each written by
`KeyedDatasource` (core/stores/keyed_druid.py: one all-or-nothing MSQ
task per write); this store reads them. Days are stored as epoch-day numbers
(`created_day`, `closed_day`, `entered_day`, `done_day`: business days
computed at ingest), so a deal's cycle and age are integer differences in any
query time zone; instants as epoch milliseconds.

The SQL text is built from our own constants only: column names, the staged
file's path, a generated write id; query values are typed parameters.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from core.opportunities import DIMENSIONS, TEXT_COLUMNS
from core.pipeline_datasets import (
    ACTIVITIES,
    OPPORTUNITIES,
    STAGES,
    KeyedDataset,
    combined_version,
)
from core.pipeline_store import (
    ACTIVITY_LINK_COLUMNS,
    DEAL_LINK_COLUMNS,
    FACT_SCHEMA,
    OPEN_DEAL_COLUMNS,
    STAGE_SCHEMA,
    WON_DEAL_SCHEMA,
    activity_links,
    check_by,
    stage_history,
)
from core.store import Progress, Scope, StoreHealth, Window, WriteMode, WriteResult
from core.stores.druid_http import DruidClient, SqlParameter, parameter
from core.stores.druid_sql import quote
from core.stores.keyed_druid import DruidLayout, KeyedDatasource

EPOCH = date(1970, 1, 1)
CLOSED = "('won', 'lost')"


def epoch_day(day: date) -> int:
    return (day - EPOCH).days


def _day(number: pl.Expr) -> pl.Expr:
    return (pl.lit(EPOCH) + pl.duration(days=number)).cast(pl.Date)


def _epoch_days(column: str) -> pl.Expr:
    return (pl.col(column) - pl.lit(EPOCH)).dt.total_days()


def _instant(milliseconds: pl.Expr) -> pl.Expr:
    return (
        pl.from_epoch(milliseconds, time_unit="ms")
        .dt.cast_time_unit("us")
        .dt.replace_time_zone("UTC")
    )


def to_staged(deals: pl.DataFrame) -> pl.DataFrame:
    """Stored deals (`StoredOpportunity`) as the JSON lines the ingestion task reads."""
    return deals.select(
        pl.col("created_at").dt.epoch("ms").alias("created_ms"),
        *[pl.col(c) for c in TEXT_COLUMNS],
        pl.col("status"),
        pl.col("expected_close").dt.strftime("%Y-%m-%d").alias("expected_close"),
        pl.col("closed_at").dt.epoch("ms").alias("closed_ms"),
        _epoch_days("created_date").alias("created_day"),
        _epoch_days("closed_date").alias("closed_day"),
        pl.col("amount").cast(pl.Float64),
    )


def stages_to_staged(entries: pl.DataFrame) -> pl.DataFrame:
    """Stored stage entries (`StoredStageEntry`) as JSON lines."""
    return entries.select(
        "opportunity_id",
        "stage",
        pl.col("entered_at").dt.epoch("ms").alias("entered_ms"),
        _epoch_days("entered_date").alias("entered_day"),
    )


def activities_to_staged(activities: pl.DataFrame) -> pl.DataFrame:
    """Stored activities (`StoredActivity`) as JSON lines."""
    return activities.select(
        *ACTIVITY_STRINGS,
        pl.col("done_at").dt.epoch("ms").alias("done_ms"),
        _epoch_days("done_date").alias("done_day"),
    )


DEALS_LAYOUT = DruidLayout(
    time="created_ms",
    strings=(*TEXT_COLUMNS, "status", "expected_close"),
    longs=("closed_ms", "created_day", "closed_day"),
    doubles=("amount",),
    key=("opportunity_id",),
    clustered_by="branch",
    to_staged=to_staged,
)
# The entry time is a plain column as well as `__time`: it is part of the key.
STAGES_LAYOUT = DruidLayout(
    time="entered_ms",
    strings=("opportunity_id", "stage"),
    longs=("entered_ms", "entered_day"),
    doubles=(),
    key=("opportunity_id", "stage", "entered_ms"),
    clustered_by="opportunity_id",
    to_staged=stages_to_staged,
)
ACTIVITY_STRINGS: tuple[str, ...] = (
    "activity_id",
    "type",
    "salesperson",
    "opportunity_id",
    "customer_id",
    "outcome",
)
ACTIVITIES_LAYOUT = DruidLayout(
    time="done_ms",
    strings=ACTIVITY_STRINGS,
    longs=("done_ms", "done_day"),
    doubles=(),
    key=("activity_id",),
    clustered_by="type",
    to_staged=activities_to_staged,
)


def sibling(datasource: str, dataset: KeyedDataset) -> str:
    """The datasource of `dataset` beside the deals' `datasource` (`<base>_<name>`)."""
    return f"{datasource.removesuffix('_' + OPPORTUNITIES.name)}_{dataset.name}"


def _members(scope: Scope) -> tuple[list[str], list[SqlParameter]]:
    conditions: list[str] = []
    params: list[SqlParameter] = []
    for column, values in scope.member_filters():
        conditions.append(f"{quote(column)} IN ({', '.join('?' * len(values))})")
        params += [parameter(v) for v in values]
    return conditions, params


def _where(conditions: list[str]) -> str:
    return (" WHERE " + " AND ".join(conditions)) if conditions else ""


class DruidPipelineStore:
    """`PipelineStore` over the deals' Druid datasource and the two beside it."""

    name = "druid"

    def __init__(
        self,
        client: DruidClient,
        datasource: str,
        timezone: str = "Africa/Nairobi",
        staging_dir: Path | None = None,
    ) -> None:
        self.client = client
        self.datasource = datasource
        self.timezone = timezone
        self.staging_dir = staging_dir

        def keyed(name: str, dataset: KeyedDataset, layout: DruidLayout) -> KeyedDatasource:
            return KeyedDatasource(client, name, dataset, layout, timezone, staging_dir)

        self.deals = keyed(datasource, OPPORTUNITIES, DEALS_LAYOUT)
        self.stages = keyed(sibling(datasource, STAGES), STAGES, STAGES_LAYOUT)
        self.activities = keyed(sibling(datasource, ACTIVITIES), ACTIVITIES, ACTIVITIES_LAYOUT)

    # ----------------------------------------------------------------- reading

    def _rows(
        self, sql: str, params: list[SqlParameter], scope: Scope | None = None
    ) -> list[list[Any]]:
        if scope is not None and any(not values for _, values in scope.member_filters()):
            return []  # an empty branch restriction matches nothing (Druid cannot plan FALSE)
        return self.deals.rows(sql, params)

    def _frame(
        self,
        sql: str,
        schema: dict[str, pl.DataType],
        params: list[SqlParameter],
        scope: Scope | None = None,
    ) -> pl.DataFrame:
        """`_rows` as a frame of `schema`, for reads of many rows."""
        if scope is not None and any(not values for _, values in scope.member_filters()):
            return pl.DataFrame(schema=schema)
        return self.deals.frame(sql, schema, params)

    def facts(self, scope: Scope, window: Window, by: tuple[str, ...] = ()) -> pl.DataFrame:
        check_by(by)
        start, end = epoch_day(window.start), epoch_day(window.end)
        inside = f'("status" IN {CLOSED} AND "closed_day" >= ? AND "closed_day" <= ?)'
        keys = [quote(c) for c in by]
        select = [
            *keys,
            f"CASE WHEN {inside} THEN \"status\" ELSE 'open' END",
            f'CASE WHEN {inside} THEN "closed_day" - "created_day" ELSE ? - "created_day" END',
            "COUNT(*)",
            'SUM(COALESCE("amount", 0))',
        ]
        params: list[SqlParameter] = [parameter(x) for x in (start, end, start, end, end)]
        members, member_params = _members(scope)
        open_at_end = '("created_day" <= ? AND ("status" = \'open\' OR "closed_day" > ?))'
        conditions = [*members, f"({inside} OR {open_at_end})"]
        params += [*member_params, *(parameter(x) for x in (start, end, end, end))]
        groups = ", ".join(str(i) for i in range(1, len(by) + 3))
        sql = (
            f"SELECT {', '.join(select)} FROM {quote(self.datasource)}{_where(conditions)} "
            f"GROUP BY {groups}"
        )
        schema = {**{c: pl.String() for c in by}, **FACT_SCHEMA}
        rows = self._rows(sql, params, scope)
        frame = pl.DataFrame(rows, schema=schema, orient="row")
        return frame.sort(*by, "outcome", "days", nulls_last=True)

    def stage_counts(self, scope: Scope, window: Window) -> pl.DataFrame:
        members, params = _members(scope)
        conditions = [*members, '"created_day" >= ? AND "created_day" <= ?']
        params += [parameter(epoch_day(window.start)), parameter(epoch_day(window.end))]
        sql = (
            'SELECT "stage", "status", COUNT(*), SUM(COALESCE("amount", 0)) '
            f"FROM {quote(self.datasource)}{_where(conditions)} GROUP BY 1, 2"
        )
        frame = pl.DataFrame(self._rows(sql, params, scope), schema=STAGE_SCHEMA, orient="row")
        return frame.sort("stage", "status")

    def stage_history(self, scope: Scope, window: Window) -> pl.DataFrame:
        members, params = _members(scope)
        conditions = [*members, '"created_day" >= ? AND "created_day" <= ?']
        params += [parameter(epoch_day(window.start)), parameter(epoch_day(window.end))]
        created = f"FROM {quote(self.datasource)}{_where(conditions)}"
        text = pl.String()
        deals = self._frame(
            f'SELECT "opportunity_id", "status", "stage" {created}',
            {"opportunity_id": text, "status": text, "stage": text},
            params,
            scope,
        )
        # Only the rows of the window's deals leave Druid.
        sql = (
            'SELECT "opportunity_id", "stage", MIN("entered_ms") '
            f"FROM {quote(self.stages.datasource)} "
            f'WHERE "opportunity_id" IN (SELECT "opportunity_id" {created}) GROUP BY 1, 2'
        )
        schema = {"opportunity_id": text, "stage": text, "entered_ms": pl.Int64()}
        entries = (
            self._frame(sql, schema, params, scope) if len(deals) else pl.DataFrame(schema=schema)
        ).select("opportunity_id", "stage", entered_at=_instant(pl.col("entered_ms")))
        return stage_history(deals.lazy(), entries.lazy()).collect()

    def activity_links(self) -> pl.DataFrame:
        # Which deal an activity counts on depends on every deal, not the scope's only.
        deal_sql = (
            'SELECT "opportunity_id", "customer_id", TIMESTAMP_TO_MILLIS("__time"), "closed_ms", '
            '"status", "closed_day", "branch", "product_line", "product_id", "salesperson" '
            f"FROM {quote(self.datasource)}"
        )
        deal_schema: dict[str, pl.DataType] = {c: pl.String() for c in DEAL_LINK_COLUMNS}
        deal_schema |= {
            "created_at": pl.Int64(),
            "closed_at": pl.Int64(),
            "closed_date": pl.Int64(),
        }
        deals = self._frame(deal_sql, deal_schema, []).with_columns(
            created_at=_instant(pl.col("created_at")),
            closed_at=_instant(pl.col("closed_at")),
            closed_date=_day(pl.col("closed_date")),
        )
        activity_sql = (
            'SELECT "activity_id", "type", "done_ms", "done_day", "opportunity_id", "customer_id" '
            f"FROM {quote(self.activities.datasource)}"
        )
        activity_schema: dict[str, pl.DataType] = {c: pl.String() for c in ACTIVITY_LINK_COLUMNS}
        activity_schema |= {"done_at": pl.Int64(), "done_date": pl.Int64()}
        done = (
            self._frame(activity_sql, activity_schema, [])
            if len(deals)
            else pl.DataFrame(schema=activity_schema)
        ).with_columns(done_at=_instant(pl.col("done_at")), done_date=_day(pl.col("done_date")))
        return activity_links(deals, done)

    def open_deals(self, scope: Scope, as_of: date, limit: int) -> pl.DataFrame:
        members, params = _members(scope)
        day = epoch_day(as_of)
        conditions = [*members, '"created_day" <= ? AND ("status" = \'open\' OR "closed_day" > ?)']
        params += [parameter(day), parameter(day), parameter(limit)]
        wanted = [c for c in OPEN_DEAL_COLUMNS if c != "created_date"]
        sql = (
            f'SELECT "__time", "created_day", {", ".join(quote(c) for c in wanted)} '
            f'FROM {quote(self.datasource)}{_where(conditions)} ORDER BY "__time" LIMIT ?'
        )
        schema: dict[str, pl.DataType] = {"__time": pl.String(), "created_day": pl.Int64()}
        schema |= {c: pl.Float64() if c == "amount" else pl.String() for c in wanted}
        frame = pl.DataFrame(self._rows(sql, params, scope), schema=schema, orient="row")
        return (
            frame.with_columns(
                created_date=_day(pl.col("created_day")),
                expected_close=pl.col("expected_close").str.to_date("%Y-%m-%d"),
            )
            .sort("__time", "opportunity_id")
            .select(OPEN_DEAL_COLUMNS)
        )

    def won_deals(self, scope: Scope, window: Window) -> pl.DataFrame:
        members, params = _members(scope)
        conditions = [*members, '"status" = \'won\' AND "closed_day" BETWEEN ? AND ?']
        params += [parameter(epoch_day(window.start)), parameter(epoch_day(window.end))]
        columns = ["opportunity_id", "lead_source", "customer_id", "invoice_id", "closed_day"]
        sql = (
            f'SELECT {", ".join(quote(c) for c in columns)}, "amount" '
            f"FROM {quote(self.datasource)}{_where(conditions)}"
        )
        schema = {**{c: pl.String() for c in columns}, "closed_day": pl.Int64()}
        schema["amount"] = pl.Float64()
        frame = pl.DataFrame(self._rows(sql, params, scope), schema=schema, orient="row")
        return (
            frame.with_columns(
                closed_date=_day(pl.col("closed_day")), amount=pl.col("amount").fill_null(0.0)
            )
            .select(list(WON_DEAL_SCHEMA))
            .sort("closed_date", "opportunity_id")
            .cast(WON_DEAL_SCHEMA)  # type: ignore[arg-type]
        )

    def distinct_values(self, column: str, scope: Scope) -> list[str]:
        if column not in DIMENSIONS:
            raise ValueError(f"unknown column {column!r}: expected one of {', '.join(DIMENSIONS)}")
        members, params = _members(scope)
        conditions = [*members, f"{quote(column)} IS NOT NULL"]
        sql = (
            f"SELECT {quote(column)} FROM {quote(self.datasource)}{_where(conditions)} "
            "GROUP BY 1 ORDER BY 1"
        )
        return sorted(str(r[0]) for r in self._rows(sql, params, scope) if r[0])

    def date_range(self, scope: Scope) -> Window | None:
        members, params = _members(scope)
        sql = (
            f'SELECT MIN("created_day"), GREATEST(MAX("created_day"), '
            f'COALESCE(MAX("closed_day"), MAX("created_day"))), COUNT(*) '
            f"FROM {quote(self.datasource)}{_where(members)}"
        )
        rows = self._rows(sql, params, scope)
        if not rows or not rows[0][2]:
            return None
        first, last, _ = rows[0]
        return Window(EPOCH + timedelta(days=int(first)), EPOCH + timedelta(days=int(last)))

    def count(self, scope: Scope) -> int:
        members, params = _members(scope)
        sql = f"SELECT COUNT(*) FROM {quote(self.datasource)}{_where(members)}"
        rows = self._rows(sql, params, scope)
        return int(rows[0][0]) if rows else 0

    # ----------------------------------------------------------------- writing

    def write(
        self, deals: pl.DataFrame, mode: WriteMode, progress: Progress | None = None
    ) -> WriteResult:
        return self.deals.write(deals, mode, progress)

    # ------------------------------------------------------------------ health

    def health(self) -> StoreHealth:
        return self.deals.health()

    def data_version(self) -> str:
        return combined_version(
            [self.deals.data_version(), self.stages.data_version(), self.activities.data_version()]
        )
