"""How the embedded store writes lines: appends as new Parquet files in one Delta commit,
updates by merge, replaces a date range by an overwrite with a predicate.

Every write runs under the store's file lock (`EmbeddedStore.write`); each is
one Delta commit, so readers see the table before it or after it.
"""

from __future__ import annotations

import errno
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any, Final

import polars as pl
from deltalake import DeltaTable, Schema, WriterProperties, write_deltalake
from deltalake.exceptions import DeltaError
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from core.schema import STORED_COLUMNS
from core.store import Scope, StoreError, Window, WriteResult, replaced_window
from core.stores.errors import first_line
from core.stores.invoice_heads import ORDER_FLAGS, invoice_heads_in_order

if TYPE_CHECKING:
    from core.stores.embedded import EmbeddedStore

# ~128k lines per row group: a month of a 10M-line history spans a few groups,
# so a date filter skips most of the file by its statistics.
ROW_GROUP_SIZE = 131_072
# LZ4 over zstd: the files are 1.5x larger (50 MB per 1M lines) but decode fast
# enough that reading is no longer the cost: six sums over a year of 10M lines
# 211 -> 83 ms, a whole Overview query 380 -> 234 ms; writing is faster too.
COMPRESSION: Final = "lz4"
WRITER = WriterProperties(max_row_group_size=ROW_GROUP_SIZE, compression="LZ4_RAW")
# New lines are written as files of at most this many lines, in parallel, and
# committed together: one Parquet file encodes on one core (0.76 s per 1M lines
# here), two files at once take about half that on this 2-core machine.
FILE_ROWS = 2_000_000
PARALLEL_FILES = 2
# A write is split for parallelism only into files of at least this many lines:
# smaller files would cost the readers more than the writer saves.
MIN_SPLIT_ROWS = 250_000
# Invoice heads (core/stores/invoice_heads.py) as bytes: they are summed, never stored wide.
FLAG_DTYPE = pl.Int8
IDENTITY = ["invoice_id", "line_no"]
# Columns whose min/max go into the Delta log: the date prunes whole files;
# text bounds would need truncation rules and prune nothing here.
STATS_COLUMNS = ("sale_date", "line_no", "invoice_key", "customer_key")


def _stat_value(value: Any) -> Any:
    """A min/max value as the Delta log writes it (dates as YYYY-MM-DD)."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def with_flags(lines: pl.DataFrame, kept: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(`lines` with invoice heads, `kept` lines whose heads change, with the new ones).

    `kept` are the stored lines of the same invoices that the write keeps: the
    flags are computed over each invoice's lines as they will be stored.
    """
    columns = [*STORED_COLUMNS, *ORDER_FLAGS]
    combined = pl.concat([lines.select(STORED_COLUMNS), kept.select(STORED_COLUMNS)])
    flagged = invoice_heads_in_order(combined, "sale_date", FLAG_DTYPE)
    incoming = flagged.head(len(lines)).select(columns)
    if kept.is_empty():
        return incoming, incoming.clear()
    renewed = flagged.slice(len(lines)).select(columns)
    if set(ORDER_FLAGS) <= set(kept.columns):
        old = kept.select(*IDENTITY, *ORDER_FLAGS)
        renewed = renewed.join(old, on=IDENTITY, suffix="_old").filter(
            pl.any_horizontal(pl.col(f).ne_missing(pl.col(f"{f}_old")) for f in ORDER_FLAGS)
        )
    return incoming, renewed.select(columns)


def write_failure(store: EmbeddedStore, exc: DeltaError | OSError) -> StoreError:
    """A failed write as a message fit for a user (deltalake wraps OS errors in text)."""
    if getattr(exc, "errno", None) == errno.ENOSPC or "os error 28" in str(exc):
        return StoreError(
            f"the disk holding {store.path} is full: nothing was written, the stored "
            "data is unchanged"
        )
    if isinstance(exc, OSError) and exc.strerror:
        return StoreError(f"the embedded store could not write to {store.path}: {exc.strerror}")
    return StoreError(f"the embedded store could not write: {first_line(exc)}")


def _flagged(store: EmbeddedStore, table: DeltaTable | None) -> bool:
    """Whether the lines carry invoice heads: every table this version creates does;
    one created before them keeps its layout (and exact distinct counts)."""
    return table is None or ORDER_FLAGS[0] in {f.name for f in table.schema().fields}


def _stored_of_invoices(
    store: EmbeddedStore, lines: pl.DataFrame, table: DeltaTable | None
) -> pl.DataFrame:
    """Every stored line of `table`, all columns, of the invoices in `lines`."""
    if table is None:
        return lines.clear()
    stored = pl.scan_delta(table)
    wanted = lines.select("invoice_key", "invoice_id").unique()
    # Join on the integer key first (fast), then confirm on the text id; whole lines
    # are read only for the invoices found.
    found = (
        stored.select("invoice_key", "invoice_id")
        .join(wanted.lazy().select("invoice_key"), on="invoice_key", how="semi")
        .join(wanted.lazy(), on=["invoice_key", "invoice_id"], how="semi")
        .unique()
        .collect()
    )
    if found.is_empty():
        return stored.head(0).collect()
    return (
        stored.filter(pl.col("invoice_key").is_in(found["invoice_key"].implode()))
        .join(found.lazy(), on=["invoice_key", "invoice_id"], how="semi")
        .collect()
    )


def append(store: EmbeddedStore, lines: pl.DataFrame) -> WriteResult:
    window = Window(lines["sale_date"].min(), lines["sale_date"].max())  # type: ignore[arg-type]
    # One snapshot of the table for the whole write (the write lock keeps it current).
    table = store.delta_table()
    flagged = _flagged(store, table)
    stored = _stored_of_invoices(store, lines, table)
    # Joins against an empty frame still hash every new line (1.7 s per 10M): skip them.
    updated = stored.join(lines, on=IDENTITY, how="semi").height if stored.height else 0
    rewrites = lines.clear()
    if flagged:
        # Flags over each invoice's lines as they will be stored, the kept ones with new.
        kept = stored.join(lines, on=IDENTITY, how="anti") if stored.height else stored
        lines, rewrites = with_flags(lines, kept)
    if updated == 0 and rewrites.is_empty():
        _add_files(store, lines)
        return WriteResult(len(lines), 0, 0, window)
    assert table is not None
    (
        table.merge(
            source=pl.concat([lines, rewrites]).to_arrow(),
            predicate="t.invoice_id = s.invoice_id AND t.line_no = s.line_no",
            source_alias="s",
            target_alias="t",
            writer_properties=WRITER,
        )
        .when_matched_update_all()
        .when_not_matched_insert_all()
        .execute()
    )
    return WriteResult(len(lines) - updated, updated, 0, window)


def _add_files(store: EmbeddedStore, lines: pl.DataFrame) -> None:
    """Append `lines` in one commit: files written in parallel, then one log entry.

    Until the commit lands the new files are not part of the table (a crash
    leaves unreferenced files, which readers ignore): all-or-nothing, as
    with `write_deltalake`.
    """
    store.path.mkdir(parents=True, exist_ok=True)
    count = max(-(-len(lines) // FILE_ROWS), min(PARALLEL_FILES, len(lines) // MIN_SPLIT_ROWS), 1)
    size = -(-max(len(lines), 1) // count)  # equal parts, time-ordered like the lines
    parts = [lines.slice(i * size, size) for i in range(count)]
    names = [f"part-{uuid.uuid4()}-c000.lz4.parquet" for _ in parts]
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:  # Polars' writer releases the GIL
            actions = list(pool.map(partial(_write_file, store), parts, names))
    except (pl.exceptions.PolarsError, OSError) as exc:
        # Nothing refers to these files yet: remove them so a full disk is not fuller.
        for name in names:
            (store.path / name).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise
        raise DeltaError(f"could not write a data file: {first_line(exc)}") from exc
    try:
        table = store.delta_table()
        if table is None:
            schema = Schema.from_arrow(lines.head(0).to_arrow().schema)
            create_table_with_add_actions(str(store.path), schema, actions, mode="append")
        else:
            adds: list[AddAction | RemoveAction] = list(actions)
            table.create_write_transaction(adds, mode="append", schema=table.schema())
    except BaseException:
        # Only if the commit did not land do the files belong to nothing (a failure
        # after the commit, in a checkpoint say, must not delete stored data).
        after = store.delta_table()
        committed = {uri.rsplit("/", 1)[-1] for uri in after.file_uris()} if after else set()
        if not set(names) & committed:
            for name in names:
                (store.path / name).unlink(missing_ok=True)
        raise


def _write_file(store: EmbeddedStore, part: pl.DataFrame, name: str) -> AddAction:
    target = store.path / name
    part.write_parquet(
        target, compression=COMPRESSION, row_group_size=ROW_GROUP_SIZE, statistics=True
    )
    bounds = part.select(
        [pl.col(c).min().alias(f"min_{c}") for c in STATS_COLUMNS]
        + [pl.col(c).max().alias(f"max_{c}") for c in STATS_COLUMNS]
    ).row(0, named=True)
    stats = {
        "numRecords": len(part),
        "minValues": {c: _stat_value(bounds[f"min_{c}"]) for c in STATS_COLUMNS},
        "maxValues": {c: _stat_value(bounds[f"max_{c}"]) for c in STATS_COLUMNS},
        "nullCount": {c: part[c].null_count() for c in part.columns},
    }
    return AddAction(
        path=name,
        size=target.stat().st_size,
        partition_values={},
        modification_time=int(time.time() * 1000),
        data_change=True,
        stats=json.dumps(stats),
    )


def replace(store: EmbeddedStore, lines: pl.DataFrame, window: Window | None) -> WriteResult:
    window = replaced_window(lines, window)
    table = store.delta_table()
    inside = pl.col("sale_date").is_between(window.start, window.end)
    kept = _stored_of_invoices(store, lines, table).filter(~inside)
    elsewhere = kept.join(lines, on=IDENTITY, how="semi")
    if not elsewhere.is_empty():
        first = elsewhere.row(0, named=True)
        raise StoreError(
            f"{len(elsewhere)} lines are already stored outside {window.start}..{window.end} "
            f"(first: invoice {first['invoice_id']} line {first['line_no']} on "
            f"{first['sale_date']}); widen the range or append instead"
        )
    if _flagged(store, table):
        # An invoice keeping lines outside the window spans days: its new lines are
        # not uniform, and the kept ones need no new flags (core/stores/invoice_heads.py).
        lines = with_flags(lines, kept.head(0))[0].with_columns(
            invoice_uniform=pl.when(pl.col("invoice_id").is_in(kept["invoice_id"].implode()))
            .then(pl.lit(0, FLAG_DTYPE))
            .otherwise(pl.col("invoice_uniform"))
        )
    replaced = store.count_lines(Scope(), window)
    # The predicate is built from two dates, never from user text.
    predicate = (
        f"sale_date >= '{window.start.isoformat()}' AND sale_date <= '{window.end.isoformat()}'"
    )
    if table is None:
        write_deltalake(str(store.path), lines.to_arrow(), mode="append", writer_properties=WRITER)
    else:
        write_deltalake(
            str(store.path),
            lines.to_arrow(),
            mode="overwrite",
            predicate=predicate,
            writer_properties=WRITER,
        )
    return WriteResult(len(lines), 0, replaced, window)
