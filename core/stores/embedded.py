"""The embedded store: a Delta Lake table on local disk, read lazily by Polars.

Delta gives the transactions: a write becomes visible only when its commit
file lands, atomically, so a crash mid-write leaves the previous version
readable and readers never see half a write. Writers are serialised by an
exclusive file lock beside the table.
"""

from __future__ import annotations

import errno
import json
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, Schema, WriterProperties, write_deltalake
from deltalake.exceptions import DeltaError
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from core.schema import STORED_COLUMNS, StoredLine
from core.store import (
    LATEST_COLUMNS,
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
from core.stores import customer_ids, file_lock, first_sales
from core.stores.buckets import bucket_start
from core.stores.embedded_targets import EmbeddedTargets, targets_path
from core.stores.invoice_heads import ORDER_FLAGS, head_column, invoice_heads_in_order
from core.stores.latest import LATEST_TIME, latest_values

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


# A grouping by period splits the window into at most this many buckets
# (`_grouped_by_bucket`): a year of months or quarters, not its days or weeks.
MAX_SPLIT_BUCKETS = 36
# ... and only if its buckets hold this many lines on average: a bucket reads whole
# row groups, so smaller ones decode lines of their neighbours' too.
MIN_BUCKET_LINES = 2 * ROW_GROUP_SIZE
_LINES = "_lines"

# Lines in a group whose invoice heads do not count (see invoice_heads.py); any, and
# the group's orders are counted again exactly.
UNSURE = "_orders_unsure"


def _measure_exprs(measures: tuple[str, ...], orders_head: str | None = None) -> list[pl.Expr]:
    exprs = {
        "gross_sales": pl.col("gross_sales").sum(),
        "discount": pl.col("discount").sum(),
        "net_sales": pl.col("net_sales").sum(),
        "cogs": pl.col("cogs").sum(),
        "gross_profit": pl.col("gross_profit").sum(),
        "units": pl.col("quantity").sum(),
        "lines": pl.len(),
        "orders": pl.col(orders_head).sum() if orders_head else pl.col("invoice_key").n_unique(),
        "customers": pl.col("customer_key").drop_nulls().n_unique(),
        "first_sale": pl.col("sale_date").min(),
        "last_sale": pl.col("sale_date").max(),
        "last_sold_at": pl.col("sold_at").max(),
    }
    unknown = set(measures) - set(exprs)
    if unknown:
        raise ValueError(f"unknown measures: {sorted(unknown)}")
    chosen = [exprs[m].cast(MEASURE_DTYPES[m]).alias(m) for m in measures]
    if orders_head and "orders" in measures:
        # Nulls in the flags (none are written) would count as unsure too.
        chosen.append((pl.len() - pl.col("invoice_uniform").sum()).alias(UNSURE))
    return chosen


def _recount_if_unsure(result: pl.DataFrame, lines: pl.LazyFrame, keys: list[str]) -> pl.DataFrame:
    """`result` without `UNSURE`, its orders counted exactly where heads did not count."""
    unsure = result.filter(pl.col(UNSURE) > 0)
    result = result.drop(UNSURE)
    if unsure.is_empty():
        return result
    exact = _measure_exprs(("orders",))
    if not keys:
        return result.with_columns(lines.select(exact).collect().to_series().alias("orders"))
    # Only the unsure groups' lines are read again.
    recounted = (
        lines.join(unsure.select(keys).lazy(), on=keys, how="semi", nulls_equal=True)
        .group_by(keys)
        .agg(exact)
        .collect()
    )
    return (
        result.join(recounted, on=keys, how="left", suffix="_exact", nulls_equal=True)
        .with_columns(orders=pl.coalesce("orders_exact", "orders"))
        .drop("orders_exact")
    )


def _buckets(window: Window, grain: Grain) -> pl.DataFrame:
    """`period` (bucket start), `first` and `last` day of each bucket the window touches."""
    days = pl.DataFrame({"day": pl.date_range(window.start, window.end, "1d", eager=True)})
    return days.group_by(
        bucket_start(pl.col("day"), grain).alias("period"), maintain_order=True
    ).agg(first=pl.col("day").min(), last=pl.col("day").max())


def _grouped_by_bucket(
    lines: pl.LazyFrame, keys: list[str], exprs: list[pl.Expr], window: Window, grain: Grain
) -> pl.DataFrame | None:
    """`exprs` per `keys` and `period` over the window's lines, one bucket at a time,
    or None where grouping them in one pass is faster.

    Each bucket's lines are a date range (the files are in time order, so each
    reads only its own row groups), its period is a constant instead of every
    line's date truncated, and its hash table is small. Over every line of a
    year of 10M, by month: by customer 400 -> 290 ms, the totals 240 -> 180 ms.
    Under a member filter the buckets' scans cost more than they save (one
    branch by customer 90 -> 130 ms), so the caller does not ask. One pass is
    also faster past `MAX_SPLIT_BUCKETS` buckets (the days of a year), and for
    buckets smaller than `MIN_BUCKET_LINES`, each reading whole row groups
    mostly of other buckets' lines (a year of 1M lines by month, 30,000 lines
    each: 38 ms in one pass, 75 ms split).
    """
    buckets = _buckets(window, grain)
    if len(buckets) > MAX_SPLIT_BUCKETS:
        return None
    if lines.select(pl.len()).collect().item() < len(buckets) * MIN_BUCKET_LINES:
        return None
    parts = []
    for start, first, last in buckets.iter_rows():
        part = lines.filter(pl.col("sale_date").is_between(first, last))
        if keys:
            grouped = part.group_by(keys).agg(exprs)
        else:  # one row, unless the bucket has no line (as a group-by would have none)
            grouped = part.select(*exprs, pl.len().alias(_LINES)).filter(pl.col(_LINES) > 0)
            grouped = grouped.drop(_LINES)
        parts.append(grouped.with_columns(period=pl.lit(start, pl.Date())))
    return pl.concat(pl.collect_all(parts))


def check_latest(columns: tuple[str, ...]) -> None:
    unknown = set(columns) - set(LATEST_COLUMNS)
    if unknown:
        raise ValueError(f"not a latest-value column: {sorted(unknown)}")


def _first_line(exc: BaseException) -> str:
    """An error's first line without terminal colours (deltalake adds both)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _stat_value(value: Any) -> Any:
    """A min/max value as the Delta log writes it (dates as YYYY-MM-DD)."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def _values_in_files(files: list[str], column: str) -> set[str]:
    """The distinct values of a text column in these Parquet files, from their dictionaries.

    Each column chunk's dictionary holds exactly the values of its lines, so
    their union is the column's distinct values without hashing every line
    (product lines of 10M lines: 215 -> 39 ms).
    """
    values: set[str] = set()
    for chunk in pq.read_table(files, columns=[column], read_dictionary=[column]).column(0).chunks:
        values.update(chunk.dictionary.to_pylist())
    values.discard(None)
    return values


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


def _empty_lines() -> pl.DataFrame:
    schema = StoredLine.to_schema()
    return pl.DataFrame(
        schema={name: column.dtype.type for name, column in schema.columns.items()}
    ).select(STORED_COLUMNS)


class EmbeddedStore:
    """`SalesStore` over a Delta table in `path`."""

    name = "embedded"

    def __init__(self, path: Path, timezone: str = "Africa/Nairobi") -> None:
        self.path = Path(path)
        self.timezone = timezone
        self._lock_path = self.path.parent / f".{self.path.name}.lock"
        self.targets = EmbeddedTargets(targets_path(self.path))

    # ----------------------------------------------------------------- targets

    def read_targets(self) -> pl.DataFrame:
        return self.targets.read()

    def write_targets(
        self, targets: pl.DataFrame, removed: pl.DataFrame | None = None
    ) -> TargetWriteResult:
        return self.targets.write(targets, removed)

    # ----------------------------------------------------------------- reading

    def _table(self) -> DeltaTable | None:
        if not DeltaTable.is_deltatable(str(self.path)):
            return None
        return DeltaTable(str(self.path))

    def _scan(self, table: DeltaTable | None = None) -> pl.LazyFrame:
        """The lines of `table` (default: the table as it is now)."""
        if table is None:
            table = self._table()
        if table is None:
            return _empty_lines().lazy()
        return pl.scan_delta(table)

    def _select(
        self, scope: Scope, window: Window | None, table: DeltaTable | None = None
    ) -> pl.LazyFrame:
        frame = self._scan(table)
        if window is not None:
            frame = frame.filter(pl.col("sale_date").is_between(window.start, window.end))
        for column, values in scope.member_filters():
            frame = frame.filter(pl.col(column).is_in(list(values)))
        return frame

    def aggregate(
        self,
        scope: Scope,
        window: Window | None,
        by: tuple[str, ...] = (),
        grain: Grain | None = None,
        measures: tuple[str, ...] = MEASURES,
        latest: tuple[str, ...] = (),
    ) -> pl.DataFrame:
        table = self._table()
        lines = self._select(scope, window, table)
        frame = lines  # with `period` if grouped by time; `lines` stays without
        # Customers are grouped by their integer key (one key per id, see core/keys.py):
        # hashing an Int64 is cheaper than hashing the text id (456 -> 357 ms, 10M lines),
        # and the ids are joined on afterwards (core/stores/customer_ids.py).
        by_key = "customer_id" in by
        # The keys by name in the result (customer_key stays until the latest values joined).
        names = [("customer_key" if c == "customer_id" else c) for c in by]
        if grain is not None:
            frame = frame.with_columns(bucket_start(pl.col("sale_date"), grain).alias("period"))
            names.append("period")
        # Orders as a sum of invoice heads where they count, else exact distinct invoices
        # (this store keeps no product line or product heads).
        head = head_column(by, scope.member_filters()) if "orders" in measures else None
        if head != "invoice_head" or head not in frame.collect_schema().names():
            head = None
        exprs = _measure_exprs(measures, head)
        check_latest(latest)
        if latest:
            exprs.append(pl.col("sold_at").max().alias(LATEST_TIME))
        filtered = bool(scope.member_filters())
        result = self._recorded_first_sales(table, scope, window, by, grain, measures, latest)
        if result is None and grain is not None and window is not None and not filtered:
            result = _grouped_by_bucket(lines, names[:-1], exprs, window, grain)
        if result is None:
            grouped = frame.group_by(names).agg(exprs) if names else frame.select(exprs)
            result = grouped.collect()
        if head is not None:
            result = _recount_if_unsure(result, frame, names)
        if latest:
            values = latest_values(frame, names, result.select(*names, LATEST_TIME), latest)
            result = result.drop(LATEST_TIME)
            if not names:
                return pl.concat([result, values], how="horizontal")
            result = result.join(values, on=names, how="left", nulls_equal=True)
        if by_key:
            result = customer_ids.attach(result, self.path, self._customer_ids).drop("customer_key")
        order = [*by, "period"] if grain is not None else list(by)
        period = ["period"] if grain is not None else []
        return result.select(*by, *period, *measures, *latest).sort(order, nulls_last=True)

    def active_months(self, scope: Scope, window: Window) -> pl.DataFrame:
        return active_months_grouped(self, scope, window)

    def _recorded_first_sales(
        self,
        table: DeltaTable | None,
        scope: Scope,
        window: Window | None,
        by: tuple[str, ...],
        grain: Grain | None,
        measures: tuple[str, ...],
        latest: tuple[str, ...],
    ) -> pl.DataFrame | None:
        """Every customer's first sale from the file beside the table (first_sales.py),
        when that is the question and the file describes this version of the table."""
        if table is None or not asks_first_sales(scope, window, by, grain, measures, latest):
            return None
        return first_sales.read(self.path, table.version())

    def _customer_ids(self, keys: pl.Series) -> pl.DataFrame:
        """(customer_key, customer_id) of the stored lines with these keys."""
        return (
            self._scan()
            .filter(pl.col("customer_key").is_in(keys.implode()))
            .select("customer_key", "customer_id")
            .unique("customer_key")
            .collect()
        )

    def distinct_values(self, column: str, scope: Scope) -> list[str]:
        filters = scope.member_filters()
        table = self._table()
        if table is not None and all(on == column for on, _ in filters):
            found = _values_in_files(table.file_uris(), column)
            for _, allowed in filters:
                found &= set(allowed)
            return sorted(v for v in found if v)
        values = (
            self._select(scope, None)
            .select(pl.col(column).drop_nulls().unique().sort())
            .collect()
            .to_series()
        )
        return [v for v in values.to_list() if v]

    def date_range(self, scope: Scope) -> Window | None:
        row = (
            self._select(scope, None)
            .select(lo=pl.col("sale_date").min(), hi=pl.col("sale_date").max())
            .collect()
            .row(0)
        )
        return None if row[0] is None else Window(row[0], row[1])

    def count_lines(self, scope: Scope, window: Window | None) -> int:
        return int(self._select(scope, window).select(pl.len()).collect().item())

    # ----------------------------------------------------------------- writing

    def write(
        self,
        lines: pl.DataFrame,
        mode: WriteMode,
        replace_window: Window | None = None,
        progress: Progress | None = None,
    ) -> WriteResult:
        report = progress or (lambda _stage, _fraction: None)
        lines = StoredLine.validate(lines.select(STORED_COLUMNS))
        # Time order lets a date window skip row groups; exports usually come sorted
        # already. A stable sort keeps an invoice's lines together.
        if not lines["sale_date"].is_sorted():
            lines = lines.sort("sale_date", maintain_order=True)
        if lines.is_empty() and mode == "append":
            return WriteResult(0, 0, 0, None)
        try:
            with file_lock.exclusive(self._lock_path):
                report("writing", 0.0)
                before = self._table()
                if mode == "replace":
                    result = self._replace(lines, replace_window)
                else:
                    result = self._append(lines)
                customer_ids.record(self.path, lines)
                # Lines only added: their first sales fold into the file's; else regrouped.
                added = lines if mode == "append" and result.updated == 0 else None
                self._refresh_first_sales(before, added)
                report("written", 1.0)
                return result
        except (DeltaError, OSError) as exc:
            raise self._write_failure(exc) from exc

    def _refresh_first_sales(self, before: DeltaTable | None, added: pl.DataFrame | None) -> None:
        after = self._table()
        if after is None:  # a replace of nothing on an empty store
            return
        was = None if before is None else before.version()
        first_sales.refresh(self.path, was, after.version(), added, pl.scan_delta(after))

    def _write_failure(self, exc: DeltaError | OSError) -> StoreError:
        """A failed write as a message fit for a user (deltalake wraps OS errors in text)."""
        if getattr(exc, "errno", None) == errno.ENOSPC or "os error 28" in str(exc):
            return StoreError(
                f"the disk holding {self.path} is full: nothing was written, the stored "
                "data is unchanged"
            )
        if isinstance(exc, OSError) and exc.strerror:
            return StoreError(f"the embedded store could not write to {self.path}: {exc.strerror}")
        return StoreError(f"the embedded store could not write: {_first_line(exc)}")

    def _flagged(self, table: DeltaTable | None) -> bool:
        """Whether the lines carry invoice heads: every table this version creates does;
        one created before them keeps its layout (and exact distinct counts)."""
        return table is None or ORDER_FLAGS[0] in {f.name for f in table.schema().fields}

    def _stored_of_invoices(self, lines: pl.DataFrame, table: DeltaTable | None) -> pl.DataFrame:
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

    def _append(self, lines: pl.DataFrame) -> WriteResult:
        window = Window(lines["sale_date"].min(), lines["sale_date"].max())  # type: ignore[arg-type]
        # One snapshot of the table for the whole write (the write lock keeps it current).
        table = self._table()
        flagged = self._flagged(table)
        stored = self._stored_of_invoices(lines, table)
        # Joins against an empty frame still hash every new line (1.7 s per 10M): skip them.
        updated = stored.join(lines, on=IDENTITY, how="semi").height if stored.height else 0
        rewrites = lines.clear()
        if flagged:
            # Flags over each invoice's lines as they will be stored, the kept ones with new.
            kept = stored.join(lines, on=IDENTITY, how="anti") if stored.height else stored
            lines, rewrites = with_flags(lines, kept)
        if updated == 0 and rewrites.is_empty():
            self._add_files(lines)
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

    def _add_files(self, lines: pl.DataFrame) -> None:
        """Append `lines` in one commit: files written in parallel, then one log entry.

        Until the commit lands the new files are not part of the table (a crash
        leaves unreferenced files, which readers ignore): all-or-nothing, as
        with `write_deltalake`.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        count = max(
            -(-len(lines) // FILE_ROWS), min(PARALLEL_FILES, len(lines) // MIN_SPLIT_ROWS), 1
        )
        size = -(-max(len(lines), 1) // count)  # equal parts, time-ordered like the lines
        parts = [lines.slice(i * size, size) for i in range(count)]
        names = [f"part-{uuid.uuid4()}-c000.lz4.parquet" for _ in parts]
        try:
            with ThreadPoolExecutor(max_workers=2) as pool:  # Polars' writer releases the GIL
                actions = list(pool.map(self._write_file, parts, names))
        except (pl.exceptions.PolarsError, OSError) as exc:
            # Nothing refers to these files yet: remove them so a full disk is not fuller.
            for name in names:
                (self.path / name).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise
            raise DeltaError(f"could not write a data file: {_first_line(exc)}") from exc
        try:
            table = self._table()
            if table is None:
                schema = Schema.from_arrow(lines.head(0).to_arrow().schema)
                create_table_with_add_actions(str(self.path), schema, actions, mode="append")
            else:
                adds: list[AddAction | RemoveAction] = list(actions)
                table.create_write_transaction(adds, mode="append", schema=table.schema())
        except BaseException:
            # Only if the commit did not land do the files belong to nothing (a failure
            # after the commit, in a checkpoint say, must not delete stored data).
            after = self._table()
            committed = {uri.rsplit("/", 1)[-1] for uri in after.file_uris()} if after else set()
            if not set(names) & committed:
                for name in names:
                    (self.path / name).unlink(missing_ok=True)
            raise

    def _write_file(self, part: pl.DataFrame, name: str) -> AddAction:
        target = self.path / name
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

    def _replace(self, lines: pl.DataFrame, window: Window | None) -> WriteResult:
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
        table = self._table()
        inside = pl.col("sale_date").is_between(window.start, window.end)
        kept = self._stored_of_invoices(lines, table).filter(~inside)
        elsewhere = kept.join(lines, on=IDENTITY, how="semi")
        if not elsewhere.is_empty():
            first = elsewhere.row(0, named=True)
            raise StoreError(
                f"{len(elsewhere)} lines are already stored outside {window.start}..{window.end} "
                f"(first: invoice {first['invoice_id']} line {first['line_no']} on "
                f"{first['sale_date']}); widen the range or append instead"
            )
        if self._flagged(table):
            # An invoice keeping lines outside the window spans days: its new lines are
            # not uniform, and the kept ones need no new flags (core/stores/invoice_heads.py).
            lines = with_flags(lines, kept.head(0))[0].with_columns(
                invoice_uniform=pl.when(pl.col("invoice_id").is_in(kept["invoice_id"].implode()))
                .then(pl.lit(0, FLAG_DTYPE))
                .otherwise(pl.col("invoice_uniform"))
            )
        replaced = self.count_lines(Scope(), window)
        # The predicate is built from two dates, never from user text.
        predicate = (
            f"sale_date >= '{window.start.isoformat()}' AND sale_date <= '{window.end.isoformat()}'"
        )
        if table is None:
            write_deltalake(
                str(self.path), lines.to_arrow(), mode="append", writer_properties=WRITER
            )
        else:
            write_deltalake(
                str(self.path),
                lines.to_arrow(),
                mode="overwrite",
                predicate=predicate,
                writer_properties=WRITER,
            )
        return WriteResult(len(lines), 0, replaced, window)

    # ------------------------------------------------------------------ health

    def health(self) -> StoreHealth:
        started = time.perf_counter()
        try:
            table = self._table()
        except (DeltaError, OSError) as exc:
            return StoreHealth(self.name, False, f"cannot open {self.path}: {_first_line(exc)}")
        if table is None:
            # Files but no `_delta_log` is not our table; a log without a commit is
            # a first write that was interrupted: still empty, a retry writes it.
            if (
                self.path.is_dir()
                and not (self.path / "_delta_log").exists()
                and any(self.path.iterdir())
            ):
                return StoreHealth(
                    self.name, False, f"{self.path} holds files but is not a Delta table"
                )
            return StoreHealth(
                self.name, True, f"no data yet at {self.path}", {"location": str(self.path)}
            )
        try:
            return self._health_facts(table, started)
        except (
            DeltaError,
            OSError,
            pl.exceptions.PolarsError,
            pl.exceptions.PanicException,
        ) as exc:
            # The log opens but a data file is missing or damaged: queries would fail too.
            return StoreHealth(self.name, False, f"cannot read {self.path}: {_first_line(exc)}")

    def _health_facts(self, table: DeltaTable, started: float) -> StoreHealth:
        # deltalake returns an arro3 table, which polars reads as one struct column.
        actions = pl.DataFrame(pa.table(table.get_add_actions(flatten=True)))
        history = table.history(limit=1)
        last_write_ms = history[0].get("timestamp") if history else None
        span = self.date_range(Scope())
        facts: dict[str, Any] = {
            "location": str(self.path.resolve()),
            "version": table.version(),
            "rows": int(actions["num_records"].sum()),
            "files": len(actions),
            "size_bytes": int(actions["size_bytes"].sum()),
            "first_day": span.start if span else None,
            "last_day": span.end if span else None,
            "last_write": (
                datetime.fromtimestamp(last_write_ms / 1000, tz=UTC) if last_write_ms else None
            ),
            "check_seconds": round(time.perf_counter() - started, 4),
        }
        return StoreHealth(self.name, True, f"{facts['rows']:,} lines in {self.path}", facts)

    def data_version(self) -> str:
        table = self._table()
        lines = "empty" if table is None else f"delta-{table.version()}"
        # Targets feed the same cached tables (attainment), so their version keys them too.
        targets = self.targets.version()
        return lines if targets is None else f"{lines}+targets-{targets}"

    def latest_sale(self) -> datetime | None:
        """The latest `sold_at` stored (UTC), for freshness."""
        value = self._scan().select(pl.col("sold_at").max()).collect().item()
        return value if isinstance(value, datetime) else None
