"""Differential tests: the Polars KPI code against an independent DuckDB SQL engine.

Both start from the same generated lines: the Polars side through the embedded
Delta store (UTC `sold_at`, derived measures from `core.schema`), the reference
side from the raw naive-local lines in `tests/reference_sql.py`. Money must
agree to the cent, counts exactly, ratios to 1e-9 relative.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.exports import AREAS, MODELLED_AREAS, PIPELINE_AREA_NAMES, area_table
from core.filters import Filters
from core.kpi import customers as customer_kpis
from core.kpi import members as member_kpis
from core.kpi.view import View, resolve_view
from core.store import Scope, Window
from core.stores.embedded import EmbeddedStore
from tests.reference_sql import (
    EDGE_TIMES,
    ReferenceEngine,
    RefFilters,
    reference_engine,
    sample_lines,
    sample_store,
)

MONEY_BASES = {"net_sales", "cogs", "gross_profit", "aov", "monetary", "avg_selling_price"}
MONEY_TOLERANCE = 0.005
RATIO_TOLERANCE = 1e-9

REPS = ("Fatuma Hassan", "Kariuki Maina", "Naliaka Wekesa")

# id -> (filter arguments, allowed_branches)
CASES: dict[str, tuple[dict[str, object], tuple[str, ...] | None]] = {
    "all-data-month-previous": ({}, None),
    "last-12-months-quarter-yoy": (
        {
            "start": date(2025, 11, 1),
            "end": date(2026, 10, 31),
            "grain": "quarter",
            "compare": "yoy",
        },
        None,
    ),
    "one-branch-open-range-week": ({"branches": ("Mombasa",), "grain": "week"}, None),
    "two-lines-ytd-previous": (
        {
            "start": date(2026, 1, 1),
            "end": date(2026, 6, 30),
            "product_lines": ("Dairy", "Beverages"),
        },
        None,
    ),
    "three-reps-2025-yoy": (
        {
            "start": date(2025, 1, 1),
            "end": date(2025, 12, 31),
            "salespeople": REPS,
            "compare": "yoy",
        },
        None,
    ),
    "mid-month-start-week-previous": (
        {"start": date(2025, 3, 15), "end": date(2026, 6, 15), "grain": "week"},
        None,
    ),
    "month-to-date-day-previous": (
        {"start": date(2026, 10, 1), "end": date(2026, 10, 20), "grain": "day"},
        None,
    ),
    "whole-quarter-week-none": (
        {"start": date(2026, 7, 1), "end": date(2026, 9, 30), "grain": "week", "compare": "none"},
        None,
    ),
    "leap-day-end-yoy": (
        {"start": date(2024, 2, 10), "end": date(2024, 2, 29), "grain": "day", "compare": "yoy"},
        None,
    ),
    "branch-line-rep-restricted-year": (
        {
            "branches": ("Nairobi CBD", "Thika", "Kisumu"),
            "product_lines": ("Stationery", "Electronics", "Household Cleaning"),
            "grain": "year",
        },
        ("Nairobi CBD", "Thika"),
    ),
    "ytd-after-a-leap-year-previous": (
        {"start": date(2025, 1, 1), "end": date(2025, 6, 30), "grain": "week"},
        None,
    ),
    "quarter-to-date-previous": ({"start": date(2024, 10, 1), "end": date(2024, 11, 30)}, None),
    "one-day-on-the-first-previous": (
        {"start": date(2024, 3, 1), "end": date(2024, 3, 1), "grain": "day"},
        None,
    ),
    "february-end-day-yoy": (
        {"start": date(2025, 2, 28), "end": date(2025, 2, 28), "grain": "day", "compare": "yoy"},
        None,
    ),
    "before-the-data": ({"start": date(2021, 1, 1), "end": date(2021, 12, 31)}, None),
    "no-branch-allowed": ({}, ()),
}

AREA_KEYS: dict[str, tuple[str, ...]] = {
    "overview": (),
    "trend": ("period",),
    "salespeople": ("salesperson",),
    "products": ("product_id",),
    "product-lines": ("product_line",),
    "branches": ("branch",),
    "customers": ("customer_id",),
    "cohorts": ("cohort", "months_since"),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    return sample_store(tmp_path_factory.getbasetemp() / "independent-engine-sample")


@pytest.fixture(scope="module")
def engine() -> ReferenceEngine:
    return reference_engine()


def _filters(case: str) -> tuple[Filters, RefFilters, tuple[str, ...] | None]:
    arguments, allowed = CASES[case]
    filters = Filters(**arguments)  # type: ignore[arg-type]
    # A named period only decides the dates, which the reference reads as they are.
    dates = {k: v for k, v in asdict(filters).items() if k != "period"}
    return filters, RefFilters(**dates, allowed_branches=allowed), allowed


def _view(store: EmbeddedStore, case: str) -> tuple[View, RefFilters]:
    filters, ref, allowed = _filters(case)
    return resolve_view(store, filters, allowed), ref


def _kind(name: str, dtype: pl.DataType) -> str:
    if not dtype.is_float():
        return "exact"
    base = name.removesuffix("_prev")
    if base in MONEY_BASES:
        return "money"
    if base == "units":
        return "exact"
    return "ratio"


def assert_same_table(actual: pl.DataFrame, expected: pl.DataFrame, keys: tuple[str, ...]) -> None:
    """Same columns and rows; money to the cent, counts exact, ratios to 1e-9 relative."""
    assert sorted(actual.columns) == sorted(expected.columns), (
        f"columns differ: only in code {set(actual.columns) - set(expected.columns)}, "
        f"only in reference {set(expected.columns) - set(actual.columns)}"
    )
    assert actual.height == expected.height, (actual.height, expected.height)
    expected = expected.select(actual.columns).cast(dict(actual.schema))  # type: ignore[arg-type]
    if keys:
        actual = actual.sort(keys, nulls_last=True)
        expected = expected.sort(keys, nulls_last=True)
    groups: dict[str, list[str]] = {"exact": [], "money": [], "ratio": []}
    for name, dtype in actual.schema.items():
        groups[_kind(name, dtype)].append(name)
    if groups["exact"]:
        assert_frame_equal(
            actual.select(groups["exact"]), expected.select(groups["exact"]), check_exact=True
        )
    if groups["money"]:
        assert_frame_equal(
            actual.select(groups["money"]),
            expected.select(groups["money"]),
            abs_tol=MONEY_TOLERANCE,
            rel_tol=0,
        )
    if groups["ratio"]:
        assert_frame_equal(
            actual.select(groups["ratio"]),
            expected.select(groups["ratio"]),
            rel_tol=RATIO_TOLERANCE,
            abs_tol=1e-12,
        )


# ------------------------------------------------------------------------------ windows


@pytest.mark.parametrize("case", list(CASES))
def test_resolved_windows_match_reference(
    store: EmbeddedStore, engine: ReferenceEngine, case: str
) -> None:
    view, ref = _view(store, case)
    expected = engine.view(ref)
    window = (view.window.start, view.window.end) if view.window else None
    comparison = (view.comparison.start, view.comparison.end) if view.comparison else None
    assert (window, comparison) == (expected.window, expected.comparison)


def test_comparison_windows_of_the_cases_are_as_documented(
    store: EmbeddedStore,
) -> None:
    """Spot-check the reference's own window arithmetic against docs/contract.md's examples."""
    expected = {
        "last-12-months-quarter-yoy": Window(date(2024, 11, 1), date(2025, 10, 31)),
        "two-lines-ytd-previous": Window(date(2025, 1, 1), date(2025, 6, 30)),
        "three-reps-2025-yoy": Window(date(2024, 1, 1), date(2024, 12, 31)),
        "mid-month-start-week-previous": Window(date(2023, 12, 13), date(2025, 3, 14)),
        "month-to-date-day-previous": Window(date(2026, 9, 1), date(2026, 9, 20)),
        "leap-day-end-yoy": Window(date(2023, 2, 10), date(2023, 2, 28)),
        "all-data-month-previous": Window(date(2020, 10, 31), date(2023, 10, 31)),
        # the same calendar days, not as many days: 2024's half-year has one day more
        "ytd-after-a-leap-year-previous": Window(date(2024, 1, 1), date(2024, 6, 30)),
        "quarter-to-date-previous": Window(date(2024, 7, 1), date(2024, 8, 31)),
        "one-day-on-the-first-previous": Window(date(2024, 2, 29), date(2024, 2, 29)),
        "february-end-day-yoy": Window(date(2024, 2, 28), date(2024, 2, 28)),
    }
    for case, window in expected.items():
        view, _ = _view(store, case)
        assert view.comparison == window, case


# ------------------------------------------------------------------------------ areas


# The areas over the sales lines: not the forecast (a model), the pipeline nor the targets,
# whose tables this store does not hold (tests/core/test_targets.py works attainment out by
# hand, tests/core/test_pipeline_kpis.py the pipeline).
LINE_AREAS = [a for a in AREAS if a not in MODELLED_AREAS | PIPELINE_AREA_NAMES and a != "targets"]


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("area", LINE_AREAS)
def test_area_matches_reference(
    store: EmbeddedStore, engine: ReferenceEngine, area: str, case: str
) -> None:
    view, ref = _view(store, case)
    actual = area_table(area, store, view)
    if view.window is None:
        assert engine.view(ref).window is None
        if area == "overview":  # always one row: nothing sold, no ratio defined
            row = actual.row(0, named=True)
            assert actual.height == 1 and row["net_sales"] == 0 and row["orders"] == 0
            assert row["gross_margin_pct"] is None and row["aov"] is None
        else:
            assert actual.is_empty()
        return
    expected = engine.area(area, ref)
    if area in ("customers", "cohorts") and expected.is_empty():
        assert actual.is_empty()
        return
    assert_same_table(actual, expected, AREA_KEYS[area])


@pytest.mark.parametrize("case", [c for c in CASES if c != "no-branch-allowed"])
def test_new_vs_returning_matches_reference(
    store: EmbeddedStore, engine: ReferenceEngine, case: str
) -> None:
    view, ref = _view(store, case)
    actual = customer_kpis.new_vs_returning(store, view)
    expected = engine.new_vs_returning(ref)
    if expected.is_empty():
        assert actual.is_empty()
        return
    assert_same_table(actual, expected, ("status",))


@pytest.mark.parametrize("case", [c for c in CASES if c != "no-branch-allowed"])
def test_concentration_matches_reference(
    store: EmbeddedStore, engine: ReferenceEngine, case: str
) -> None:
    view, ref = _view(store, case)
    actual = customer_kpis.concentration(customer_kpis.rfm(store, view))
    assert_same_table(actual, engine.concentration(ref), ("top_pct",))


@pytest.mark.parametrize("case", list(CASES))
def test_clv_matches_reference(store: EmbeddedStore, engine: ReferenceEngine, case: str) -> None:
    view, ref = _view(store, case)
    actual = customer_kpis.clv(store, view)
    expected = engine.clv(ref)
    assert actual.customers_last_year == expected["customers_last_year"]
    assert actual.customers_prior_year == expected["customers_prior_year"]
    assert actual.discount_rate == 0.10
    for name in ("avg_yearly_gross_profit", "retention", "value"):
        got, want = getattr(actual, name), expected[name]
        if want is None:
            assert got is None, name
        else:
            assert got == pytest.approx(want, rel=RATIO_TOLERANCE), name


@pytest.mark.parametrize("case", [c for c in CASES if c != "no-branch-allowed"])
def test_branch_views_match_reference(
    store: EmbeddedStore, engine: ReferenceEngine, case: str
) -> None:
    view, ref = _view(store, case)
    mix = member_kpis.branch_line_mix(store, view)
    assert_same_table(mix, engine.branch_line_mix(ref), ("branch", "product_line"))
    month = member_kpis.branch_month(store, view)
    assert_same_table(month, engine.branch_month(ref), ("branch", "period"))
    trend = member_kpis.member_trend(store, view, "branch")
    assert_same_table(trend, engine.member_trend(ref, "branch"), ("branch", "period"))


# ------------------------------------------------------------------------------ business day


def test_edge_lines_fall_on_their_nairobi_day(store: EmbeddedStore) -> None:
    """A sale at 00:30 local belongs to that local day, not to the UTC day before."""
    lines = sample_lines().filter(pl.col("invoice_id").str.starts_with("EDGE-"))
    assert lines.height == 2 * len(EDGE_TIMES)
    for moment in EDGE_TIMES:
        day = moment.date()
        window = Window(day, day)
        ids = lines.filter(pl.col("sold_at") == moment)["invoice_id"].unique().to_list()
        assert len(ids) == 1
        on_day = store.aggregate(Scope(), window, by=("customer_id",), measures=("lines",))
        assert store.count_lines(Scope(), window) >= 2
        assert on_day["lines"].sum() == store.count_lines(Scope(), window)
    midnight = Window(date(2026, 10, 1), date(2026, 10, 1))
    stored = store.aggregate(Scope(), midnight, measures=("orders", "lines", "first_sale"))
    raw = sample_lines().filter(pl.col("sold_at").dt.date() == date(2026, 10, 1))
    assert stored["lines"].item() == raw.height
    assert stored["orders"].item() == raw["invoice_id"].n_unique()


def test_sample_store_holds_every_line(store: EmbeddedStore) -> None:
    assert store.count_lines(Scope(), None) == sample_lines().height


@pytest.mark.parametrize("case", [c for c in CASES if c != "no-branch-allowed"])
def test_leaders_match_the_reference_leaderboards(
    store: EmbeddedStore, engine: ReferenceEngine, case: str
) -> None:
    """The Overview's leaders are the reference leaderboards' first rows by their lead measure."""
    view, ref = _view(store, case)
    got = {row["dimension"]: row for row in member_kpis.leaders(store, view).iter_rows(named=True)}
    for key, lead in member_kpis.LEADS_BY.items():
        board = engine.leaderboard(ref, key, all_members=False).filter(pl.col("net_sales") > 0)
        if not board.height:
            assert key not in got
            continue
        want = board.sort([lead, key], descending=[True, False]).row(0, named=True)
        assert got[key]["member"] == want[key]
        for column in ("net_sales", "gross_profit"):
            assert got[key][column] == pytest.approx(want[column], abs=MONEY_TOLERANCE)
        for column in ("gross_margin_pct", "share_of_net_sales"):
            assert got[key][column] == pytest.approx(want[column], rel=RATIO_TOLERANCE)
