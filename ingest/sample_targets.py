"""Monthly targets consistent with a generated sales sample: per branch and per salesperson.

A manager sets a month's target from the same month a year before plus an
ambition (`GROWTH_AMBITION`); in the sample's first year, where no year
before exists, from the month itself, missed or beaten by a few percent
(`FIRST_YEAR_SPREAD`, seeded), as a first budget would be. The current month
and the next one (not yet sold) take the year before too, or else the last
three full months' average with the ambition. Targets are rounded to
`ROUND_TO` KES, as budgets are; branches also get a gross profit target at
their own margin.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from core.targets import CANONICAL_COLUMNS, typed

# Growth asked of each member over the same month a year before: volume (8%) and
# prices (6%) grow by about that much in the sample, so some months are met, some not.
GROWTH_AMBITION = 0.12
# First-year targets: the month's own sales times a factor in this range.
FIRST_YEAR_SPREAD = (0.92, 1.12)
# Budgets are round numbers.
ROUND_TO = 10_000.0
# The recent full months a target for a month without a year before is based on.
RECENT_MONTHS = 3


def _monthly(lines: pl.DataFrame, key: str) -> pl.DataFrame:
    net = pl.col("quantity") * pl.col("unit_price") - pl.col("quantity").sign() * pl.col("discount")
    gross_profit = net - pl.col("quantity") * pl.col("unit_cost")
    return (
        lines.group_by(key, pl.col("sold_at").dt.date().dt.truncate("1mo").alias("month"))
        .agg(net=net.sum(), gross_profit=gross_profit.sum())
        .sort(key, "month")
    )


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def sample_targets(lines: pl.DataFrame, today: date, seed: int = 7) -> pl.DataFrame:
    """Targets (`core.targets.TargetRow` columns) for every full month of `lines` (canonical
    sales lines, `sold_at` local time), the month of `today` and the next, per branch and
    per salesperson."""
    rng = np.random.default_rng(seed)
    current = today.replace(day=1)
    rows: list[dict[str, object]] = []
    for key in ("branch", "salesperson"):
        monthly = _monthly(lines, key)
        first_month = monthly["month"].min()
        for member, history in monthly.group_by(key, maintain_order=True):
            actual = dict(zip(history["month"].to_list(), history["net"].to_list(), strict=True))
            margin = float(history["gross_profit"].sum()) / float(history["net"].sum() or 1.0)
            months = [m for m in sorted(actual) if m != first_month and m < current]
            months += [current, _add_months(current, 1)]
            for month in months:
                year_before = actual.get(_add_months(month, -12))
                if year_before:
                    target = year_before * (1 + GROWTH_AMBITION)
                elif month < current:
                    target = actual[month] * rng.uniform(*FIRST_YEAR_SPREAD)
                else:
                    recent = [
                        actual[m]
                        for m in (_add_months(current, -i) for i in range(1, RECENT_MONTHS + 1))
                        if m in actual
                    ]
                    if not recent:
                        continue
                    target = float(np.mean(recent)) * (1 + GROWTH_AMBITION / 2)
                target = max(ROUND_TO, round(target / ROUND_TO) * ROUND_TO)
                rows.append(
                    {
                        "month": month,
                        "branch": member[0] if key == "branch" else None,
                        "salesperson": member[0] if key == "salesperson" else None,
                        "product_line": None,
                        "net_sales": target,
                        "gross_profit": round(target * margin / ROUND_TO) * ROUND_TO
                        if key == "branch"
                        else None,
                    }
                )
    schema = {
        "month": pl.Date,
        "branch": pl.String,
        "salesperson": pl.String,
        "product_line": pl.String,
        "net_sales": pl.Float64,
        "gross_profit": pl.Float64,
    }
    return typed(pl.DataFrame(rows, schema=schema).select(CANONICAL_COLUMNS))


def targets_csv(targets: pl.DataFrame) -> bytes:
    """The targets as a manager's sheet: YYYY-MM months, blanks for "all"."""
    return (
        targets.with_columns(pl.col("month").dt.strftime("%Y-%m"))
        .write_csv(float_precision=2)
        .encode()
    )
