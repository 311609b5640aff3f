"""Every area's output table passes its Pandera model, for several filters; broken
tables do not."""

from __future__ import annotations

from datetime import date

import pandera.errors
import polars as pl
import pytest

from core.exports import AREAS, MODELLED_AREAS, PIPELINE_AREA_NAMES, area_table
from core.filters import Filters
from core.kpi import customers as ck
from core.kpi import members as mk
from core.kpi import schemas
from core.kpi.view import resolve_view
from core.stores.embedded import EmbeddedStore
from tests.reference_sql import sample_store

FILTERS: dict[str, Filters] = {
    "all-data": Filters(),
    "year-yoy-quarter": Filters(date(2025, 1, 1), date(2025, 12, 31), "quarter", "yoy"),
    "branch-week": Filters(grain="week", branches=("Mombasa",)),
    "lines-reps-mid-month": Filters(
        date(2025, 3, 15),
        date(2026, 6, 15),
        product_lines=("Dairy", "Beverages"),
        salespeople=("Fatuma Hassan", "Kariuki Maina"),
    ),
    "month-to-date-day-none": Filters(date(2026, 10, 1), date(2026, 10, 20), "day", "none"),
    "before-the-data": Filters(date(2021, 1, 1), date(2021, 12, 31)),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    # The same directory as the independent-engine test: the store is built once.
    return sample_store(tmp_path_factory.getbasetemp() / "independent-engine-sample")


def test_every_export_area_has_a_model() -> None:
    assert set(schemas.AREA_SCHEMAS) == set(AREAS)


@pytest.mark.parametrize("case", list(FILTERS))
def test_every_area_output_passes_its_model(store: EmbeddedStore, case: str) -> None:
    view = resolve_view(store, FILTERS[case])
    # forecast: test_forecast.py; the pipeline: test_pipeline_areas.py
    for area in (a for a in AREAS if a not in MODELLED_AREAS | PIPELINE_AREA_NAMES):
        table = area_table(area, store, view)
        # The sample store has no targets: its targets area is empty (tests/core/test_targets.py
        # checks that area's model with targets).
        optional = ("customers", "cohorts", "salespeople", "targets")
        if view.window is not None and area not in optional:
            assert not table.is_empty(), area
        schemas.validate_area(area, table)


@pytest.mark.parametrize("case", ["all-data", "branch-week", "lines-reps-mid-month"])
def test_side_tables_pass_their_models(store: EmbeddedStore, case: str) -> None:
    view = resolve_view(store, FILTERS[case])
    schemas.BranchLineMixTable.validate(mk.branch_line_mix(store, view), lazy=True)
    schemas.BranchMonthTable.validate(mk.branch_month(store, view), lazy=True)
    customers = ck.rfm(store, view)
    schemas.NewVsReturningTable.validate(ck.new_vs_returning(store, view, customers), lazy=True)
    schemas.ConcentrationTable.validate(ck.concentration(customers), lazy=True)


def _broken(table: pl.DataFrame, area: str) -> None:
    with pytest.raises(pandera.errors.SchemaErrors):
        schemas.validate_area(area, table)


def test_models_reject_broken_tables(store: EmbeddedStore) -> None:
    view = resolve_view(store, FILTERS["year-yoy-quarter"])
    branches = area_table("branches", store, view)
    _broken(
        branches.with_columns(share_of_net_sales=pl.col("share_of_net_sales") * 0.9), "branches"
    )
    _broken(branches.with_columns(rank=pl.lit(1, dtype=pl.Int64)), "branches")
    _broken(branches.with_columns(gross_margin_pct=pl.lit(0.0)), "branches")
    _broken(branches.with_columns(orders=pl.col("orders").cast(pl.Int32)), "branches")
    _broken(branches.with_columns(extra=pl.lit(1)), "branches")
    products = area_table("products", store, view)
    _broken(products.reverse(), "products")
    _broken(
        products.with_columns(abc_class=pl.lit("A")).with_columns(
            abc_class=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("C")).otherwise("abc_class")
        ),
        "products",
    )
    customers = area_table("customers", store, view)
    _broken(customers.with_columns(r_score=pl.col("r_score") + 1), "customers")
    _broken(customers.with_columns(segment=pl.lit("Sleepy")), "customers")
    cohorts = area_table("cohorts", store, view)
    _broken(cohorts.with_columns(retention_pct=pl.col("retention_pct") * 2), "cohorts")
    overview = area_table("overview", store, view)
    _broken(overview.with_columns(aov=pl.col("aov") + 1), "overview")
    _broken(overview.drop("net_sales"), "overview")
