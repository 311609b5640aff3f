"""Writing sales lines to Druid: stage them as JSON lines and build the one SQL-based
ingestion (`core.stores.druid_tasks` runs it, `core.stores.druid_chunks` waits for it).

Every write is one MSQ `REPLACE` of whole time chunks (UTC months, the
datasource's `PARTITIONED BY MONTH`): the chunks' new content is the stored
lines to keep FULL OUTER JOINed with the incoming lines on
`(invoice_id, line_no)`, the incoming line winning. So re-loading a line
replaces it instead of counting it twice, and the whole write is published
in one metadata transaction: a failed task leaves every chunk as it was.
Deduplicating at write time keeps every read a plain aggregation (exact
distinct counts stay single group-bys), which matters more than write cost
for a dashboard.

The SQL text here is built from our own values only: dates, the staged
file's path (JSON-encoded, then SQL-quoted) and a generated write id.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from core.schema import TEXT_COLUMNS
from core.stores import invoice_heads as heads
from core.stores.druid_chunks import ETERNITY, Chunk, chunk_condition, timestamp_literal
from core.stores.druid_http import DruidClient, DruidQueryError, parameter
from core.stores.druid_sql import quote, sql_string
from core.stores.invoice_heads import FLAG_COLUMNS

DOUBLE_COLUMNS: tuple[str, ...] = (
    "quantity",
    "unit_price",
    "unit_cost",
    "discount",
    "gross_sales",
    "net_sales",
    "cogs",
    "gross_profit",
)
LONG_COLUMNS: tuple[str, ...] = ("line_no", *FLAG_COLUMNS)
# Datasource columns besides __time, in order. `write_id` tags every row a write produced:
# the write is visible once every row of its chunks carries the new id.
DATASOURCE_COLUMNS: tuple[str, ...] = (*TEXT_COLUMNS, *LONG_COLUMNS, *DOUBLE_COLUMNS, "write_id")
# A staged line: `sold_ms` (UTC epoch milliseconds) becomes `__time`.
STAGED_COLUMNS: tuple[str, ...] = ("sold_ms", *DATASOURCE_COLUMNS[:-1])
IDENTITY: list[str] = ["invoice_id", "line_no"]
# What a write reads of stored lines to set the flags of their invoices.
FLAG_INPUTS: tuple[str, ...] = (*heads.INPUT_COLUMNS, *FLAG_COLUMNS)

# What a datasource holds and how, as written by this module: bumped when that changes
# (2: the invoice flags), so a copy kept for benchmarks is known to be out of date.
LAYOUT_VERSION = 2
# Invoice ids per identity look-up (a native `in` filter): bounds one request's size.
IDENTITY_BATCH = 50_000


def _extern(path: Path) -> str:
    source = {"type": "local", "files": [str(path)]}
    signature = [{"name": "sold_ms", "type": "long"}]
    signature += [{"name": c, "type": "string"} for c in TEXT_COLUMNS]
    signature += [{"name": c, "type": "long"} for c in LONG_COLUMNS]
    signature += [{"name": c, "type": "double"} for c in DOUBLE_COLUMNS]
    return (
        f"TABLE(EXTERN({sql_string(json.dumps(source))}, "
        f"{sql_string(json.dumps({'type': 'json'}))}, {sql_string(json.dumps(signature))}))"
    )


def replace_sql(
    datasource: str,
    chunks: Iterable[Chunk],
    write_id: str,
    staged: Path | None,
    keep_existing: bool,
    drop_between: tuple[datetime, datetime] | None = None,
) -> str:
    """The REPLACE statement of one write.

    `staged` holds the incoming lines (None: none). With `keep_existing`
    the stored lines of the chunks are kept unless an incoming line has
    their identity or they fall in `drop_between` (a half-open UTC range).
    """
    chunks = list(chunks)
    overwrite = chunk_condition(chunks)
    data_columns = ("__time", *DATASOURCE_COLUMNS[:-1])
    tag = f'{sql_string(write_id)} AS "write_id"'
    incoming = (
        f'SELECT MILLIS_TO_TIMESTAMP("sold_ms") AS "__time", '
        f"{', '.join(quote(c) for c in DATASOURCE_COLUMNS[:-1])} FROM {_extern(staged)}"
        if staged is not None
        else None
    )
    existing = None
    if keep_existing:
        keep = overwrite
        if drop_between is not None:
            keep += (
                f' AND ("__time" < {timestamp_literal(drop_between[0])}'
                f' OR "__time" >= {timestamp_literal(drop_between[1])})'
            )
        columns = ", ".join(quote(c) for c in data_columns)
        existing = f"SELECT {columns} FROM {quote(datasource)} WHERE {keep}"
    if incoming is not None and existing is not None:
        picks = ", ".join(
            f'CASE WHEN n."invoice_id" IS NOT NULL THEN n.{q} ELSE o.{q} END AS {q}'
            for q in map(quote, data_columns)
        )
        body = (
            f"SELECT {picks}, {tag}\nFROM ({existing}) o\nFULL OUTER JOIN ({incoming}) n\n"
            f'ON o."invoice_id" = n."invoice_id" AND o."line_no" = n."line_no"'
        )
    elif incoming is not None:
        body = f"SELECT {', '.join(quote(c) for c in data_columns)}, {tag} FROM ({incoming})"
    elif existing is not None:
        body = f"SELECT {', '.join(quote(c) for c in data_columns)}, {tag} FROM ({existing})"
    else:
        raise ValueError("a write needs incoming lines or lines to keep")
    return (
        f"REPLACE INTO {quote(datasource)} OVERWRITE WHERE {overwrite}\n{body}\n"
        f'PARTITIONED BY MONTH\nCLUSTERED BY "branch"'
    )


class Staging:
    """A private directory with the incoming lines as JSON lines, removed afterwards.

    JSON, not Parquet: Druid reads it without an extension (the Parquet
    extension 27.0.0 is not on the Maven mirror), and a JSON null stays null
    where CSV would blur a missing customer id into ''.

    Druid's task runner reads the file by path, so `root` must be a directory
    it shares with this process (the same machine, or a shared volume).
    """

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.directory: Path | None = None

    def __enter__(self) -> Staging:
        if self.root is not None:
            self.root.mkdir(parents=True, exist_ok=True)
        self.directory = Path(tempfile.mkdtemp(prefix="druid-ingest-", dir=self.root))
        # Druid may run as another user (containers): it must be able to read.
        os.chmod(self.directory, 0o755)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)

    def write(self, staged: pl.DataFrame) -> Path:
        """Write `STAGED_COLUMNS` rows as the JSON lines the ingestion task reads."""
        assert self.directory is not None
        path = self.directory / "lines.json"
        staged.select(STAGED_COLUMNS).write_ndjson(path)
        os.chmod(path, 0o644)
        return path


def to_staged(lines: pl.DataFrame) -> pl.DataFrame:
    """Stored lines (`StoredLine`) in the datasource's columns, flags not yet set."""
    return lines.select(
        pl.col("sold_at").dt.epoch("ms").alias("sold_ms"),
        *[pl.col(c).cast(pl.String) for c in TEXT_COLUMNS],
        *[pl.col(c).cast(pl.Int64) for c in LONG_COLUMNS if c not in FLAG_COLUMNS],
        *[pl.col(c).cast(pl.Float64) for c in DOUBLE_COLUMNS],
    )


def stored_lines(
    client: DruidClient, datasource: str, invoices: list[str], columns: tuple[str, ...]
) -> pl.DataFrame:
    """Every stored line of `invoices`: `columns` (`sold_ms` for `__time`), any month.

    A native scan with a structured `in` filter: no SQL text at all, and no
    SQL planning of a long IN list (2000 values take Druid 27's planner ~2 s;
    the native filter looks 20,000 up in under a second).
    """
    types = {"sold_ms": pl.Int64, **{c: pl.String for c in TEXT_COLUMNS}}
    types |= {c: pl.Int64 for c in LONG_COLUMNS} | {c: pl.Float64 for c in DOUBLE_COLUMNS}
    schema = {c: types[c] for c in columns}
    wanted = ["__time" if c == "sold_ms" else c for c in columns]
    found: list[pl.DataFrame] = []
    for offset in range(0, len(invoices), IDENTITY_BATCH):
        query = {
            "queryType": "scan",
            "dataSource": datasource,
            "intervals": [ETERNITY],
            "filter": {
                "type": "in",
                "dimension": "invoice_id",
                "values": invoices[offset : offset + IDENTITY_BATCH],
            },
            "columns": wanted,
            "resultFormat": "compactedList",
        }
        for block in client.request("POST", "/druid/v2", query) or []:
            position = {name: i for i, name in enumerate(block["columns"])}
            # A column the datasource lacks (flags of lines written before them) is null.
            order = [position.get(name) for name in wanted]
            rows = [[None if i is None else event[i] for i in order] for event in block["events"]]
            if rows:
                found.append(pl.DataFrame(rows, schema=schema, orient="row"))
    return pl.concat(found) if found else pl.DataFrame(schema=schema)


def stored_identities(client: DruidClient, datasource: str, lines: pl.DataFrame) -> pl.DataFrame:
    """Stored (invoice_id, line_no, sold_ms) whose identity is among `lines`'."""
    invoices = lines["invoice_id"].unique().sort().to_list()
    stored = stored_lines(client, datasource, invoices, ("invoice_id", "line_no", "sold_ms"))
    wanted = lines.select("invoice_id", pl.col("line_no").cast(pl.Int64))
    return stored.join(wanted, on=IDENTITY, how="semi")


def chunk_counts(
    client: DruidClient,
    datasource: str,
    chunks: list[Chunk],
    drop_between: tuple[datetime, datetime] | None,
) -> dict[str, int]:
    """Stored lines per chunk, leaving out those in `drop_between`."""
    sql = (
        "SELECT TIME_FORMAT(TIME_FLOOR(\"__time\", 'P1M'), 'yyyy-MM'), COUNT(*) "
        f"FROM {quote(datasource)} WHERE {chunk_condition(chunks)}"
    )
    params = []
    if drop_between is not None:
        sql += ' AND ("__time" < ? OR "__time" >= ?)'
        params = [
            parameter(drop_between[0].astimezone(UTC).replace(tzinfo=None)),
            parameter(drop_between[1].astimezone(UTC).replace(tzinfo=None)),
        ]
    _, rows = client.sql(sql + " GROUP BY 1", params, {"sqlTimeZone": "UTC"})
    return {str(r[0]): int(r[1]) for r in rows}


def with_flags(
    client: DruidClient,
    datasource: str,
    incoming: pl.DataFrame,
    others: pl.DataFrame,
    timezone: str,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Invoice flags for a write: (incoming lines flagged, stored lines to rewrite).

    `incoming` is `to_staged` lines; `others` the stored lines (`FLAG_INPUTS`)
    of the same invoices that the write keeps. Flags are computed over both,
    so a new line 1 takes the head from a stored line 2; stored lines whose
    flags change are fetched whole and staged again with the new flags.
    """
    inputs = list(heads.INPUT_COLUMNS)
    combined = pl.concat([incoming.select(inputs), others.select(inputs)])
    flagged = heads.invoice_flags(combined, heads.day_of_ms(timezone)).select(
        *IDENTITY, *FLAG_COLUMNS
    )
    incoming_flagged = incoming.join(flagged, on=IDENTITY, how="left").select(STAGED_COLUMNS)
    renewed = others.select(*IDENTITY, *FLAG_COLUMNS).join(flagged, on=IDENTITY, suffix="_new")
    changed = renewed.filter(
        pl.any_horizontal(pl.col(f).ne_missing(pl.col(f"{f}_new")) for f in FLAG_COLUMNS)
    ).select(*IDENTITY, *[pl.col(f"{f}_new").alias(f) for f in FLAG_COLUMNS])
    if changed.is_empty():
        return incoming_flagged, incoming_flagged.clear()
    invoices = changed["invoice_id"].unique().sort().to_list()
    unflagged = tuple(c for c in STAGED_COLUMNS if c not in FLAG_COLUMNS)
    whole = stored_lines(client, datasource, invoices, unflagged)
    restage = whole.join(changed, on=IDENTITY, how="inner").select(STAGED_COLUMNS)
    return incoming_flagged, restage


def unsure_invoices(
    client: DruidClient, datasource: str, between: tuple[datetime, datetime]
) -> list[str]:
    """Invoices flagged not uniform with a line in `between` (only those span several days).

    Lines written before the flags existed have none, and count as unsure in
    every read whatever is done here.
    """
    sql = (
        f'SELECT "invoice_id" FROM {quote(datasource)} '
        'WHERE "__time" >= ? AND "__time" < ? AND "invoice_uniform" = 0 '
        'GROUP BY "invoice_id"'
    )
    params = [parameter(moment.astimezone(UTC).replace(tzinfo=None)) for moment in between]
    try:
        _, rows = client.sql(sql, params, {"sqlTimeZone": "UTC"})
    except DruidQueryError as exc:
        if missing_flags(exc):
            return []
        raise
    return [str(row[0]) for row in rows]


def missing_flags(error: DruidQueryError) -> bool:
    """Druid refused a query because the datasource predates the invoice flags."""
    return "not found in any table" in error.druid_message and any(
        f"'{flag}'" in error.druid_message for flag in FLAG_COLUMNS
    )
