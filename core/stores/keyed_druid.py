"""One CRM dataset in Druid: its own datasource (`<datasource>_<dataset name>`).

Every write is one SQL-based ingestion task, `REPLACE ... OVERWRITE ALL`,
published in one metadata transaction like the sales writes
(core/stores/druid_ingest.py): an append is the stored rows FULL OUTER
JOINed with the staged incoming ones on the dataset's key, the incoming row
winning; a replace is the incoming rows alone. A failed task changes
nothing. The write reports done once the broker serves only rows carrying
its write id.

The SQL text is built from our own constants only: column names, the staged
file's path, a generated write id; query values are typed parameters.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from core.pipeline_datasets import KeyedDataset
from core.store import Progress, StoreError, StoreHealth, Window, WriteMode, WriteResult
from core.stores import druid_segments as segments
from core.stores.druid_http import DruidClient, DruidQueryError, SqlParameter, parameter
from core.stores.druid_sql import query_context, quote, sql_string
from core.stores.druid_tasks import LOAD_TIMEOUT_SECONDS, POLL_SECONDS, new_write_id, run_task


@dataclass(frozen=True)
class DruidLayout:
    """How one dataset's rows sit in its datasource."""

    time: str  # the staged epoch-milliseconds column that becomes `__time`
    strings: tuple[str, ...]
    longs: tuple[str, ...]
    doubles: tuple[str, ...]
    key: tuple[str, ...]  # datasource columns that identify a row
    clustered_by: str
    to_staged: Callable[[pl.DataFrame], pl.DataFrame]  # stored rows -> staged JSON lines

    @property
    def data_columns(self) -> tuple[str, ...]:
        return (*self.strings, *self.longs, *self.doubles)


def _extern(layout: DruidLayout, path: Path) -> str:
    source = {"type": "local", "files": [str(path)]}
    signature = [{"name": layout.time, "type": "long"}]
    signature += [{"name": c, "type": "string"} for c in layout.strings]
    signature += [{"name": c, "type": "long"} for c in layout.longs if c != layout.time]
    signature += [{"name": c, "type": "double"} for c in layout.doubles]
    return (
        f"TABLE(EXTERN({sql_string(json.dumps(source))}, "
        f"{sql_string(json.dumps({'type': 'json'}))}, {sql_string(json.dumps(signature))}))"
    )


def replace_sql(
    datasource: str, layout: DruidLayout, staged: Path, write_id: str, keep_existing: bool
) -> str:
    """The one statement of a write: the whole datasource's new content."""
    data = layout.data_columns
    columns = ("__time", *data)
    incoming = (
        f'SELECT MILLIS_TO_TIMESTAMP({quote(layout.time)}) AS "__time", '
        f"{', '.join(quote(c) for c in data)} FROM {_extern(layout, staged)}"
    )
    tag = f'{sql_string(write_id)} AS "write_id"'
    if keep_existing:
        existing = f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(datasource)}"
        first = quote(layout.key[0])
        picks = ", ".join(
            f"CASE WHEN n.{first} IS NOT NULL THEN n.{q} ELSE o.{q} END AS {q}"
            for q in map(quote, columns)
        )
        on = " AND ".join(f"o.{q} = n.{q}" for q in map(quote, layout.key))
        body = (
            f"SELECT {picks}, {tag}\nFROM ({existing}) o\nFULL OUTER JOIN ({incoming}) n\nON {on}"
        )
    else:
        body = f"SELECT {', '.join(quote(c) for c in columns)}, {tag} FROM ({incoming})"
    return (
        f"REPLACE INTO {quote(datasource)} OVERWRITE ALL\n{body}\n"
        f"PARTITIONED BY ALL\nCLUSTERED BY {quote(layout.clustered_by)}"
    )


class KeyedDatasource:
    """`KeyedStore` over a Druid datasource of its own."""

    name = "druid"

    def __init__(
        self,
        client: DruidClient,
        datasource: str,
        dataset: KeyedDataset,
        layout: DruidLayout,
        timezone: str = "Africa/Nairobi",
        staging_dir: Path | None = None,
    ) -> None:
        self.client = client
        self.datasource = datasource
        self.dataset = dataset
        self.layout = layout
        self.timezone = timezone
        self.staging_dir = staging_dir

    def rows(self, sql: str, params: list[SqlParameter]) -> list[list[Any]]:
        """The rows of a query; none while the datasource does not exist yet."""
        try:
            _, rows = self.client.sql(sql, params, query_context(self.timezone))
        except DruidQueryError as exc:
            if exc.unknown_table:
                return []
            raise StoreError(f"Druid could not answer: {exc.druid_message}") from exc
        return rows

    def frame(
        self, sql: str, schema: dict[str, pl.DataType], params: list[SqlParameter]
    ) -> pl.DataFrame:
        """A query's rows as a frame of `schema` (`DruidClient.sql_frame`): for reads of
        many rows. Empty while the datasource does not exist yet."""
        try:
            return self.client.sql_frame(sql, schema, params, query_context(self.timezone))
        except DruidQueryError as exc:
            if exc.unknown_table:
                return pl.DataFrame(schema=schema)
            raise StoreError(f"Druid could not answer: {exc.druid_message}") from exc

    def count(self) -> int:
        rows = self.rows(f"SELECT COUNT(*) FROM {quote(self.datasource)}", [])
        return int(rows[0][0]) if rows else 0

    def _stored_keys(self) -> set[tuple[Any, ...]]:
        columns = ", ".join(quote(c) for c in self.layout.key)
        return {tuple(r) for r in self.rows(f"SELECT {columns} FROM {quote(self.datasource)}", [])}

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
        staged_rows = self.layout.to_staged(rows)
        report("checking", 0.0)
        stored = self._stored_keys()
        incoming = set(staged_rows.select(self.layout.key).iter_rows())
        if mode == "replace":
            result = WriteResult(len(rows), 0, len(stored), window)
            expected = len(rows)
        else:
            updated = len(incoming & stored)
            result = WriteResult(len(rows) - updated, updated, 0, window)
            expected = len(stored | incoming)
        write_id = new_write_id()
        directory = Path(
            tempfile.mkdtemp(prefix=f"druid-{dataset.name}-", dir=self._staging_root())
        )
        try:
            os.chmod(directory, 0o755)  # Druid may run as another user (containers)
            staged = directory / f"{dataset.name}.json"
            staged_rows.write_ndjson(staged)
            os.chmod(staged, 0o644)
            keep = bool(stored) and mode == "append"
            run_task(
                self.client,
                replace_sql(self.datasource, self.layout, staged, write_id, keep),
                report,
            )
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
            rows = self.rows(sql, [parameter(write_id)])
            if rows:
                seen = (int(rows[0][0]), int(rows[0][1]))
                if seen == (expected, expected):
                    return
            time.sleep(POLL_SECONDS)
        raise StoreError(
            f"Druid accepted the write but serves {seen[1]} of its {expected} "
            f"{self.dataset.noun} ({seen[0]} in all) after {LOAD_TIMEOUT_SECONDS:.0f} s"
        )

    def health(self) -> StoreHealth:
        try:
            rows = self.count()
        except StoreError as exc:
            return StoreHealth(self.name, False, str(exc), {"datasource": self.datasource})
        return StoreHealth(
            self.name,
            True,
            f"{rows:,} {self.dataset.name} in {self.datasource}",
            {"datasource": self.datasource, "rows": rows},
        )

    def data_version(self) -> str:
        return segments.listed(self.client, self.datasource).data_version
