"""One CRM dataset in the embedded store: its own Delta table beside the sales lines.

A CRM holds thousands to a few hundred thousand deals (and a few times as
many stage entries and activities), so every write rewrites the table in
one Delta commit (the stored rows merged with the incoming ones, or the
incoming ones alone): atomic like the sales writes, and every read a plain
scan of one small, compact version. One writer at a time (a lock file).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import polars as pl
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import DeltaError

from core.pipeline_datasets import EMPTY, KeyedDataset
from core.store import Progress, StoreError, StoreHealth, Window, WriteMode, WriteResult
from core.stores import file_lock


def first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class KeyedDeltaTable:
    """`KeyedStore` over a Delta table in `path` (`SALES_DATA_DIR/<dataset name>`)."""

    name = "embedded"

    def __init__(self, path: Path, dataset: KeyedDataset) -> None:
        self.path = Path(path)
        self.dataset = dataset
        self._lock_path = self.path.parent / f".{self.path.name}.lock"

    def table(self) -> DeltaTable | None:
        if not DeltaTable.is_deltatable(str(self.path)):
            return None
        return DeltaTable(str(self.path))

    def scan(self, table: DeltaTable | None = None) -> pl.LazyFrame:
        """The stored rows (none before the first write)."""
        table = table if table is not None else self.table()
        if table is None:
            return self.dataset.empty().lazy()
        return pl.scan_delta(table)

    def count(self) -> int:
        return int(self.scan().select(pl.len()).collect().item())

    def write(
        self, rows: pl.DataFrame, mode: WriteMode, progress: Progress | None = None
    ) -> WriteResult:
        report = progress or (lambda _stage, _fraction: None)
        dataset = self.dataset
        rows = dataset.model.validate(rows.select(dataset.columns))
        if rows.is_empty():
            if mode == "append":
                return WriteResult(0, 0, 0, None)
            raise StoreError(dataset.empty_replace)
        window = Window(rows[dataset.day].min(), rows[dataset.day].max())  # type: ignore[arg-type]
        key = list(dataset.key)
        try:
            with file_lock.exclusive(self._lock_path):
                report("writing", 0.0)
                table = self.table()
                stored = self.scan(table).collect()
                content: pl.DataFrame
                if mode == "replace":
                    content, result = rows, WriteResult(len(rows), 0, len(stored), window)
                else:
                    kept = stored.join(rows.select(key), on=key, how="anti")
                    updated = len(stored) - len(kept)
                    content = pl.concat([kept, rows])
                    result = WriteResult(len(rows) - updated, updated, 0, window)
                write_deltalake(
                    str(self.path),
                    content.sort(dataset.day, *key).to_arrow(),
                    mode="overwrite",
                    schema_mode="overwrite" if table is not None else None,
                )
                report("written", 1.0)
                return result
        except (DeltaError, OSError) as exc:
            raise StoreError(
                f"the embedded store could not write {dataset.name} to {self.path}: "
                f"{first_line(exc)}; the stored {dataset.noun} are unchanged"
            ) from exc

    def health(self) -> StoreHealth:
        started = time.perf_counter()
        name = self.dataset.name
        try:
            table = self.table()
            if table is None:
                return StoreHealth(self.name, True, f"no {name} yet at {self.path}")
            rows = self.count()
        except (DeltaError, OSError, pl.exceptions.PolarsError) as exc:
            return StoreHealth(self.name, False, f"cannot read {self.path}: {first_line(exc)}")
        facts: dict[str, Any] = {
            "location": str(self.path.resolve()),
            "version": table.version(),
            "rows": rows,
            "check_seconds": round(time.perf_counter() - started, 4),
        }
        return StoreHealth(self.name, True, f"{rows:,} {name} in {self.path}", facts)

    def data_version(self) -> str:
        table = self.table()
        return EMPTY if table is None else f"delta-{table.version()}"
