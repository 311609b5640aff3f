"""Customer ids by key, in a small file beside the embedded store's lines.

Grouping by customer groups by `customer_key`, an integer (core/keys.py),
but each group needs its text id back, and carrying `customer_id.first()`
through a group-by doubles its cost (a year of 10M lines: 144 -> 282 ms).
The keys are hashes and cannot be reversed, so every write records its
customers' (key, id) pairs here and a grouped result gets its ids from a
join over some 50k rows instead.

The file is replaced atomically after the lines' commit, under the same
write lock. It may lag the lines (a writer killed between the two, a store
written before the file existed): keys it does not know are looked up in
the lines themselves, so a lagging file costs time, never an id.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import polars as pl

log = logging.getLogger(__name__)

SCHEMA = {"customer_key": pl.Int64, "customer_id": pl.String}

# Looks up the ids of the given keys in the stored lines: (customer_key, customer_id).
LinesLookup = Callable[[pl.Series], pl.DataFrame]


def ids_file(table: Path) -> Path:
    return table.parent / f"{table.name}.customer-ids.parquet"


def _known(path: Path) -> pl.DataFrame:
    """The recorded pairs; none if the file is missing or cannot be read."""
    if path.exists():
        try:
            return pl.read_parquet(path, columns=list(SCHEMA))
        except (OSError, pl.exceptions.PolarsError) as exc:
            log.warning("ignoring the unreadable customer ids file %s: %s", path, exc)
    return pl.DataFrame(schema=SCHEMA)


def pairs(lines: pl.DataFrame) -> pl.DataFrame:
    """The distinct (customer_key, customer_id) of `lines`, walk-ins left out."""
    keys = pl.col("customer_key")
    return (
        lines.select(list(SCHEMA))
        # An invoice's lines sit together: look at each run of one customer once.
        .filter(keys.is_not_null() & keys.ne_missing(keys.shift(1)))
        .unique("customer_key", keep="first")
    )


def record(table: Path, lines: pl.DataFrame) -> None:
    """Add the customers of `lines` (just committed) to the file; never fails the write."""
    path = ids_file(table)
    try:
        known = _known(path)
        new = pairs(lines).join(known, on="customer_key", how="anti")
        if new.is_empty():
            return
        partial = path.with_suffix(".partial")
        pl.concat([known, new]).write_parquet(partial, compression="lz4")
        os.replace(partial, path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        # The lines are stored; reads find these ids in the lines until a later write.
        log.warning("could not record customer ids in %s: %s", path, exc)


def attach(result: pl.DataFrame, table: Path, from_lines: LinesLookup) -> pl.DataFrame:
    """`result` (with `customer_key`) with `customer_id` joined on, from the file or the lines."""
    known = _known(ids_file(table))
    keys = result["customer_key"].drop_nulls()
    missing = keys.filter(~keys.is_in(known["customer_key"].implode()))
    if not missing.is_empty():
        known = pl.concat([known, from_lines(missing).select(list(SCHEMA))])
    return result.join(known, on="customer_key", how="left")
