"""What a file would rename: products and customers whose name or line differs from the store's.

Reports name a product (and a customer) by its most recent line, so a file
whose lines are the latest renames it everywhere, back to its first sale.
That is how a real rename reaches the dashboards, and also how a name column
mapped to the wrong header, or left out (a product's name then defaults to
its id), would quietly relabel every product. The upload page lists these
before anything is written.
"""

from __future__ import annotations

import polars as pl

from core.store import SalesStore, Scope

# (id column, attribute, how a person calls a change of it)
RENAMEABLE: tuple[tuple[str, str, str], ...] = (
    ("product_id", "product_name", "product name"),
    ("product_id", "product_line", "product line"),
    ("customer_id", "customer_name", "customer name"),
)
RENAMES_SCHEMA: dict[str, pl.DataType] = {
    "change": pl.String(),
    "id": pl.String(),
    "stored": pl.String(),
    "in_file": pl.String(),
}


def _latest_in_file(lines: pl.DataFrame, key: str, attributes: list[str]) -> pl.DataFrame:
    """Per id, each attribute on its last line in the file that has one, and the instant
    of the id's last line (`file_last`)."""
    ordered = lines.filter(pl.col(key).is_not_null()).sort("sold_at", maintain_order=True)
    return ordered.group_by(key).agg(
        pl.col("sold_at").max().alias("file_last"),
        *[pl.col(a).drop_nulls().last() for a in attributes],
    )


def renames(lines: pl.DataFrame, store: SalesStore) -> pl.DataFrame:
    """Each (change, id, stored value, value in the file) that writing `lines` would make.

    `lines` are validated lines. A value counts when the file has one for the
    id and its last line is later than the id's last stored line, to the
    second (an older file, or one whose lines an evening's stored sales
    follow, leaves the current name alone); an id new to the store is no
    rename.
    """
    found = [pl.DataFrame(schema=RENAMES_SCHEMA)]
    for key in dict.fromkeys(k for k, _, _ in RENAMEABLE):
        attributes = [a for k, a, _ in RENAMEABLE if k == key]
        in_file = _latest_in_file(lines, key, attributes)
        if in_file.is_empty():
            continue
        stored = store.aggregate(
            Scope(), None, by=(key,), measures=("last_sold_at",), latest=tuple(attributes)
        )
        both = in_file.join(stored, on=key, suffix="_stored")
        for _, attribute, change in (r for r in RENAMEABLE if r[0] == key):
            was = pl.col(f"{attribute}_stored")
            found.append(
                both.filter(
                    pl.col(attribute).is_not_null()
                    & was.is_not_null()
                    & (pl.col(attribute) != was)
                    & (pl.col("file_last") > pl.col("last_sold_at"))
                ).select(
                    pl.lit(change).alias("change"),
                    pl.col(key).alias("id"),
                    was.alias("stored"),
                    pl.col(attribute).alias("in_file"),
                )
            )
    return pl.concat(found).sort("change", "id")
