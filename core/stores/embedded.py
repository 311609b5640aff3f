"""The embedded store: a Delta Lake table on local disk, read lazily by Polars.

Delta gives the transactions: a write becomes visible only when its commit
file lands, atomically, so a crash mid-write leaves the previous version
readable and readers never see half a write. Writers are serialised by an
exclusive file lock beside the table.
"""

from __future__ import annotations

import errno
import fcntl
import json
import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
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
    Window,
    WriteMode,
    WriteResult,
)
from core.stores import customer_ids
from core.stores.buckets import bucket_start
from core.stores.latest import LATEST_TIME, latest_values

# ~128k lines per row group: a month of a 10M-line history spans a few groups,
# so a date filter skips most of the file by its statistics.
ROW_GROUP_SIZE = 131_072
# LZ4 over zstd: the files are 1.5x larger (50 MB per 1M lines) but decode fast
# enough that reading is no longer the cost: six sums over a year of 10M lines
# 211 -> 83 ms, a whole Overview query 380 -> 234 ms; writing is faster too.
COMPRESSION = "lz4"
WRITER = WriterProperties(max_row_group_size=ROW_GROUP_SIZE, compression="LZ4_RAW")
# New lines are written as files of at most this many lines, in parallel, and
# committed together: one Parquet file encodes on one core (0.76 s per 1M lines
# here), two files at once take about half that on this 2-core machine.
FILE_ROWS = 2_000_000
PARALLEL_FILES = 2
# A write is split for parallelism only into files of at least this many lines:
# smaller files would cost the readers more than the writer saves.
MIN_SPLIT_ROWS = 250_000
# Columns whose min/max go into the Delta log: the date prunes whole files;
# text bounds would need truncation rules and prune nothing here.
STATS_COLUMNS = ("sale_date", "line_no", "invoice_key", "customer_key")


def _measure_exprs(measures: tuple[str, ...]) -> list[pl.Expr]:
    exprs = {
        "gross_sales": pl.col("gross_sales").sum(),
        "discount": pl.col("discount").sum(),
        "net_sales": pl.col("net_sales").sum(),
        "cogs": pl.col("cogs").sum(),
        "gross_profit": pl.col("gross_profit").sum(),
        "units": pl.col("quantity").sum(),
        "lines": pl.len(),
        "orders": pl.col("invoice_key").n_unique(),
        "customers": pl.col("customer_key").drop_nulls().n_unique(),
        "first_sale": pl.col("sale_date").min(),
        "last_sale": pl.col("sale_date").max(),
    }
    unknown = set(measures) - set(exprs)
    if unknown:
        raise ValueError(f"unknown measures: {sorted(unknown)}")
    return [exprs[m].cast(MEASURE_DTYPES[m]).alias(m) for m in measures]


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

    # ----------------------------------------------------------------- reading

    def _table(self) -> DeltaTable | None:
        if not DeltaTable.is_deltatable(str(self.path)):
            return None
        return DeltaTable(str(self.path))

    def _scan(self) -> pl.LazyFrame:
        table = self._table()
        if table is None:
            return _empty_lines().lazy()
        return pl.scan_delta(table)

    def _select(self, scope: Scope, window: Window | None) -> pl.LazyFrame:
        frame = self._scan()
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
        frame = self._select(scope, window)
        # Customers are grouped by their integer key (one key per id, see core/keys.py):
        # hashing an Int64 is cheaper than hashing the text id (456 -> 357 ms, 10M lines),
        # and the ids are joined on afterwards (core/stores/customer_ids.py).
        by_key = "customer_id" in by
        # The keys by name in the result (customer_key stays until the latest values joined).
        names = [("customer_key" if c == "customer_id" else c) for c in by]
        if grain is not None:
            frame = frame.with_columns(bucket_start(pl.col("sale_date"), grain).alias("period"))
            names.append("period")
        exprs = _measure_exprs(measures)
        check_latest(latest)
        if latest:
            exprs.append(pl.col("sold_at").max().alias(LATEST_TIME))
        if not names:
            result: pl.DataFrame = frame.select(exprs).collect()
        else:
            result = frame.group_by(names).agg(exprs).collect()
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

    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

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
            with self._write_lock():
                report("writing", 0.0)
                if mode == "replace":
                    result = self._replace(lines, replace_window)
                else:
                    result = self._append(lines)
                customer_ids.record(self.path, lines)
                report("written", 1.0)
                return result
        except (DeltaError, OSError) as exc:
            raise self._write_failure(exc) from exc

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

    def _stored_identities(self, lines: pl.DataFrame) -> pl.DataFrame:
        """Stored (invoice_id, line_no, sale_date) of lines sharing an identity with `lines`."""
        if self._table() is None:
            return pl.DataFrame(
                schema={"invoice_id": pl.String, "line_no": pl.Int64, "sale_date": pl.Date}
            )
        wanted = lines.select("invoice_key", "line_no", "invoice_id")
        # Join on the integer key first (fast), then confirm on the text id.
        return (
            self._scan()
            .select("invoice_key", "line_no", "invoice_id", "sale_date")
            .join(wanted.lazy(), on=["invoice_key", "line_no"], how="semi")
            .join(wanted.lazy(), on=["invoice_key", "line_no", "invoice_id"], how="semi")
            .select("invoice_id", "line_no", "sale_date")
            .collect()
        )

    def _append(self, lines: pl.DataFrame) -> WriteResult:
        window = Window(lines["sale_date"].min(), lines["sale_date"].max())  # type: ignore[arg-type]
        existing = self._stored_identities(lines)
        if existing.is_empty():
            self._add_files(lines)
            return WriteResult(len(lines), 0, 0, window)
        table = self._table()
        assert table is not None
        (
            table.merge(
                source=lines.to_arrow(),
                predicate="t.invoice_id = s.invoice_id AND t.line_no = s.line_no",
                source_alias="s",
                target_alias="t",
                writer_properties=WRITER,
            )
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute()
        )
        return WriteResult(len(lines) - len(existing), len(existing), 0, window)

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
        elsewhere = self._stored_identities(lines).filter(
            ~pl.col("sale_date").is_between(window.start, window.end)
        )
        if not elsewhere.is_empty():
            first = elsewhere.row(0, named=True)
            raise StoreError(
                f"{len(elsewhere)} lines are already stored outside {window.start}..{window.end} "
                f"(first: invoice {first['invoice_id']} line {first['line_no']} on "
                f"{first['sale_date']}); widen the range or append instead"
            )
        replaced = self.count_lines(Scope(), window)
        # The predicate is built from two dates, never from user text.
        predicate = (
            f"sale_date >= '{window.start.isoformat()}' AND sale_date <= '{window.end.isoformat()}'"
        )
        if self._table() is None:
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
        return "empty" if table is None else f"delta-{table.version()}"

    def latest_sale(self) -> datetime | None:
        """The latest `sold_at` stored (UTC), for freshness."""
        value = self._scan().select(pl.col("sold_at").max()).collect().item()
        return value if isinstance(value, datetime) else None
