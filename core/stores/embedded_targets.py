"""The embedded store's targets: a Delta table of its own beside the lines.

Targets are a few thousand rows at most (a row per month and slice), so a
write reads the table, merges the incoming targets into it (`core.targets.merged`)
and overwrites it in one Delta commit: readers see the old targets or the
new ones, never a mix, and a writer killed mid-write leaves the old ones.
Writers take the same kind of exclusive file lock as the lines.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import DeltaError

from core.store import StoreError, TargetWriteResult
from core.stores import file_lock
from core.targets import DTYPES, KEY_COLUMNS, STORED_COLUMNS, StoredTarget, empty_targets, merged


def targets_path(lines: Path) -> Path:
    """Where the targets of the lines table at `lines` live: `targets` beside `sales`."""
    name = "targets" if lines.name == "sales" else f"{lines.name}_targets"
    return lines.parent / name


class EmbeddedTargets:
    """The targets table at `path`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock_path = self.path.parent / f".{self.path.name}.lock"

    def _table(self) -> DeltaTable | None:
        if not DeltaTable.is_deltatable(str(self.path)):
            return None
        return DeltaTable(str(self.path))

    def version(self) -> int | None:
        table = self._table()
        return None if table is None else table.version()

    def read(self) -> pl.DataFrame:
        table = self._table()
        if table is None:
            return empty_targets()
        try:
            frame = pl.read_delta(table)
        except (DeltaError, OSError, pl.exceptions.PolarsError) as exc:
            raise StoreError(f"the targets at {self.path} cannot be read: {exc}") from exc
        return (
            frame.select(STORED_COLUMNS)
            .cast({c: DTYPES[c] for c in STORED_COLUMNS})
            .sort(KEY_COLUMNS, nulls_last=False)
        )

    def write(
        self, targets: pl.DataFrame, removed: pl.DataFrame | None = None
    ) -> TargetWriteResult:
        incoming = StoredTarget.validate(targets.select(STORED_COLUMNS))
        with file_lock.exclusive(self._lock_path):
            result, inserted, updated, dropped = merged(self.read(), incoming, removed)
            if inserted == updated == dropped == 0 and incoming.is_empty():
                return TargetWriteResult(0, 0, 0)
            StoredTarget.validate(result)  # the merge keeps one row per month and slice
            try:
                write_deltalake(str(self.path), result.to_arrow(), mode="overwrite")
            except (DeltaError, OSError) as exc:
                raise StoreError(
                    f"the targets could not be written to {self.path}: {exc}; "
                    "the stored targets are unchanged"
                ) from exc
        return TargetWriteResult(inserted, updated, dropped)
