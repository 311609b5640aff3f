"""Opportunities in the embedded store: their own Delta table beside the sales lines.

A CRM holds thousands to a few hundred thousand deals, so every write
rewrites the table in one Delta commit (the stored deals merged with the
incoming ones, or the incoming ones alone): atomic like the sales writes,
and every read a plain scan of one small, compact version.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import DeltaError

from core.opportunities import DIMENSIONS, STORED_COLUMNS, StoredOpportunity, empty_stored
from core.pipeline_store import (
    EMPTY_REPLACE,
    FACT_SCHEMA,
    OPEN_DEAL_COLUMNS,
    STAGE_SCHEMA,
    WON_DEAL_SCHEMA,
    check_by,
    outcome_facts,
)
from core.store import Progress, Scope, StoreError, StoreHealth, Window, WriteMode, WriteResult
from core.stores import file_lock

IDENTITY = "opportunity_id"


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class EmbeddedPipelineStore:
    """`PipelineStore` over a Delta table in `path` (`SALES_DATA_DIR/opportunities`)."""

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

    def _scan(self, table: DeltaTable | None = None) -> pl.LazyFrame:
        table = table if table is not None else self._table()
        if table is None:
            return empty_stored().lazy()
        return pl.scan_delta(table)

    def _select(self, scope: Scope) -> pl.LazyFrame:
        deals = self._scan()
        for column, values in scope.member_filters():
            deals = deals.filter(pl.col(column).is_in(list(values)))
        return deals

    def facts(self, scope: Scope, window: Window, by: tuple[str, ...] = ()) -> pl.DataFrame:
        check_by(by)
        schema = {**{c: pl.String() for c in by}, **FACT_SCHEMA}
        found = outcome_facts(self._select(scope), window, by).collect()
        return found.select(pl.col(c).cast(t) for c, t in schema.items()).sort(
            *by, "outcome", "days", nulls_last=True
        )

    def stage_counts(self, scope: Scope, window: Window) -> pl.DataFrame:
        found = (
            self._select(scope)
            .filter(pl.col("created_date").is_between(window.start, window.end))
            .group_by("stage", "status")
            .agg(deals=pl.len(), amount=pl.col("amount").fill_null(0.0).sum())
            .collect()
        )
        return found.select(pl.col(c).cast(t) for c, t in STAGE_SCHEMA.items()).sort(
            "stage", "status"
        )

    def open_deals(self, scope: Scope, as_of: date, limit: int) -> pl.DataFrame:
        open_then = (pl.col("created_date") <= as_of) & (
            (pl.col("status") == "open") | (pl.col("closed_date") > as_of)
        )
        return (
            self._select(scope)
            .filter(open_then)
            .sort("created_at", "opportunity_id")
            .head(limit)
            .select(OPEN_DEAL_COLUMNS)
            .collect()
        )

    def won_deals(self, scope: Scope, window: Window) -> pl.DataFrame:
        won = (pl.col("status") == "won") & pl.col("closed_date").is_between(
            window.start, window.end
        )
        return (
            self._select(scope)
            .filter(won)
            .select(list(WON_DEAL_SCHEMA))
            .with_columns(pl.col("amount").fill_null(0.0))
            .sort("closed_date", "opportunity_id")
            .collect()
            .cast(WON_DEAL_SCHEMA)  # type: ignore[arg-type]
        )

    def distinct_values(self, column: str, scope: Scope) -> list[str]:
        if column not in DIMENSIONS:
            raise ValueError(f"unknown column {column!r}: expected one of {', '.join(DIMENSIONS)}")
        values = (
            self._select(scope).select(pl.col(column).drop_nulls().unique()).collect().to_series()
        )
        return sorted(v for v in values.to_list() if v)

    def date_range(self, scope: Scope) -> Window | None:
        first, last = (
            self._select(scope)
            .select(
                first=pl.col("created_date").min(),
                last=pl.max_horizontal(pl.col("created_date").max(), pl.col("closed_date").max()),
            )
            .collect()
            .row(0)
        )
        return None if first is None else Window(first, last)

    def count(self, scope: Scope) -> int:
        return int(self._select(scope).select(pl.len()).collect().item())

    # ----------------------------------------------------------------- writing

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
        try:
            with file_lock.exclusive(self._lock_path):
                report("writing", 0.0)
                table = self._table()
                stored = self._scan(table).collect()
                content: pl.DataFrame
                if mode == "replace":
                    content, result = deals, WriteResult(len(deals), 0, len(stored), window)
                else:
                    kept = stored.join(deals.select(IDENTITY), on=IDENTITY, how="anti")
                    updated = len(stored) - len(kept)
                    content = pl.concat([kept, deals])
                    result = WriteResult(len(deals) - updated, updated, 0, window)
                content = content.sort("created_date", IDENTITY)
                write_deltalake(
                    str(self.path),
                    content.to_arrow(),
                    mode="overwrite",
                    schema_mode="overwrite" if table is not None else None,
                )
                report("written", 1.0)
                return result
        except (DeltaError, OSError) as exc:
            raise StoreError(
                f"the embedded store could not write opportunities to {self.path}: "
                f"{_first_line(exc)}; the stored deals are unchanged"
            ) from exc

    # ------------------------------------------------------------------ health

    def health(self) -> StoreHealth:
        started = time.perf_counter()
        try:
            table = self._table()
            if table is None:
                return StoreHealth(self.name, True, f"no opportunities yet at {self.path}")
            rows = self.count(Scope())
        except (DeltaError, OSError, pl.exceptions.PolarsError) as exc:
            return StoreHealth(self.name, False, f"cannot read {self.path}: {_first_line(exc)}")
        facts: dict[str, Any] = {
            "location": str(self.path.resolve()),
            "version": table.version(),
            "rows": rows,
            "check_seconds": round(time.perf_counter() - started, 4),
        }
        return StoreHealth(self.name, True, f"{rows:,} opportunities in {self.path}", facts)

    def data_version(self) -> str:
        table = self._table()
        return "empty" if table is None else f"delta-{table.version()}"
