"""Stage history and activities in Druid against the embedded store and the hand-computed
values (tests/fixtures/crm_history_fixture.py): the stage funnel, the activities table,
the visit comparison, and the writers of the two datasets."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.kpi import activities, pipeline
from core.kpi.view import View
from core.store import Scope, StoreError, Window
from core.stores.druid_http import DruidClient
from core.stores.pipeline_druid import DruidPipelineStore
from core.stores.pipeline_embedded import EmbeddedPipelineStore
from tests.druid.conftest import drop_datasource
from tests.fixtures import crm_history_fixture as fixture
from tests.fixtures.pipeline_fixture import WINDOW

pytestmark = pytest.mark.druid

Q2 = Window(*WINDOW)
WINDOWS = [
    Q2,
    Window(date(2026, 1, 1), date(2026, 3, 31)),
    Window(date(2026, 6, 1), date(2026, 6, 30)),
    Window(date(2026, 1, 1), date(2026, 12, 31)),
]
SCOPES = [
    Scope(),
    Scope(allowed_branches=("Mombasa",)),
    Scope(allowed_branches=("Nairobi",)),
    Scope(salespeople=("Brian",)),
    Scope(allowed_branches=()),
]

Stores = tuple[DruidPipelineStore, EmbeddedPipelineStore]


@pytest.fixture(scope="module")
def stores(druid_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    client = DruidClient(druid_url)
    druid = DruidPipelineStore(client, f"test_crm_{uuid.uuid4().hex[:8]}_opportunities")
    embedded = EmbeddedPipelineStore(Path(tmp_path_factory.mktemp("crm")) / "opportunities")
    for store in (druid, embedded):
        store.write(fixture.crm_deals(), "append")
        store.stages.write(fixture.stage_entries(), "append")
        store.activities.write(fixture.activities(), "append")
    yield druid, embedded
    for keyed in (druid.deals, druid.stages, druid.activities):
        drop_datasource(client, keyed.datasource)


def _view(scope: Scope = Scope(), window: Window = Q2) -> View:  # noqa: B008
    return View(scope, window, None, "month", "none")


def test_druid_gives_the_hand_computed_figures(stores: Stores) -> None:
    druid, _ = stores
    funnel = pl.DataFrame(fixture.Q2_FUNNEL, schema=pipeline.FUNNEL_SCHEMA, orient="row")
    assert_frame_equal(pipeline.funnel(druid, _view()), funnel)
    assert_frame_equal(activities.by_type(druid, _view()), fixture.Q2_ACTIVITIES)
    nairobi = _view(Scope(allowed_branches=("Nairobi",)))
    assert_frame_equal(activities.by_type(druid, nairobi), fixture.NAIROBI_ACTIVITIES)
    assert activities.visit_win_rates(druid, _view()).row(0) == pytest.approx(fixture.Q2_VISITS)
    # Which deal each activity counts on, and whether by its close: the same on both.
    order = ["opportunity_id", "done_date", "type", "by_close"]
    assert_frame_equal(
        druid.activity_links().sort(order),
        stores[1].activity_links().sort(order),
        categorical_as_str=True,
    )


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("scope", SCOPES)
def test_funnel_and_activities_agree(stores: Stores, window: Window, scope: Scope) -> None:
    druid, embedded = stores
    view = _view(scope, window)
    for area in (pipeline.funnel, activities.by_type, activities.visit_win_rates):
        assert_frame_equal(area(druid, view), area(embedded, view), check_exact=False)
    assert_frame_equal(druid.stage_history(scope, window), embedded.stage_history(scope, window))


def test_reloading_changes_nothing_and_versions_follow_writes(stores: Stores) -> None:
    druid, embedded = stores
    before = druid.data_version()
    stages = druid.stages.write(fixture.stage_entries(), "append")
    assert (stages.inserted, stages.updated) == (0, 18)
    done = druid.activities.write(fixture.activities(), "append")
    assert (done.inserted, done.updated) == (0, 15)
    assert (druid.stages.count(), druid.activities.count()) == (18, 15)
    assert druid.data_version() != before
    assert_frame_equal(pipeline.funnel(druid, _view()), pipeline.funnel(embedded, _view()))


def test_replace_swaps_the_dataset_and_an_empty_one_is_refused(stores: Stores) -> None:
    druid, _ = stores
    for keyed in (druid.stages, druid.activities):
        with pytest.raises(StoreError, match="a replace needs at least one"):
            keyed.write(keyed.dataset.empty(), "replace")
    kept = fixture.stage_entries().filter(pl.col("opportunity_id") == "O3")
    result = druid.stages.write(kept, "replace")
    assert (result.inserted, result.replaced) == (4, 18)
    assert druid.stages.count() == 4
    only_o3 = druid.stage_history(Scope(), Q2)
    assert set(only_o3["opportunity_id"]) == {"O3"}
