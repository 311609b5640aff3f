"""The KPI catalogue, declared once as data.

Each KPI is a base measure from the store or a ratio of two catalogue
entries. The catalogue feeds the computations (`add_kpis`), page labels and
tooltips, and the export column documentation. It is checked at import:
unique names, and every reference resolves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

from core.store import MEASURES

Format = Literal["kes", "pct", "count", "number", "date", "days", "text"]


@dataclass(frozen=True)
class Kpi:
    """A KPI: a store measure (`measure`) or `numerator / denominator`."""

    name: str
    label: str
    description: str
    format: Format
    measure: str | None = None
    numerator: str | None = None
    denominator: str | None = None

    @property
    def is_ratio(self) -> bool:
        return self.numerator is not None


KPIS: tuple[Kpi, ...] = (
    Kpi(
        "net_sales",
        "Net sales",
        "Sum of quantity x unit price less discounts (returns subtract), KES, VAT exclusive.",
        "kes",
        measure="net_sales",
    ),
    Kpi(
        "cogs",
        "COGS",
        "Cost of goods sold: sum of quantity x unit cost, KES.",
        "kes",
        measure="cogs",
    ),
    Kpi(
        "gross_profit", "Gross profit", "Net sales minus COGS, KES.", "kes", measure="gross_profit"
    ),
    Kpi(
        "gross_margin_pct",
        "Gross margin",
        "Gross profit / net sales; empty when net sales are 0.",
        "pct",
        numerator="gross_profit",
        denominator="net_sales",
    ),
    Kpi("orders", "Orders", "Distinct invoices.", "count", measure="orders"),
    Kpi("units", "Units", "Sum of quantity (returns subtract).", "number", measure="units"),
    Kpi(
        "aov",
        "AOV",
        "Average order value: net sales / orders, KES.",
        "kes",
        numerator="net_sales",
        denominator="orders",
    ),
    Kpi(
        "upt",
        "UPT",
        "Units per transaction: units / orders.",
        "number",
        numerator="units",
        denominator="orders",
    ),
    Kpi(
        "active_customers",
        "Active customers",
        "Distinct non-empty customer ids (walk-ins not counted).",
        "count",
        measure="customers",
    ),
    Kpi(
        "discount_rate",
        "Discount rate",
        "Sum of discounts / sum of quantity x unit price.",
        "pct",
        numerator="discount",
        denominator="gross_sales",
    ),
)
# Base measures a ratio may use without being a headline KPI themselves.
HIDDEN_MEASURES: dict[str, str] = {"discount": "discount", "gross_sales": "gross_sales"}

BY_NAME: dict[str, Kpi] = {k.name: k for k in KPIS}
HEADLINE: tuple[str, ...] = tuple(k.name for k in KPIS)


def _check_catalogue() -> None:
    names = [k.name for k in KPIS]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"KPI names must be unique: {sorted(duplicates)}")
    known = set(names) | set(HIDDEN_MEASURES)
    for kpi in KPIS:
        if kpi.is_ratio:
            for ref in (kpi.numerator, kpi.denominator):
                if ref not in known:
                    raise ValueError(f"KPI {kpi.name!r} refers to unknown {ref!r}")
        elif kpi.measure not in MEASURES:
            raise ValueError(f"KPI {kpi.name!r} uses unknown store measure {kpi.measure!r}")


_check_catalogue()


def store_measures(names: tuple[str, ...] = HEADLINE) -> tuple[str, ...]:
    """The store measures needed to compute the KPIs `names`."""
    needed: list[str] = []

    def visit(name: str) -> None:
        if name in HIDDEN_MEASURES:
            needed.append(HIDDEN_MEASURES[name])
            return
        kpi = BY_NAME[name]
        if kpi.is_ratio:
            visit(kpi.numerator or "")
            visit(kpi.denominator or "")
        else:
            needed.append(kpi.measure or "")

    for name in names:
        visit(name)
    return tuple(dict.fromkeys(needed))


def ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator, null (never 0, never an error) when the denominator is 0."""
    return pl.when(denominator != 0).then(numerator / denominator).otherwise(None)


def add_kpis(frame: pl.DataFrame, names: tuple[str, ...] = HEADLINE) -> pl.DataFrame:
    """Add the KPI columns `names` to a frame of store measures."""
    renames = {k.measure: k.name for k in KPIS if k.measure and k.name in names}
    base = frame.with_columns(
        [pl.col(m).alias(n) for m, n in renames.items() if m in frame.columns and m != n]
    )
    ratios = [
        ratio(pl.col(k.numerator or ""), pl.col(k.denominator or "")).alias(k.name)
        for k in KPIS
        if k.is_ratio and k.name in names
    ]
    return base.with_columns(ratios)


def growth(current: pl.Expr, comparison: pl.Expr) -> pl.Expr:
    """(current - comparison) / comparison; null when the comparison is 0 or missing."""
    return ratio(current - comparison, comparison)
