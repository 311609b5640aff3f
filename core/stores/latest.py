"""Latest attributes: per group, each column's value on its last line that has one.

Both stores find combinations of the keys and the attribute columns with the
time of each one's last sale, then pick here: a per-group "value at the
latest time" is slow in both engines (Druid's LATEST() reserves its byte
budget for every group, a Polars arg-max-and-gather is evaluated group by
group; both measured 3-15x slower). Picking in one place also makes both
stores break ties alike.

Druid groups by the keys and attribute columns together. The embedded store
does better (`latest_values`): the grouped query it runs anyway also takes
each group's last `sold_at`, and only the lines at those moments are read
again (a year of 10M lines: 338 -> 66-111 ms for customers' names and
types), since hashing text columns over every line was the cost.
"""

from __future__ import annotations

import polars as pl

# The time column of the combinations `pick_latest` reads.
LATEST_TIME = "latest_time"


def pick_latest(combos: pl.DataFrame, keys: list[str], latest: tuple[str, ...]) -> pl.DataFrame:
    """One row per group of `keys` (exactly one when there are no keys) with `latest`.

    `combos` holds the keys, the `latest` columns and `LATEST_TIME`, one row
    per combination seen. Ties in time go to the smaller value, so the answer
    never depends on row order.
    """
    picked = []
    for column in latest:
        order = [*keys, LATEST_TIME, column]
        picked.append(
            combos.filter(pl.col(column).is_not_null())
            .sort(order, descending=[False] * len(keys) + [True, False])
            .unique(keys or None, keep="first", maintain_order=True)
            .select(*keys, column)
        )
    if not keys:
        return pl.DataFrame(
            {c: [f[c].first() if f.height else None] for c, f in zip(latest, picked, strict=True)},
            schema={c: pl.String for c in latest},
        )
    groups = combos.select(keys).unique()
    for frame in picked:
        groups = groups.join(frame, on=keys, how="left", nulls_equal=True)
    return groups


# Up to this many groups are looked up again by a filter on their keys, more by a
# join: a filter lets Polars skip the text columns of other lines (110 -> 48 ms
# for the walk-ins of a year of 10M lines, who have no name).
FEW_GROUPS = 32


def _one_of(groups: pl.DataFrame) -> pl.Expr:
    """True on lines whose keys equal one of the rows of `groups` (a null matches null)."""

    def equal(column: str, value: object) -> pl.Expr:
        return pl.col(column).is_null() if value is None else pl.col(column) == pl.lit(value)

    return pl.any_horizontal(
        pl.all_horizontal(equal(column, value) for column, value in row.items())
        for row in groups.iter_rows(named=True)
    )


def latest_values(
    lines: pl.LazyFrame, keys: list[str], times: pl.DataFrame, latest: tuple[str, ...]
) -> pl.DataFrame:
    """Per group of `keys` in `lines`, each `latest` column on its last line with a value.

    `times` holds each group's keys and last `sold_at` (as `LATEST_TIME`).
    The lines at that moment answer most groups; a group whose last lines
    lack a value for some column is looked up again over all its lines that
    have one.
    """
    moments = times.rename({LATEST_TIME: "sold_at"}).drop_nulls("sold_at")
    at_last = (
        # The filter on the moments alone is cheap and leaves the join few lines to probe.
        lines.filter(pl.col("sold_at").is_in(moments["sold_at"].unique().implode()))
        .join(moments.lazy(), on=[*keys, "sold_at"], how="semi", nulls_equal=True)
        .select(*keys, *latest, pl.col("sold_at").alias(LATEST_TIME))
        .collect()
    )
    picked = pick_latest(at_last, keys, latest)
    lacking = picked.filter(pl.any_horizontal(pl.col(c).is_null() for c in latest))
    if lacking.is_empty():
        return picked
    older = lines.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in latest))
    if keys and lacking.height <= FEW_GROUPS:
        older = older.filter(_one_of(lacking.select(keys)))
    elif keys:
        older = older.join(lacking.select(keys).lazy(), on=keys, how="semi", nulls_equal=True)
    seen = (
        older.group_by([*keys, *latest]).agg(pl.col("sold_at").max().alias(LATEST_TIME)).collect()
    )
    again = pick_latest(seen, keys, latest)
    if not keys:
        return again
    settled = picked.join(lacking.select(keys), on=keys, how="anti", nulls_equal=True)
    return pl.concat([settled, again])
