"""Targets in a real Druid: the same targets and lines as the embedded store give the
same attainment, and a re-load, an edit and a deletion land all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from core.exports import area_table
from core.kpi import targets as kpi
from core.kpi.view import View
from core.schema import with_derived_measures
from core.store import Scope, Window
from core.stores import druid_targets
from core.stores.druid import DruidStore
from core.stores.embedded import EmbeddedStore
from core.targets import keys_of, stamped
from tests.druid.parity import assert_same
from tests.fixtures.hand_fixture import canonical_frame
from tests.fixtures.targets_fixture import WINDOW, stored_targets, target_rows

pytestmark = pytest.mark.druid

VIEWS = {
    "window": Scope(),
    "mombasa-user": Scope(allowed_branches=("Mombasa",)),
    "nairobi-filter": Scope(branches=("Nairobi",)),
    "alice": Scope(salespeople=("Alice",)),
}


def _comparable(targets: pl.DataFrame) -> pl.DataFrame:
    # Druid keeps instants in milliseconds.
    return targets.with_columns(pl.col("updated_at").dt.truncate("1ms"))


@pytest.fixture(scope="module")
def pair(
    datasource_factory: Callable[[str], DruidStore], tmp_path_factory: pytest.TempPathFactory
) -> tuple[DruidStore, EmbeddedStore]:
    druid = datasource_factory("targets")
    embedded = EmbeddedStore(tmp_path_factory.mktemp("targets-parity") / "sales")
    lines = with_derived_measures(canonical_frame())
    targets = stored_targets("parity")
    for store in (druid, embedded):
        store.write(lines, "append")
        store.write_targets(targets)
    return druid, embedded


def test_druid_keeps_targets_in_their_own_datasource(
    pair: tuple[DruidStore, EmbeddedStore],
) -> None:
    druid, embedded = pair
    assert_same(_comparable(druid.read_targets()), _comparable(embedded.read_targets()), "targets")
    names = druid.client.request("GET", "/druid/coordinator/v1/metadata/datasources")
    assert druid_targets.datasource_of(druid.datasource) in names
    assert "+targets-" in druid.data_version()


@pytest.mark.parametrize("case", list(VIEWS))
@pytest.mark.parametrize("area", ["targets", "overview", "branches", "salespeople"])
def test_attainment_parity(pair: tuple[DruidStore, EmbeddedStore], case: str, area: str) -> None:
    druid, embedded = pair
    view = View(VIEWS[case], Window(*WINDOW), None, "month", "none")
    assert_same(area_table(area, druid, view), area_table(area, embedded, view), f"{case} {area}")


def test_run_rate_parity(pair: tuple[DruidStore, EmbeddedStore]) -> None:
    druid, embedded = pair
    for period, today in (("month", date(2025, 3, 16)), ("quarter", date(2025, 1, 11))):
        assert kpi.run_rate(druid, Scope(), period, today) == kpi.run_rate(
            embedded, Scope(), period, today
        )


def test_reload_edit_and_delete_in_druid(
    datasource_factory: Callable[[str], DruidStore], tmp_path: Path
) -> None:
    druid = datasource_factory("targetwrites")
    embedded = EmbeddedStore(tmp_path / "sales")
    first = stored_targets("first")
    for store in (druid, embedded):
        assert store.write_targets(first).inserted == 7
    version = druid.data_version()
    again = stamped(target_rows().head(2).with_columns(net_sales=pl.lit(5000.0)), "second")
    removed = keys_of(target_rows().tail(1))
    results = [store.write_targets(again, removed) for store in (druid, embedded)]
    assert results[0] == results[1]
    assert (results[0].inserted, results[0].updated, results[0].removed) == (0, 2, 1)
    assert druid.data_version() != version
    assert_same(
        _comparable(druid.read_targets()), _comparable(embedded.read_targets()), "after edit"
    )
    assert druid.read_targets().height == 6
    everything = keys_of(druid.read_targets())
    gone = druid.write_targets(stamped(target_rows().clear(), "x"), everything)
    assert gone.removed == 6
    assert druid.read_targets().is_empty()
