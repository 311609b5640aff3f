"""The Druid store: every aggregation runs in Apache Druid, through Druid SQL over HTTP.

Reads are Druid SQL with typed parameters (`druid_sql`), run with exact
distinct counts, exact top-N and `sqlTimeZone` set to the business time
zone, so day, week, month, quarter and year buckets are business days in
Africa/Nairobi as in the embedded store. Writes are SQL-based ingestion
tasks that replace whole months (`druid_ingest`). Druid being down or
refusing a query surfaces as `StoreError` with a message fit for a user.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from core.schema import STORED_COLUMNS, TEXT_COLUMNS, StoredLine
from core.store import (
    DISTINCT_MEASURES,
    MEASURE_DTYPES,
    MEASURES,
    Grain,
    Progress,
    Scope,
    StoreError,
    StoreHealth,
    TargetWriteResult,
    Window,
    WriteMode,
    WriteResult,
    active_months_grouped,
    asks_first_sales,
)
from core.stores import druid_first_sales as first_sales
from core.stores import druid_ingest as ingest
from core.stores import druid_segments as segments
from core.stores import druid_sql
from core.stores import druid_targets as targets
from core.stores import invoice_heads as heads
from core.stores.druid_http import (
    DruidClient,
    DruidQueryError,
    DruidTimeout,
    SqlParameter,
    parameter,
)
from core.stores.latest import LATEST_TIME, pick_latest
from core.targets import StoredTarget, merged

# Columns of few members whose distinct customers Druid counts from masks (the members
# are listed first, which for a column of many, a customer's name, would cost more).
MASKED_COLUMNS = ("branch", "salesperson", "product_line", "customer_type", "payment_method")
# Health checks of individual services must not hang the Diagnostics page.
SERVICE_CHECK_TIMEOUT_SECONDS = 2.0
# Customer or invoice ids one query filters on at most (`DruidStore._in_chunks`).
MAX_IN_VALUES = 1_000

log = logging.getLogger("core.store")


def _parse_day(value: object) -> date | None:
    return None if value in (None, "") else date.fromisoformat(str(value))


def _parse_instant(value: object) -> datetime | None:
    """An ISO instant from a Druid system table (`...Z`) as an aware UTC datetime."""
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


class DruidStore:
    """`SalesStore` over the Druid datasource `datasource` behind the router at `url`."""

    name = "druid"

    def __init__(
        self,
        url: str,
        datasource: str = "sales_analytics",
        timezone: str = "Africa/Nairobi",
        staging_dir: Path | None = None,
        client: DruidClient | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.datasource = datasource
        self.timezone = timezone
        self.tz = ZoneInfo(timezone)
        self.staging_dir = staging_dir
        self.client = client or DruidClient(self.url)
        self._write_lock = threading.Lock()
        # The parts of one aggregate (sums, each distinct count) run side by side.
        self._pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="druid-query")

    # ----------------------------------------------------------------- reading

    def _query(
        self,
        sql: str,
        params: list[dict[str, Any]],
        context: dict[str, Any] | None = None,
        scope: Scope | None = None,
    ) -> tuple[list[str], list[list[Any]]] | None:
        """Rows of a read, or None when nothing can match (no datasource yet, or a void scope)."""
        if scope is not None and druid_sql.matches_nothing(scope):
            return None
        try:
            return self.client.sql(sql, params, context or druid_sql.query_context(self.timezone))
        except DruidTimeout:
            raise
        except DruidQueryError as exc:
            if exc.unknown_table:
                return None
            if ingest.missing_flags(exc):
                raise _NoFlags from exc
            raise StoreError(f"Druid could not answer: {exc.druid_message}") from exc

    def _aggregate_part(
        self,
        scope: Scope,
        window: Window | None,
        by: tuple[str, ...],
        grain: Grain | None,
        measures: tuple[str, ...],
        orders_head: str | None = None,
    ) -> pl.DataFrame:
        """One query's rows as a typed frame (dates parsed)."""
        # A void scope is answered without a query (see _query); the SQL is built without it.
        buildable = Scope() if druid_sql.matches_nothing(scope) else scope
        sql, params = druid_sql.aggregate(
            self.datasource, buildable, window, by, grain, measures, orders_head
        )
        schema: dict[str, pl.DataType] = {column: pl.String() for column in by}
        if grain is not None:
            schema["period"] = pl.Date()
        schema.update({m: MEASURE_DTYPES[m] for m in measures})
        if orders_head is not None:
            schema[druid_sql.UNSURE] = pl.Int64()
        answer = self._query(sql, params, scope=scope)
        rows = answer[1] if answer else []
        raw = {name: _wire_type(dtype) for name, dtype in schema.items()}
        frame = pl.DataFrame(rows, schema=raw, orient="row")
        return frame.with_columns(
            *(druid_sql.day_of(pl.col(c)) for c, t in schema.items() if t == pl.Date()),
            *(
                pl.from_epoch(pl.col(c), "ms").dt.replace_time_zone("UTC").dt.cast_time_unit("us")
                for c, t in schema.items()
                if isinstance(t, pl.Datetime)
            ),
        )

    def aggregate(
        self,
        scope: Scope,
        window: Window | None,
        by: tuple[str, ...] = (),
        grain: Grain | None = None,
        measures: tuple[str, ...] = MEASURES,
        latest: tuple[str, ...] = (),
    ) -> pl.DataFrame:
        chunked = self._in_chunks(scope, window, by, grain, measures, latest)
        if chunked is not None:
            return chunked
        if asks_first_sales(scope, window, by, grain, measures, latest):
            recorded = self._recorded_first_sales()
            if recorded is not None:
                return recorded
        # `orders` is a sum of invoice heads where that is exact (core/stores/invoice_heads.py),
        # beside the other sums. Each remaining exact distinct count is its own query, run
        # concurrently: Druid plans several COUNT(DISTINCT) in one query as grouping sets,
        # measured 3x slower than apart.
        head = heads.head_column(by, scope.member_filters()) if "orders" in measures else None
        try:
            parts = _parts(measures, head)
            frames = self._run_parts(scope, window, by, grain, parts, head, latest)
        except _NoFlags:  # a datasource written before the flags: distinct counts only
            head = None
            frames = self._run_parts(scope, window, by, grain, _parts(measures, None), None, latest)
        keys = [*by, "period"] if grain is not None else list(by)
        if head is not None:
            frames[0] = self._recount_if_unsure(frames[0], scope, window, by, grain, keys)
        if not keys:  # one row per part even when nothing matched (a lone distinct count has none)
            frames = [
                pl.DataFrame([[None] * f.width], schema=f.schema, orient="row")
                if f.is_empty()
                else f
                for f in frames
            ]
        frame = frames[0]
        for other in frames[1:]:
            if keys:
                frame = frame.join(other, on=keys, how="full", coalesce=True, nulls_equal=True)
            else:
                frame = pl.concat([frame, other], how="horizontal")
        frame = frame.select(*keys, *measures, *latest)
        if keys and "customers" in measures:  # a group no customer part lists has none
            frame = frame.with_columns(pl.col("customers").fill_null(0))
        if not keys:
            # SQL sums over no rows are null; the protocol wants 0 (dates and times stay null).
            return frame.with_columns(
                pl.col(m).fill_null(0) for m in measures if MEASURE_DTYPES[m].is_numeric()
            )
        return frame.sort(keys, nulls_last=True)

    def _in_chunks(
        self,
        scope: Scope,
        window: Window | None,
        by: tuple[str, ...],
        grain: Grain | None,
        measures: tuple[str, ...],
        latest: tuple[str, ...],
    ) -> pl.DataFrame | None:
        """The answer as one query per `MAX_IN_VALUES` customers or invoices of `scope`,
        or None when no such list is longer.

        Druid 27 plans `IN (...)` in time growing faster than the list: 0.7 s for
        1,000 customer ids, 2.0 s for 2,000, 6 s for 4,000. Split by a column the
        query groups by, the chunks' groups are disjoint, so their rows together
        are the answer, whatever the measures.
        """
        for column, field in (("customer_id", "customers"), ("invoice_id", "invoices")):
            values: tuple[str, ...] = getattr(scope, field)
            if len(values) > MAX_IN_VALUES and column in by:
                parts = [
                    self.aggregate(
                        replace(scope, **{field: values[i : i + MAX_IN_VALUES]}),
                        window,
                        by,
                        grain,
                        measures,
                        latest,
                    )
                    for i in range(0, len(values), MAX_IN_VALUES)
                ]
                keys = [*by, "period"] if grain is not None else list(by)
                return pl.concat(parts).sort(keys, nulls_last=True)
        return None

    def _recorded_first_sales(self) -> pl.DataFrame | None:
        """Every customer's first sale from the record beside the lines
        (`druid_first_sales`), or None when it does not describe the lines published."""
        fingerprint = segments.listed(self.client, self.datasource).fingerprint
        if fingerprint is None:
            return None
        try:
            sql, params = first_sales.read_sql(self.datasource, fingerprint)
            _, rows = self.client.sql(sql, params, druid_sql.query_context(self.timezone))
        except DruidQueryError as exc:
            # Only a refusal (no record yet, a damaged one) is worth grouping the lines for:
            # a Druid that failed or timed out on the record would do so again on the lines.
            if isinstance(exc, DruidTimeout):
                raise
            if exc.status >= 500 or exc.status == 429:
                raise StoreError(f"Druid could not answer: {exc.druid_message}") from exc
            if not exc.unknown_table:
                log.warning("not reading the first sales record of %s: %s", self.datasource, exc)
            return None
        if not rows:
            return None
        frame = pl.DataFrame(
            rows, schema={"customer_id": pl.String, "first_sale": pl.String}, orient="row"
        )
        return frame.with_columns(druid_sql.day_of(pl.col("first_sale"))).sort(
            "customer_id", nulls_last=True
        )

    def _run_parts(
        self,
        scope: Scope,
        window: Window | None,
        by: tuple[str, ...],
        grain: Grain | None,
        parts: list[tuple[str, ...]],
        head: str | None,
        latest: tuple[str, ...] = (),
    ) -> list[pl.DataFrame]:
        """Run the parts side by side, and the latest values as one more part."""

        fold = bool(latest) and _foldable(parts[0], head) and not set(latest) & set(by)

        def run(index: int) -> pl.DataFrame:
            if index == len(parts):
                return self._latest_part(scope, window, by, grain, latest)
            part = parts[index]
            part_head = head if "orders" in part else None
            if index == 0 and fold:
                return self._folded_part(scope, window, by, grain, part, part_head, latest)
            if part == ("customers",) and index > 0 and grain is None and len(by) == 1:
                counted = self._customers_by_mask(scope, window, by[0])
                if counted is not None:
                    return counted
            return self._aggregate_part(scope, window, by, grain, part, part_head)

        count = len(parts) + (1 if latest and not fold else 0)
        if count == 1:
            return [run(0)]
        futures = [self._pool.submit(run, index) for index in range(count)]
        return [future.result() for future in futures]

    def _customers_by_mask(
        self, scope: Scope, window: Window | None, column: str
    ) -> pl.DataFrame | None:
        """Distinct customers per member of `column`, from each customer's mask of members
        (`druid_sql.customer_masks`); None when the column has too many members for one.

        Only members with a customer are listed: the sums part beside it has every group,
        and `aggregate` counts 0 for the others.
        """
        if column not in MASKED_COLUMNS:
            return None
        members = self.distinct_values(column, scope)
        if len(members) + 1 > druid_sql.MAX_MASK_BITS:
            return None
        masks = self._masks(
            scope,
            lambda buildable: druid_sql.customer_masks(
                self.datasource, buildable, window, column, members
            ),
        )
        keys = [*members, None]
        has_bit = [((pl.col("mask") & (1 << k)) != 0).sum().alias(str(k)) for k in range(len(keys))]
        counts = masks.select(has_bit).row(0)
        return pl.DataFrame(
            {column: keys, "customers": counts},
            schema={column: pl.String, "customers": MEASURE_DTYPES["customers"]},
        ).filter(pl.col("customers") > 0)

    def _masks(
        self, scope: Scope, build: Callable[[Scope], tuple[str, list[SqlParameter]]]
    ) -> pl.DataFrame:
        """`customer_id`, `mask`: each known customer's mask from a query `build` makes
        (none, without a query, for a scope that matches nothing)."""
        buildable = Scope() if druid_sql.matches_nothing(scope) else scope
        answer = self._query(*build(buildable), scope=scope)
        return pl.DataFrame(
            answer[1] if answer else [],
            schema={"customer_id": pl.String, "mask": pl.Int64},
            orient="row",
        ).filter(pl.col("customer_id").is_not_null())

    def _folded_part(
        self,
        scope: Scope,
        window: Window | None,
        by: tuple[str, ...],
        grain: Grain | None,
        part: tuple[str, ...],
        head: str | None,
        latest: tuple[str, ...],
    ) -> pl.DataFrame:
        """The sums and the latest values in one query: grouped by the latest columns too.

        Each group comes back once per combination of its latest values, with
        that combination's last sale; the sums add up over the combinations,
        first and last sales take their min and max, and the latest values are
        the combination sold last. That spares the latest values their own
        pass over the lines (a year of 10M lines by customer: 0.76 s).
        """
        measures = part if "last_sold_at" in part else (*part, "last_sold_at")
        combos = self._aggregate_part(scope, window, (*by, *latest), grain, measures, head)
        keys = [*by, "period"] if grain is not None else list(by)
        picked = pick_latest(
            combos.select(*keys, *latest, pl.col("last_sold_at").alias(LATEST_TIME)), keys, latest
        )
        sums = [druid_sql.UNSURE] if head is not None else []
        reduced = [_REDUCE.get(m, pl.Expr.sum)(pl.col(m)) for m in (*part, *sums)]
        if not keys:
            return pl.concat([combos.select(reduced), picked], how="horizontal")
        grouped = combos.group_by(keys).agg(reduced)
        return grouped.join(picked, on=keys, how="left", nulls_equal=True)

    def _latest_part(
        self,
        scope: Scope,
        window: Window | None,
        by: tuple[str, ...],
        grain: Grain | None,
        latest: tuple[str, ...],
    ) -> pl.DataFrame:
        """Per group, each `latest` column's value on the last line that has one."""
        buildable = Scope() if druid_sql.matches_nothing(scope) else scope
        sql, params = druid_sql.latest_values(self.datasource, buildable, window, by, grain, latest)
        keys = [*by, "period"] if grain is not None else list(by)
        schema: dict[str, pl.DataType] = {column: pl.String() for column in keys}
        schema.update({c: pl.String() for c in latest})
        schema[druid_sql.LATEST_TIME] = pl.Int64()
        answer = self._query(sql, params, scope=scope)
        combos = pl.DataFrame(answer[1] if answer else [], schema=schema, orient="row")
        if grain is not None:
            combos = combos.with_columns(druid_sql.day_of(pl.col("period")))
        return pick_latest(combos.rename({druid_sql.LATEST_TIME: LATEST_TIME}), keys, latest)

    def _recount_if_unsure(
        self,
        frame: pl.DataFrame,
        scope: Scope,
        window: Window | None,
        by: tuple[str, ...],
        grain: Grain | None,
        keys: list[str],
    ) -> pl.DataFrame:
        """`orders` from an exact distinct count if any line's invoice heads do not count."""
        unsure = frame[druid_sql.UNSURE].fill_null(0).sum()
        frame = frame.drop(druid_sql.UNSURE)
        if not unsure:
            return frame
        exact = self._aggregate_part(scope, window, by, grain, ("orders",))
        if not keys:
            count = exact["orders"].first() if exact.height else 0
            return frame.with_columns(orders=pl.lit(count, dtype=pl.Int64))
        recounted = frame.drop("orders").join(exact, on=keys, how="left", nulls_equal=True)
        return recounted.with_columns(pl.col("orders").fill_null(0)).select(frame.columns)

    def active_months(self, scope: Scope, window: Window) -> pl.DataFrame:
        months = druid_sql.window_months(window)
        if months > druid_sql.MAX_MASK_BITS:
            return active_months_grouped(self, scope, window)
        masks = self._masks(
            scope, lambda buildable: druid_sql.active_months(self.datasource, buildable, window)
        )
        first = window.start.replace(day=1)
        bits = pl.DataFrame(
            {
                "period": pl.date_range(first, window.end, "1mo", eager=True),
                "bit": [1 << k for k in range(months)],
            },
            schema={"period": pl.Date, "bit": pl.Int64},
        )
        return (
            masks.join(bits, how="cross")
            .filter((pl.col("mask") & pl.col("bit")) != 0)
            .select("customer_id", "period")
        )

    def distinct_values(self, column: str, scope: Scope) -> list[str]:
        druid_sql.check_dimension(column, TEXT_COLUMNS)
        if druid_sql.matches_nothing(scope):
            return []
        answer = self._query(*druid_sql.distinct_values(self.datasource, column, scope))
        values = [row[0] for row in answer[1]] if answer else []
        return sorted(str(v) for v in values if v)

    def date_range(self, scope: Scope) -> Window | None:
        if druid_sql.matches_nothing(scope):
            return None
        answer = self._query(*druid_sql.date_range(self.datasource, scope))
        if not answer or not answer[1]:
            return None
        first, last = (_parse_day(v) for v in answer[1][0])
        return None if first is None or last is None else Window(first, last)

    def count_lines(self, scope: Scope, window: Window | None) -> int:
        if druid_sql.matches_nothing(scope):
            return 0
        answer = self._query(*druid_sql.count_lines(self.datasource, scope, window))
        return int(answer[1][0][0]) if answer and answer[1] else 0

    def latest_sale(self) -> datetime | None:
        """The latest `sold_at` stored (UTC, millisecond precision)."""
        answer = self._query(
            f'SELECT TIMESTAMP_TO_MILLIS(MAX("__time")) FROM {druid_sql.quote(self.datasource)}', []
        )
        if not answer or not answer[1] or answer[1][0][0] is None:
            return None
        return datetime.fromtimestamp(int(answer[1][0][0]) / 1000, tz=UTC)

    # ----------------------------------------------------------------- writing

    def _exists(self) -> bool:
        """Whether the datasource has used segments, by the coordinator's metadata."""
        names = self.client.request("GET", "/druid/coordinator/v1/metadata/datasources")
        return self.datasource in (names or [])

    def _utc_bounds(self, window: Window) -> tuple[datetime, datetime]:
        """A window of business days as a half-open UTC range."""
        start = datetime.combine(window.start, datetime.min.time(), tzinfo=self.tz)
        end = datetime.combine(window.end + timedelta(days=1), datetime.min.time(), tzinfo=self.tz)
        return start.astimezone(UTC), end.astimezone(UTC)

    def write(
        self,
        lines: pl.DataFrame,
        mode: WriteMode,
        replace_window: Window | None = None,
        progress: Progress | None = None,
    ) -> WriteResult:
        report = progress or (lambda _stage, _fraction: None)
        lines = StoredLine.validate(lines.select(STORED_COLUMNS)).sort("sold_at")
        if lines.is_empty() and mode == "append":
            return WriteResult(0, 0, 0, None)
        with self._write_lock:
            report("checking", 0.0)
            exists = self._exists()
            if mode == "replace":
                plan = self._plan_replace(lines, replace_window, exists)
            else:
                plan = self._plan_append(lines, exists)
            self._run(plan, report)
            self.record_first_sales(report)
            report("written", 1.0)
            return plan.result

    def _stored_of(self, invoices: list[str], exists: bool) -> pl.DataFrame:
        """What a write needs of the stored lines of `invoices` (see `ingest.with_flags`)."""
        wanted = invoices if exists else []
        return ingest.stored_lines(self.client, self.datasource, wanted, ingest.FLAG_INPUTS)

    def _plan_append(self, lines: pl.DataFrame, exists: bool) -> _Plan:
        window = Window(lines["sale_date"].min(), lines["sale_date"].max())  # type: ignore[arg-type]
        incoming = ingest.to_staged(lines)
        stored = self._stored_of(incoming["invoice_id"].unique().sort().to_list(), exists)
        updated = stored.join(incoming, on=ingest.IDENTITY, how="semi")
        others = stored.join(incoming, on=ingest.IDENTITY, how="anti")
        flagged, restaged = ingest.with_flags(
            self.client, self.datasource, incoming, others, self.timezone
        )
        staged = pl.concat([flagged, restaged])
        # Updated lines may move month: their old months are rewritten as well.
        moved_from = updated["sold_ms"]
        chunks = ingest.chunks_of_ms(pl.concat([staged["sold_ms"], moved_from]).unique().to_list())
        return _Plan(
            chunks=sorted(chunks, key=lambda c: c.start),
            keep_existing=exists,
            drop_between=None,
            result=WriteResult(len(lines) - len(updated), len(updated), 0, window),
            staged=staged,
            replaced_per_chunk=_per_chunk(pl.concat([moved_from, restaged["sold_ms"]])),
        )

    def _plan_replace(self, lines: pl.DataFrame, window: Window | None, exists: bool) -> _Plan:
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
        lo, hi = self._utc_bounds(window)
        lo_ms, hi_ms = int(lo.timestamp() * 1000), int(hi.timestamp() * 1000)
        incoming = ingest.to_staged(lines)
        # Invoices that keep lines outside the window: the incoming ones, and stored ones
        # cut by the window (only an invoice that is not uniform spans several days).
        invoices = set(incoming["invoice_id"].to_list())
        if exists:
            invoices |= set(ingest.unsure_invoices(self.client, self.datasource, (lo, hi)))
        stored = self._stored_of(sorted(invoices), exists)
        kept = stored.filter((pl.col("sold_ms") < lo_ms) | (pl.col("sold_ms") >= hi_ms))
        elsewhere = kept.join(incoming, on=ingest.IDENTITY, how="semi")
        if not elsewhere.is_empty():
            first = elsewhere.row(0, named=True)
            day = datetime.fromtimestamp(first["sold_ms"] / 1000, tz=self.tz).date()
            raise StoreError(
                f"{len(elsewhere)} lines are already stored outside "
                f"{window.start}..{window.end} "
                f"(first: invoice {first['invoice_id']} line {first['line_no']} on "
                f"{day}); widen the range or append instead"
            )
        flagged, restaged = ingest.with_flags(
            self.client, self.datasource, incoming, kept, self.timezone
        )
        chunks = set(ingest.chunks_between(lo, hi - timedelta(milliseconds=1)))
        chunks |= ingest.chunks_of_ms(restaged["sold_ms"].unique().to_list())
        replaced = self.count_lines(Scope(), window) if exists else 0
        return _Plan(
            chunks=sorted(chunks, key=lambda c: c.start),
            keep_existing=exists,
            drop_between=(lo, hi),
            result=WriteResult(len(lines), 0, replaced, window),
            staged=pl.concat([flagged, restaged]),
            replaced_per_chunk=_per_chunk(restaged["sold_ms"]),
        )

    def _run(self, plan: _Plan, report: Progress) -> None:
        kept = (
            ingest.chunk_counts(self.client, self.datasource, plan.chunks, plan.drop_between)
            if plan.keep_existing
            else {}
        )
        # Lines each month holds after the write (an updated line leaves its old month).
        expected = {
            c.key: kept.get(c.key, 0)
            - plan.replaced_per_chunk.get(c.key, 0)
            + plan.staged_per_chunk.get(c.key, 0)
            for c in plan.chunks
        }
        if sum(expected.values()) == 0:
            # Nothing stays and nothing comes: MSQ refuses an empty REPLACE, so drop the months.
            if plan.keep_existing and plan.result.replaced:
                report("deleting", 0.3)
                ingest.mark_unused(self.client, self.datasource, plan.chunks)
                report("loading", 0.9)
                ingest.wait_empty(self.client, self.datasource, plan.chunks)
            return
        write_id = ingest.new_write_id()
        with ingest.Staging(self.staging_dir) as staging:
            staged = None
            if not plan.staged.is_empty():
                report("staging", 0.1)
                staged = staging.write(plan.staged)
            sql = ingest.replace_sql(
                self.datasource,
                plan.chunks,
                write_id,
                staged,
                keep_existing=plan.keep_existing and sum(kept.values()) > 0,
                drop_between=plan.drop_between,
            )
            report("indexing", 0.2)
            ingest.run_task(self.client, sql, report)
        report("loading", 0.9)
        ingest.wait_queryable(self.client, self.datasource, plan.chunks, write_id, expected)

    def record_first_sales(self, progress: Progress | None = None) -> None:
        """Group every customer's first sale into the record (`druid_first_sales`).

        Each write ends with it. It never fails the write: without a current
        record, reads group the lines.
        """
        report = progress or (lambda _stage, _fraction: None)
        try:
            fingerprint = segments.listed(self.client, self.datasource).fingerprint
            if fingerprint is None:
                return  # no lines to describe
            try:
                recorded = first_sales.described(self.client, self.datasource)
            except DruidQueryError as exc:
                recorded = None  # a damaged record: the refresh replaces it
                log.warning("the first sales record of %s is unreadable: %s", self.datasource, exc)
            if recorded == fingerprint:
                return  # a write that changed nothing: the record is current
            report("recording first purchases", 0.95)
            first_sales.refresh(self.client, self.datasource, fingerprint)
        except Exception:  # the lines are written whatever went wrong here
            log.exception("could not record the first sales of %s", self.datasource)

    # ------------------------------------------------------------------ health

    def service_facts(self) -> list[dict[str, Any]]:
        """Each Druid service's type, health and version, as seen from this process."""
        answer = self._query(
            'SELECT "server", "server_type", "tier", "curr_size", "max_size" FROM sys.servers',
            [],
            {},
        )
        services: list[dict[str, Any]] = []
        for server, server_type, tier, current, maximum in answer[1] if answer else []:
            fact: dict[str, Any] = {"service": server_type, "server": server, "tier": tier}
            base = f"{self.url.split('://')[0]}://{server}"
            try:
                health = self.client.request(
                    "GET", "/status/health", base=base, timeout=SERVICE_CHECK_TIMEOUT_SECONDS
                )
                status = self.client.request(
                    "GET", "/status", base=base, timeout=SERVICE_CHECK_TIMEOUT_SECONDS
                )
                fact["healthy"] = health is True
                fact["version"] = status.get("version") if isinstance(status, dict) else None
            except StoreError as exc:
                fact["healthy"] = False
                fact["error"] = str(exc)
            if server_type == "historical" and maximum:
                fact["segment_cache_used_pct"] = round(100 * (current or 0) / maximum, 1)
            services.append(fact)
        return sorted(services, key=lambda f: (str(f["service"]), str(f["server"])))

    def health(self) -> StoreHealth:
        started = time.perf_counter()
        try:
            self.client.sql("SELECT 1", [], {})
            round_trip_ms = round((time.perf_counter() - started) * 1000, 1)
            router = self.client.request("GET", "/status", timeout=SERVICE_CHECK_TIMEOUT_SECONDS)
        except StoreError as exc:
            return StoreHealth(
                self.name, False, str(exc), {"url": self.url, "datasource": self.datasource}
            )
        facts: dict[str, Any] = {
            "url": self.url,
            "datasource": self.datasource,
            "druid_version": router.get("version") if isinstance(router, dict) else None,
            "round_trip_ms": round_trip_ms,
        }
        try:
            services = self.service_facts()
            rows = self.count_lines(Scope(), None)
            span = self.date_range(Scope())
            listed = segments.listed(self.client, self.datasource)
            record = self._first_sales_fact(listed)
            tasks = self._query(
                'SELECT "created_time", "status", "duration" FROM sys.tasks WHERE "datasource" = ? '
                'ORDER BY "created_time" DESC LIMIT 1',
                [parameter(self.datasource)],
                {},
            )
        except StoreError as exc:
            return StoreHealth(
                self.name, False, f"Druid answers but the datasource check failed: {exc}", facts
            )
        last_task = tasks[1][0] if tasks and tasks[1] else [None, None, None]
        # One flat fact per service: the Diagnostics page renders facts as a two-column table.
        for service in services:
            state = "healthy" if service["healthy"] else "NOT healthy"
            about = service.get("version") or service.get("error", "")
            facts[f"service {service['service']} {service['server']}"] = f"{state}, {about}"
        facts.update(
            {
                "rows": rows,
                "segments": len(listed.published),
                "size_bytes": listed.published_bytes,
                "first_day": span.start if span else None,
                "last_day": span.end if span else None,
                "last_ingestion": _parse_instant(last_task[0]),
                "last_ingestion_status": last_task[1],
                "last_ingestion_seconds": (
                    round(last_task[2] / 1000, 1) if last_task[2] and last_task[2] > 0 else None
                ),
                "data_version": listed.data_version,
                "first_sales_record": record,
                "check_seconds": round(time.perf_counter() - started, 4),
            }
        )
        unhealthy = [f"{s['service']} {s['server']}" for s in services if not s["healthy"]]
        ok = not unhealthy
        detail = f"{rows:,} lines in {self.datasource} on Druid {facts['druid_version']}"
        if unhealthy:
            detail += f"; not healthy: {', '.join(unhealthy)}"
        return StoreHealth(self.name, ok, detail, facts)

    def first_sales_recorded(self) -> bool:
        """Whether the first sales record describes the lines published."""
        fingerprint = segments.listed(self.client, self.datasource).fingerprint
        recorded = first_sales.described(self.client, self.datasource)
        return fingerprint is not None and recorded == fingerprint

    def _first_sales_fact(self, listed: segments.Segments) -> str:
        """For the Diagnostics page: whether reads take first purchases from the record."""
        try:
            recorded = first_sales.described(self.client, self.datasource)
        except DruidQueryError as exc:
            return f"unreadable ({exc.druid_message}): first purchases are grouped from the lines"
        if recorded is not None and recorded == listed.fingerprint:
            return "current"
        about = "no stamped record" if recorded is None else f"describes {recorded}"
        return f"not current ({about}): first purchases are grouped from the lines"

    def data_version(self) -> str:
        """Newest segment version the broker serves, and how many: any write changes them.

        The targets' datasource is part of it: attainment is in the cached tables too.
        """
        lines = segments.listed(self.client, self.datasource).data_version
        served = targets.data_version(self.client, self.datasource)
        return lines if served == "empty" else f"{lines}+targets-{served}"

    # ----------------------------------------------------------------- targets

    def read_targets(self) -> pl.DataFrame:
        return targets.read(self.client, self.datasource)

    def write_targets(
        self, rows: pl.DataFrame, removed: pl.DataFrame | None = None
    ) -> TargetWriteResult:
        incoming = StoredTarget.validate(rows)
        with self._write_lock:
            result, inserted, updated, dropped = merged(self.read_targets(), incoming, removed)
            if inserted == updated == dropped == 0 and incoming.is_empty():
                return TargetWriteResult(0, 0, 0)
            targets.write_all(
                self.client, self.datasource, result, ingest.Staging(self.staging_dir)
            )
        return TargetWriteResult(inserted, updated, dropped)


class _NoFlags(Exception):
    """The datasource has no invoice flags yet (written by an older version)."""


def _parts(measures: tuple[str, ...], head: str | None) -> list[tuple[str, ...]]:
    """The queries of one aggregate: the sums (with `orders` if `head`), then each distinct."""
    distinct = [m for m in measures if m in DISTINCT_MEASURES and not (m == "orders" and head)]
    plain = tuple(m for m in measures if m not in distinct)
    parts: list[tuple[str, ...]] = [(m,) for m in distinct]
    if plain or not parts:
        parts.insert(0, plain)
    return parts


def _wire_type(dtype: pl.DataType) -> pl.DataType:
    """How Druid's JSON carries a column: days as text, instants as epoch milliseconds."""
    if dtype == pl.Date():
        return pl.String()
    if isinstance(dtype, pl.Datetime):
        return pl.Int64()
    return dtype


# How a measure adds up over sub-groups, when not by a sum.
_REDUCE = {"first_sale": pl.Expr.min, "last_sale": pl.Expr.max, "last_sold_at": pl.Expr.max}


def _foldable(part: tuple[str, ...], head: str | None) -> bool:
    """Whether a part's measures add up over sub-groups (sums, counts, heads, first/last sales).

    A distinct count does not: a customer in two sub-groups would count twice.
    """
    return not any(m in DISTINCT_MEASURES and not (m == "orders" and head) for m in part)


class _Plan:
    """What one write will do: which months it rewrites, what it stages, what it reports."""

    def __init__(
        self,
        chunks: list[ingest.Chunk],
        keep_existing: bool,
        drop_between: tuple[datetime, datetime] | None,
        result: WriteResult,
        staged: pl.DataFrame,
        replaced_per_chunk: dict[str, int] | None = None,
    ) -> None:
        self.chunks = chunks
        self.keep_existing = keep_existing
        self.drop_between = drop_between
        self.result = result
        self.staged = staged  # `ingest.STAGED_COLUMNS`: incoming lines and flag rewrites
        self.staged_per_chunk = _per_chunk(staged["sold_ms"])
        self.replaced_per_chunk = replaced_per_chunk or {}


def _per_chunk(millis: pl.Series) -> dict[str, int]:
    months = (
        pl.from_epoch(millis, time_unit="ms").dt.strftime("%Y-%m").value_counts()
        if len(millis)
        else pl.DataFrame({"x": [], "count": []})
    )
    return {str(row[0]): int(row[1]) for row in months.iter_rows()}
