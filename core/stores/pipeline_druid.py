"""Opportunities in Druid: their own datasource (`<datasource>_opportunities`).

Every write is one SQL-based ingestion task, `REPLACE ... OVERWRITE ALL`,
published in one metadata transaction like the sales writes
(core/stores/druid_ingest.py): an append is the stored deals FULL OUTER
JOINed with the staged incoming ones on `opportunity_id`, the incoming deal
winning; a replace is the incoming deals alone. A failed task changes
nothing. The write reports done once the broker serves only rows carrying
its write id. Days are stored as epoch-day numbers (`created_day`,
`closed_day`, business days computed at ingest), so a deal's cycle and age
are integer differences in any query time zone.

The SQL text is built from our own constants only: column names, the staged
file's path, a generated write id; query values are typed parameters.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from core.opportunities import DIMENSIONS, STORED_COLUMNS, TEXT_COLUMNS, StoredOpportunity
from core.pipeline_store import (
    EMPTY_REPLACE,
    FACT_SCHEMA,
    OPEN_DEAL_COLUMNS,
    STAGE_SCHEMA,
    WON_DEAL_SCHEMA,
    check_by,
)
from core.store import Progress, Scope, StoreError, StoreHealth, Window, WriteMode, WriteResult
from core.stores import druid_segments as segments
from core.stores.druid_http import DruidClient, DruidQueryError, SqlParameter, parameter
from core.stores.druid_ingest import (
    LOAD_TIMEOUT_SECONDS,
    POLL_SECONDS,
    new_write_id,
    run_task,
)
from core.stores.druid_sql import query_context, quote, sql_string

EPOCH = date(1970, 1, 1)
STRING_COLUMNS: tuple[str, ...] = (*TEXT_COLUMNS, "status", "expected_close")
LONG_COLUMNS: tuple[str, ...] = ("closed_ms", "created_day", "closed_day")
DOUBLE_COLUMNS: tuple[str, ...] = ("amount",)
DATA_COLUMNS: tuple[str, ...] = (*STRING_COLUMNS, *LONG_COLUMNS, *DOUBLE_COLUMNS)
IDENTITY = "opportunity_id"
CLOSED = "('won', 'lost')"


def epoch_day(day: date) -> int:
    return (day - EPOCH).days


def _day(number: pl.Expr) -> pl.Expr:
    return (pl.lit(EPOCH) + pl.duration(days=number)).cast(pl.Date)


def to_staged(deals: pl.DataFrame) -> pl.DataFrame:
    """Stored deals (`StoredOpportunity`) as the JSON lines the ingestion task reads."""
    return deals.select(
        pl.col("created_at").dt.epoch("ms").alias("created_ms"),
        *[pl.col(c) for c in TEXT_COLUMNS],
        pl.col("status"),
        pl.col("expected_close").dt.strftime("%Y-%m-%d").alias("expected_close"),
        pl.col("closed_at").dt.epoch("ms").alias("closed_ms"),
        (pl.col("created_date") - pl.lit(EPOCH)).dt.total_days().alias("created_day"),
        (pl.col("closed_date") - pl.lit(EPOCH)).dt.total_days().alias("closed_day"),
        pl.col("amount").cast(pl.Float64),
    )


def _extern(path: Path) -> str:
    source = {"type": "local", "files": [str(path)]}
    signature = [{"name": "created_ms", "type": "long"}]
    signature += [{"name": c, "type": "string"} for c in STRING_COLUMNS]
    signature += [{"name": c, "type": "long"} for c in LONG_COLUMNS]
    signature += [{"name": c, "type": "double"} for c in DOUBLE_COLUMNS]
    return (
        f"TABLE(EXTERN({sql_string(json.dumps(source))}, "
        f"{sql_string(json.dumps({'type': 'json'}))}, {sql_string(json.dumps(signature))}))"
    )


def replace_sql(datasource: str, staged: Path, write_id: str, keep_existing: bool) -> str:
    """The one statement of a write: the whole datasource's new content."""
    columns = ("__time", *DATA_COLUMNS)
    incoming = (
        f'SELECT MILLIS_TO_TIMESTAMP("created_ms") AS "__time", '
        f"{', '.join(quote(c) for c in DATA_COLUMNS)} FROM {_extern(staged)}"
    )
    tag = f'{sql_string(write_id)} AS "write_id"'
    if keep_existing:
        existing = f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(datasource)}"
        picks = ", ".join(
            f'CASE WHEN n."{IDENTITY}" IS NOT NULL THEN n.{q} ELSE o.{q} END AS {q}'
            for q in map(quote, columns)
        )
        body = (
            f"SELECT {picks}, {tag}\nFROM ({existing}) o\nFULL OUTER JOIN ({incoming}) n\n"
            f'ON o."{IDENTITY}" = n."{IDENTITY}"'
        )
    else:
        body = f"SELECT {', '.join(quote(c) for c in columns)}, {tag} FROM ({incoming})"
    return (
        f"REPLACE INTO {quote(datasource)} OVERWRITE ALL\n{body}\n"
        'PARTITIONED BY ALL\nCLUSTERED BY "branch"'
    )


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
    """`PipelineStore` over a Druid datasource of its own."""

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

    # ----------------------------------------------------------------- reading

    def _rows(
        self, sql: str, params: list[SqlParameter], scope: Scope | None = None
    ) -> list[list[Any]]:
        if scope is not None and any(not values for _, values in scope.member_filters()):
            return []  # an empty branch restriction matches nothing (Druid cannot plan FALSE)
        try:
            _, rows = self.client.sql(sql, params, query_context(self.timezone))
        except DruidQueryError as exc:
            if exc.unknown_table:
                return []
            raise StoreError(f"Druid could not answer: {exc.druid_message}") from exc
        return rows

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

    def _stored_ids(self) -> set[str]:
        rows = self._rows(f'SELECT "{IDENTITY}" FROM {quote(self.datasource)}', [])
        return {str(r[0]) for r in rows}

    def write(
        self, deals: pl.DataFrame, mode: WriteMode, progress: Progress | None = None
    ) -> WriteResult:
        report = progress or (lambda _stage, _fraction: None)
        deals = StoredOpportunity.validate(deals.select(STORED_COLUMNS))
        if deals.is_empty():
            if mode == "append":
                return WriteResult(0, 0, 0, None)
            raise StoreError(EMPTY_REPLACE)
        window = Window(deals["created_date"].min(), deals["created_date"].max())  # type: ignore[arg-type]
        report("checking", 0.0)
        stored = self._stored_ids()
        incoming = set(deals[IDENTITY].to_list())
        if mode == "replace":
            result = WriteResult(len(deals), 0, len(stored), window)
            expected = len(deals)
        else:
            updated = len(incoming & stored)
            result = WriteResult(len(deals) - updated, updated, 0, window)
            expected = len(stored | incoming)
        write_id = new_write_id()
        directory = Path(tempfile.mkdtemp(prefix="druid-deals-", dir=self._staging_root()))
        try:
            os.chmod(directory, 0o755)  # Druid may run as another user (containers)
            staged = directory / "deals.json"
            to_staged(deals).write_ndjson(staged)
            os.chmod(staged, 0o644)
            sql = replace_sql(self.datasource, staged, write_id, bool(stored) and mode == "append")
            run_task(self.client, sql, report)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        self._wait_queryable(write_id, expected)
        report("written", 1.0)
        return result

    def _staging_root(self) -> Path | None:
        if self.staging_dir is not None:
            self.staging_dir.mkdir(parents=True, exist_ok=True)
        return self.staging_dir

    def _wait_queryable(self, write_id: str, expected: int) -> None:
        """Until the broker serves exactly this write's rows (the old segments dropped)."""
        sql = (
            f'SELECT COUNT(*), COUNT(*) FILTER (WHERE "write_id" = ?) FROM {quote(self.datasource)}'
        )
        started = time.monotonic()
        seen = (0, 0)
        while time.monotonic() - started < LOAD_TIMEOUT_SECONDS:
            rows = self._rows(sql, [parameter(write_id)])
            if rows:
                seen = (int(rows[0][0]), int(rows[0][1]))
                if seen == (expected, expected):
                    return
            time.sleep(POLL_SECONDS)
        raise StoreError(
            f"Druid accepted the write but serves {seen[1]} of its {expected} deals "
            f"({seen[0]} in all) after {LOAD_TIMEOUT_SECONDS:.0f} s"
        )

    # ------------------------------------------------------------------ health

    def health(self) -> StoreHealth:
        try:
            rows = self.count(Scope())
        except StoreError as exc:
            return StoreHealth(self.name, False, str(exc), {"datasource": self.datasource})
        return StoreHealth(
            self.name,
            True,
            f"{rows:,} opportunities in {self.datasource}",
            {"datasource": self.datasource, "rows": rows},
        )

    def data_version(self) -> str:
        return segments.listed(self.client, self.datasource).data_version
