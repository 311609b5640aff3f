"""How the Druid store writes lines: which months a write rewrites, what it stages,
and the SQL-based ingestion task that replaces those months (`druid_ingest`).

A write is planned first (`plan_append`, `plan_replace`), then run (`run`): the
months it touches are rewritten whole, the lines kept from them read back into
the same task, so a month is either as before or as after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import polars as pl

from core.store import Progress, Scope, StoreError, Window, WriteResult, replaced_window
from core.stores import druid_chunks, druid_tasks
from core.stores import druid_ingest as ingest

if TYPE_CHECKING:
    from core.stores.druid import DruidStore


def utc_bounds(store: DruidStore, window: Window) -> tuple[datetime, datetime]:
    """A window of business days as a half-open UTC range."""
    start = datetime.combine(window.start, datetime.min.time(), tzinfo=store.tz)
    end = datetime.combine(window.end + timedelta(days=1), datetime.min.time(), tzinfo=store.tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def _stored_of(store: DruidStore, invoices: list[str], exists: bool) -> pl.DataFrame:
    """What a write needs of the stored lines of `invoices` (see `ingest.with_flags`)."""
    wanted = invoices if exists else []
    return ingest.stored_lines(store.client, store.datasource, wanted, ingest.FLAG_INPUTS)


def plan_append(store: DruidStore, lines: pl.DataFrame, exists: bool) -> WritePlan:
    """Add `lines`, replacing each stored line of the same identity (the latest wins)."""
    window = Window(lines["sale_date"].min(), lines["sale_date"].max())  # type: ignore[arg-type]
    incoming = ingest.to_staged(lines)
    stored = _stored_of(store, incoming["invoice_id"].unique().sort().to_list(), exists)
    updated = stored.join(incoming, on=ingest.IDENTITY, how="semi")
    others = stored.join(incoming, on=ingest.IDENTITY, how="anti")
    flagged, restaged = ingest.with_flags(
        store.client, store.datasource, incoming, others, store.timezone
    )
    staged = pl.concat([flagged, restaged])
    # Updated lines may move month: their old months are rewritten as well.
    moved_from = updated["sold_ms"]
    chunks = druid_chunks.chunks_of_ms(
        pl.concat([staged["sold_ms"], moved_from]).unique().to_list()
    )
    return WritePlan(
        chunks=sorted(chunks, key=lambda c: c.start),
        keep_existing=exists,
        drop_between=None,
        result=WriteResult(len(lines) - len(updated), len(updated), 0, window),
        staged=staged,
        replaced_per_chunk=per_chunk(pl.concat([moved_from, restaged["sold_ms"]])),
    )


def plan_replace(
    store: DruidStore, lines: pl.DataFrame, window: Window | None, exists: bool
) -> WritePlan:
    """Make `lines` the whole of `window` (their span when None); refuses lines outside it
    and lines of the window already stored outside it."""
    window = replaced_window(lines, window)
    lo, hi = utc_bounds(store, window)
    lo_ms, hi_ms = int(lo.timestamp() * 1000), int(hi.timestamp() * 1000)
    incoming = ingest.to_staged(lines)
    # Invoices that keep lines outside the window: the incoming ones, and stored ones
    # cut by the window (only an invoice that is not uniform spans several days).
    invoices = set(incoming["invoice_id"].to_list())
    if exists:
        invoices |= set(ingest.unsure_invoices(store.client, store.datasource, (lo, hi)))
    stored = _stored_of(store, sorted(invoices), exists)
    kept = stored.filter((pl.col("sold_ms") < lo_ms) | (pl.col("sold_ms") >= hi_ms))
    elsewhere = kept.join(incoming, on=ingest.IDENTITY, how="semi")
    if not elsewhere.is_empty():
        first = elsewhere.row(0, named=True)
        day = datetime.fromtimestamp(first["sold_ms"] / 1000, tz=store.tz).date()
        raise StoreError(
            f"{len(elsewhere)} lines are already stored outside "
            f"{window.start}..{window.end} "
            f"(first: invoice {first['invoice_id']} line {first['line_no']} on "
            f"{day}); widen the range or append instead"
        )
    flagged, restaged = ingest.with_flags(
        store.client, store.datasource, incoming, kept, store.timezone
    )
    chunks = set(druid_chunks.chunks_between(lo, hi - timedelta(milliseconds=1)))
    chunks |= druid_chunks.chunks_of_ms(restaged["sold_ms"].unique().to_list())
    replaced = store.count_lines(Scope(), window) if exists else 0
    return WritePlan(
        chunks=sorted(chunks, key=lambda c: c.start),
        keep_existing=exists,
        drop_between=(lo, hi),
        result=WriteResult(len(lines), 0, replaced, window),
        staged=pl.concat([flagged, restaged]),
        replaced_per_chunk=per_chunk(restaged["sold_ms"]),
    )


def run(store: DruidStore, plan: WritePlan, report: Progress) -> None:
    """One ingestion task rewriting the plan's months, then wait until Druid serves them."""
    kept = (
        ingest.chunk_counts(store.client, store.datasource, plan.chunks, plan.drop_between)
        if plan.keep_existing
        else {}
    )
    # Lines each month holds after the write (an updated line leaves its old month).
    arriving = plan.staged_per_chunk
    expected = {
        c.key: kept.get(c.key, 0) - plan.replaced_per_chunk.get(c.key, 0) + arriving.get(c.key, 0)
        for c in plan.chunks
    }
    if sum(expected.values()) == 0:
        # Nothing stays and nothing comes: MSQ refuses an empty REPLACE, so drop the months.
        if plan.keep_existing and plan.result.replaced:
            report("deleting", 0.3)
            druid_chunks.mark_unused(store.client, store.datasource, plan.chunks)
            report("loading", 0.9)
            druid_chunks.wait_empty(store.client, store.datasource, plan.chunks)
        return
    write_id = druid_tasks.new_write_id()
    with ingest.Staging(store.staging_dir) as staging:
        staged = None
        if not plan.staged.is_empty():
            report("staging", 0.1)
            staged = staging.write(plan.staged)
        sql = ingest.replace_sql(
            store.datasource,
            plan.chunks,
            write_id,
            staged,
            keep_existing=plan.keep_existing and sum(kept.values()) > 0,
            drop_between=plan.drop_between,
        )
        report("indexing", 0.2)
        druid_tasks.run_task(store.client, sql, report)
    report("loading", 0.9)
    druid_chunks.wait_queryable(store.client, store.datasource, plan.chunks, write_id, expected)


@dataclass(frozen=True)
class WritePlan:
    """What one write will do: which months it rewrites, what it stages, what it reports."""

    chunks: list[druid_chunks.Chunk]
    keep_existing: bool
    drop_between: tuple[datetime, datetime] | None
    result: WriteResult
    staged: pl.DataFrame  # `ingest.STAGED_COLUMNS`: incoming lines and flag rewrites
    replaced_per_chunk: dict[str, int] = field(default_factory=dict)

    @property
    def staged_per_chunk(self) -> dict[str, int]:
        return per_chunk(self.staged["sold_ms"])


def per_chunk(millis: pl.Series) -> dict[str, int]:
    months = (
        pl.from_epoch(millis, time_unit="ms").dt.strftime("%Y-%m").value_counts()
        if len(millis)
        else pl.DataFrame({"x": [], "count": []})
    )
    return {str(row[0]): int(row[1]) for row in months.iter_rows()}
