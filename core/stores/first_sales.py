"""Each customer's first sale, in a small file beside the embedded store's lines.

Cohorts, the Customers table and new-versus-returning all ask for every
customer's first purchase over the whole history: a group-by over every
stored line (10M lines: 0.15-0.2 s) whose answer only changes when lines are
written. So each write leaves the answer here, one row per customer key
(walk-ins, a null key, included), stamped with the Delta version of the table
it describes. A read uses the file only when that stamp is the version it is
reading; any other (a writer killed before the file was replaced, a store
written before the file existed, a failed refresh) and the lines are grouped
as before. The file can lag, it can never give a wrong date.

Only the unfiltered scope is kept: a filter (a branch, a salesperson) or a
role's branches change who bought first, and those read the lines.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

SCHEMA = {"customer_key": pl.Int64, "first_sale": pl.Date}
VERSION_KEY = b"delta_version"


def sales_file(table: Path) -> Path:
    return table.parent / f"{table.name}.first-sales.parquet"


def of_lines(lines: pl.LazyFrame) -> pl.LazyFrame:
    """Per customer key, its first sale day among `lines`."""
    return lines.group_by("customer_key").agg(first_sale=pl.col("sale_date").min())


def _merged(*first_sales: pl.LazyFrame) -> pl.LazyFrame:
    """Per customer key, the earliest of its first sales in any of `first_sales`."""
    return pl.concat(first_sales).group_by("customer_key").agg(pl.col("first_sale").min())


def read(table: Path, version: int) -> pl.DataFrame | None:
    """The recorded first sales if they describe table version `version`, else None."""
    path = sales_file(table)
    try:
        recorded = pq.read_table(path, columns=list(SCHEMA))  # one open: stamp and rows
    except FileNotFoundError:
        return None
    except (OSError, pl.exceptions.PolarsError, ValueError) as exc:
        log.warning("ignoring the unreadable first sales file %s: %s", path, exc)
        return None
    if (recorded.schema.metadata or {}).get(VERSION_KEY) != str(version).encode():
        return None
    return pl.DataFrame(pl.from_arrow(recorded))


def record(table: Path, version: int, first_sales: pl.DataFrame) -> None:
    """Replace the file with `first_sales`, stamped as describing table version `version`."""
    path = sales_file(table)
    partial = path.with_suffix(".partial")
    arrow = first_sales.select(list(SCHEMA)).cast(SCHEMA).to_arrow()  # type: ignore[arg-type]
    arrow = arrow.replace_schema_metadata({VERSION_KEY: str(version).encode()})
    pq.write_table(arrow, partial, compression="lz4")
    os.replace(partial, path)


def refresh(
    table: Path, before: int | None, after: int, added: pl.DataFrame | None, stored: pl.LazyFrame
) -> None:
    """Bring the file to table version `after`; never fails the write that called it.

    `added` are the lines a write only inserted (nothing stored was changed or
    removed), between versions `before` and `after`: their first sales are
    folded into the file of version `before`, if that is the file there. Any
    other write (`added` None), or no such file, groups all `stored` lines.
    """
    try:
        plan = of_lines(stored)
        if added is not None:
            known = pl.DataFrame(schema=SCHEMA) if before is None else read(table, before)
            if known is not None:
                plan = _merged(known.lazy(), of_lines(added.lazy()))
        record(table, after, plan.collect())
    except (OSError, pl.exceptions.PolarsError) as exc:
        # The lines are stored; reads group them until a later write records the file.
        log.warning("could not record first sales in %s: %s", table, exc)
