"""The Druid store's targets: a small datasource of their own, `<lines>_targets`.

One row per month and slice (`__time` the month's first day, UTC midnight).
A write is the sales writes' all-or-nothing pattern at its simplest: the
stored targets are read (a few thousand rows at most), merged with the
incoming ones (`core.targets.merged`), staged as JSON lines and written by
one MSQ `REPLACE ... OVERWRITE ALL` tagged with a write id; Druid publishes
the new segment in one metadata transaction, so a failed task leaves the old
targets served. The write returns once the broker serves every row with the
new id. Deleting the last target marks the datasource's segments unused.

The SQL text holds our own values only: the staged file's path, the write id.
"""

from __future__ import annotations

import json
import os
import time

import polars as pl

from core.store import StoreError
from core.stores import druid_ingest as ingest
from core.stores import druid_segments as segments
from core.stores import druid_tasks
from core.stores.druid_http import DruidClient, DruidQueryError, parameter
from core.stores.druid_sql import quote, sql_string
from core.targets import DTYPES, KEY_COLUMNS, MEMBER_COLUMNS, STORED_COLUMNS, empty_targets

SUFFIX = "_targets"
TEXT = (*MEMBER_COLUMNS, "updated_by")
DOUBLES = ("net_sales", "gross_profit")
# A few thousand rows: Druid loads their one segment within a coordinator period or two.
LOAD_TIMEOUT_SECONDS = 120.0
# The task itself is seconds; a Druid too busy to run it in minutes is reported.
TASK_TIMEOUT_SECONDS = 300.0
POLL_SECONDS = 1.0


def datasource_of(lines: str) -> str:
    """The targets' datasource, named after the lines' datasource."""
    return f"{lines}{SUFFIX}"


def read(client: DruidClient, lines: str) -> pl.DataFrame:
    """Every stored target (`STORED_COLUMNS`), sorted by month and slice."""
    sql = (
        "SELECT TIME_FORMAT(\"__time\", 'yyyy-MM-dd', 'UTC') AS \"month\", "
        f"{', '.join(quote(c) for c in (*MEMBER_COLUMNS, *DOUBLES))}, "
        '"updated_ms", "updated_by" '
        f"FROM {quote(datasource_of(lines))}"
    )
    try:
        columns, rows = client.sql(sql, [], {"sqlTimeZone": "UTC"})
    except DruidQueryError as exc:
        if exc.unknown_table:
            return empty_targets()
        raise StoreError(f"Druid could not read the targets: {exc.druid_message}") from exc
    if not rows:
        return empty_targets()
    frame = pl.DataFrame(rows, schema=columns, orient="row")
    return (
        frame.with_columns(
            month=pl.col("month").str.to_date("%Y-%m-%d"),
            updated_at=pl.from_epoch(
                pl.col("updated_ms").cast(pl.Int64), "ms"
            ).dt.replace_time_zone("UTC"),
        )
        .with_columns(pl.col(c).cast(pl.String).replace("", None) for c in MEMBER_COLUMNS)
        .select(STORED_COLUMNS)
        .cast({c: DTYPES[c] for c in STORED_COLUMNS})
        .sort(KEY_COLUMNS, nulls_last=False)
    )


def _staged(targets: pl.DataFrame) -> pl.DataFrame:
    month = pl.col("month").cast(pl.Datetime("ms")).dt.epoch("ms")
    return targets.select(
        month.alias("month_ms"),
        *[pl.col(c) for c in (*MEMBER_COLUMNS, *DOUBLES)],
        pl.col("updated_at").dt.epoch("ms").alias("updated_ms"),
        pl.col("updated_by"),
    )


def replace_sql(lines: str, staged: str, write_id: str) -> str:
    """The statement that makes `staged` (a JSON lines file) the whole targets datasource."""
    source = {"type": "local", "files": [staged]}
    signature = [{"name": "month_ms", "type": "long"}, {"name": "updated_ms", "type": "long"}]
    signature += [{"name": c, "type": "string"} for c in TEXT]
    signature += [{"name": c, "type": "double"} for c in DOUBLES]
    extern = (
        f"TABLE(EXTERN({sql_string(json.dumps(source))}, "
        f"{sql_string(json.dumps({'type': 'json'}))}, {sql_string(json.dumps(signature))}))"
    )
    columns = ", ".join(quote(c) for c in (*MEMBER_COLUMNS, *DOUBLES, "updated_ms", "updated_by"))
    return (
        f"REPLACE INTO {quote(datasource_of(lines))} OVERWRITE ALL\n"
        f'SELECT MILLIS_TO_TIMESTAMP("month_ms") AS "__time", {columns}, '
        f'{sql_string(write_id)} AS "write_id"\nFROM {extern}\n'
        "PARTITIONED BY ALL"
    )


def _served(client: DruidClient, lines: str, write_id: str) -> tuple[int, int]:
    """(rows served, rows of them written by `write_id`)."""
    sql = (
        'SELECT COUNT(*), COUNT(*) FILTER (WHERE "write_id" = ?) '
        f"FROM {quote(datasource_of(lines))}"
    )
    try:
        _, rows = client.sql(sql, [parameter(write_id)], {"sqlTimeZone": "UTC"})
    except DruidQueryError as exc:
        if exc.unknown_table:
            return 0, 0
        raise
    return (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)


def _wait(client: DruidClient, lines: str, write_id: str, expected: int) -> None:
    started = time.monotonic()
    while time.monotonic() - started < LOAD_TIMEOUT_SECONDS:
        if _served(client, lines, write_id) == (expected, expected):
            return
        time.sleep(POLL_SECONDS)
    raise StoreError(
        f"Druid accepted the targets but did not serve them after {LOAD_TIMEOUT_SECONDS:.0f} s"
    )


def write_all(
    client: DruidClient, lines: str, targets: pl.DataFrame, staging: ingest.Staging
) -> None:
    """Make `targets` (stored columns, merged already) the whole targets datasource."""
    if targets.is_empty():
        _delete_all(client, lines)
        return
    write_id = druid_tasks.new_write_id()
    with staging:
        assert staging.directory is not None
        path = staging.directory / "targets.json"
        _staged(targets).write_ndjson(path)
        os.chmod(path, 0o644)
        druid_tasks.run_task(
            client,
            replace_sql(lines, str(path), write_id),
            lambda _stage, _fraction: None,
            timeout=TASK_TIMEOUT_SECONDS,
        )
    _wait(client, lines, write_id, targets.height)


def _delete_all(client: DruidClient, lines: str) -> None:
    name = datasource_of(lines)
    # The datasource's one segment spans all time (PARTITIONED BY ALL), which no
    # interval-bounded markUnused contains: the whole datasource is marked unused.
    client.request("DELETE", f"/druid/coordinator/v1/datasources/{name}", idempotent=False)
    started = time.monotonic()
    while time.monotonic() - started < LOAD_TIMEOUT_SECONDS:
        if _served(client, lines, "")[0] == 0:
            return
        time.sleep(POLL_SECONDS)
    raise StoreError("Druid still serves the deleted targets")


def data_version(client: DruidClient, lines: str) -> str:
    """What changes whenever the targets change ("empty" when there are none)."""
    return segments.listed(client, datasource_of(lines)).data_version
