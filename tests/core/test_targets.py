"""Targets: the store's table, attainment and run-rate against hand-computed values.

The lines are the hand fixture (tests/fixtures/hand_fixture.py); the targets and
every expected number are worked out in tests/fixtures/targets_fixture.py.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandera.errors
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.exports import area_table
from core.kpi import schemas
from core.kpi import targets as kpi
from core.kpi.view import View
from core.store import Scope, Window
from core.stores.embedded import EmbeddedStore
from core.targets import keys_of, stamped, typed
from tests.fixtures.hand_fixture import build_store
from tests.fixtures.targets_fixture import WINDOW, stored_targets, target_rows


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    built = build_store(tmp_path_factory.mktemp("targets") / "sales")
    built.write_targets(stored_targets())
    return built


def view(scope: Scope | None = None, start: date = WINDOW[0], end: date = WINDOW[1]) -> View:
    return View(scope or Scope(), Window(start, end), None, "month", "none")


def test_targets_live_in_their_own_delta_table(store: EmbeddedStore) -> None:
    assert (store.path.parent / "targets" / "_delta_log").is_dir()
    stored = store.read_targets()
    assert stored.height == 7
    assert_frame_equal(
        stored.drop("updated_at", "updated_by").sort("month", "branch", "salesperson"),
        target_rows().sort("month", "branch", "salesperson"),
    )
    assert "+targets-" in store.data_version()


def test_prorated_targets_and_actuals_per_slice(store: EmbeddedStore) -> None:
    table = area_table("targets", store, view())
    schemas.validate_area("targets", table)
    got = {
        (row["month"], row["member"]): (row["days_in_window"], row["target"], row["actual"])
        for row in table.iter_rows(named=True)
    }
    assert got == {
        ("2025-01", "Nairobi"): (31, 6200.0, 4700.0),
        ("2025-02", "Nairobi"): (14, 1400.0, 2000.0),
        ("2025-01", "Mombasa"): (31, 3100.0, 1250.0),
        ("2025-01", "Alice"): (31, 3100.0, 4100.0),
        ("2025-02", "Alice"): (14, 500.0, 500.0),
        ("2025-01", "Nairobi / Brian"): (31, 1000.0, 600.0),
    }
    nairobi_january = table.filter(pl.col("member") == "Nairobi", pl.col("month") == "2025-01")
    assert nairobi_january["target_gross_profit"][0] == 1860.0
    assert nairobi_january["actual_gross_profit"][0] == 1400.0  # 800 + 200 + 150 + 250


def test_branch_attainment_counts_only_targeted_months(store: EmbeddedStore) -> None:
    table = area_table("branches", store, view())
    schemas.validate_area("branches", table)
    got = {r["branch"]: (r["target"], r["attainment_pct"]) for r in table.iter_rows(named=True)}
    assert got["Nairobi"] == (7600.0, pytest.approx(6700 / 7600))
    # Mombasa's February (no target) counts in neither: January's 1250 of 3100.
    assert got["Mombasa"] == (3100.0, pytest.approx(1250 / 3100))
    assert got["Kisumu"] == (None, None)
    assert table.columns[:4] == ["branch", "net_sales", "target", "attainment_pct"]


def test_salesperson_attainment_whole_company_or_summed_branches(store: EmbeddedStore) -> None:
    table = area_table("salespeople", store, view())
    schemas.validate_area("salespeople", table)
    got = {
        r["salesperson"]: (r["target"], r["attainment_pct"]) for r in table.iter_rows(named=True)
    }
    assert got["Alice"] == (3600.0, pytest.approx(4600 / 3600))
    assert got["Brian"] == (1000.0, pytest.approx(0.6))  # his Nairobi target, his Nairobi sales
    assert got["Carol"] == (None, None)


def test_total_is_the_branches_targets(store: EmbeddedStore) -> None:
    total = kpi.total_attainment(store, view())
    assert total == kpi.Attainment(10700.0, 7950.0, pytest.approx(7950 / 10700), 2, 2)
    overview = area_table("overview", store, view())
    schemas.validate_area("overview", overview)
    assert overview["target"][0] == 10700.0
    assert overview["attainment_pct"][0] == pytest.approx(7950 / 10700)


def test_a_branch_restricted_user_sees_only_its_branches_targets(store: EmbeddedStore) -> None:
    mombasa = view(Scope(allowed_branches=("Mombasa",)))
    assert kpi.total_attainment(store, mombasa) == kpi.Attainment(
        3100.0, 1250.0, pytest.approx(1250 / 3100), 1, 2
    )
    targets = area_table("targets", store, mombasa)
    assert targets["member"].to_list() == ["Mombasa"]
    # Alice's all-branch target has no branch to be shown under; Brian's is Nairobi's.
    assert "target" not in area_table("salespeople", store, mombasa).columns
    branches = area_table("branches", store, mombasa)
    assert branches["branch"].to_list() == ["Mombasa"]
    # The URL asking for Nairobi does not widen it (the filter meets the restriction).
    asked = view(Scope(branches=("Nairobi",), allowed_branches=("Mombasa",)))
    assert area_table("targets", store, asked).is_empty()


def test_member_filters_pick_their_targets(store: EmbeddedStore) -> None:
    nairobi = kpi.total_attainment(store, view(Scope(branches=("Nairobi",))))
    assert (nairobi.target, nairobi.actual) == (7600.0, 6700.0)
    alice = kpi.total_attainment(store, view(Scope(salespeople=("Alice",))))
    assert (alice.target, alice.actual) == (3600.0, 4600.0)
    # Targets are not set per product: a product filter has none.
    tea = kpi.total_attainment(store, view(Scope(products=("B1",))))
    assert tea.target is None and tea.attainment_pct is None


def test_a_window_without_targets_has_no_target_columns(store: EmbeddedStore) -> None:
    december = view(start=date(2024, 12, 1), end=date(2024, 12, 31))
    assert "target" not in area_table("branches", store, december).columns
    assert "target" not in area_table("overview", store, december).columns
    assert kpi.total_attainment(store, december).target is None


def test_run_rate_like_for_like(store: EmbeddedStore) -> None:
    # 16 March: 1-15 March counted (today still in progress). 1-15 March made 4300
    # (110: 1000, 111: 2500 + 800); 1-15 February made 6200 of February's 5075 (returns
    # on the 20th and 25th), so the month heads for 4300 * 5075 / 6200.
    rate = kpi.run_rate(store, Scope(), "month", date(2025, 3, 16))
    assert rate.to_date == Window(date(2025, 3, 1), date(2025, 3, 15))
    assert rate.actual == 4300.0
    assert rate.projected == pytest.approx(4300 * 5075 / 6200)
    assert rate.target == 9000.0  # Kisumu's March target: the only branch with one
    assert rate.projected_attainment_pct == pytest.approx(4300 * 5075 / 6200 / 9000)


def test_run_rate_without_a_like_for_like_uses_days_elapsed(store: EmbeddedStore) -> None:
    # Q1 2025 to 10 January: the quarter before's same days (1-10 October) sold nothing.
    rate = kpi.run_rate(store, Scope(), "quarter", date(2025, 1, 11))
    assert rate.actual == 2000 + 1100 + 600
    assert rate.projected == pytest.approx(3700 * 90 / 10)
    assert "days" in rate.method
    assert rate.target == pytest.approx(6200 + 2800 + 3100 + 9000)


def test_loading_a_target_again_replaces_it(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "sales")
    first = store.write_targets(stored_targets("amina"))
    assert (first.inserted, first.updated, first.removed) == (7, 0, 0)
    again = stamped(target_rows().head(1).with_columns(net_sales=pl.lit(7000.0)), "baraka")
    second = store.write_targets(again)
    assert (second.inserted, second.updated, second.removed) == (0, 1, 0)
    stored = store.read_targets()
    assert stored.height == 7
    nairobi = stored.filter(pl.col("branch") == "Nairobi", pl.col("month") == date(2025, 1, 1))
    assert nairobi.select("net_sales", "updated_by").row(0) == (7000.0, "baraka")
    removed = store.write_targets(stamped(target_rows().clear(), "x"), keys_of(target_rows()))
    assert removed.removed == 7
    assert store.read_targets().is_empty()


def test_an_invalid_write_changes_nothing(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "sales")
    store.write_targets(stored_targets())
    version = store.data_version()
    bad = stamped(typed(target_rows().with_columns(net_sales=pl.lit(-1.0))), "x")
    with pytest.raises(pandera.errors.SchemaError):
        store.write_targets(bad)
    assert store.data_version() == version
    assert store.read_targets().height == 7
