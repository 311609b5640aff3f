"""The Druid pipeline store against the embedded one on the hand-computed deals."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from core.kpi import pipeline
from core.kpi.view import View
from core.store import Scope, StoreError, Window
from core.stores.druid_http import DruidClient
from core.stores.pipeline_druid import DruidPipelineStore
from core.stores.pipeline_embedded import EmbeddedPipelineStore
from tests.druid.conftest import drop_datasource
from tests.fixtures.pipeline_fixture import WINDOW, hand_deals

pytestmark = pytest.mark.druid

WINDOWS = [
    Window(*WINDOW),
    Window(date(2026, 1, 1), date(2026, 3, 31)),
    Window(date(2026, 1, 1), date(2026, 12, 31)),
]
SCOPES = [Scope(), Scope(allowed_branches=("Mombasa",)), Scope(salespeople=("Amina",))]


@pytest.fixture(scope="module")
def stores(druid_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    client = DruidClient(druid_url)
    druid = DruidPipelineStore(client, f"test_pipeline_{uuid.uuid4().hex[:8]}_opportunities")
    embedded = EmbeddedPipelineStore(Path(tmp_path_factory.mktemp("p")) / "opportunities")
    for store in (druid, embedded):
        store.write(hand_deals(), "append")
    yield druid, embedded
    drop_datasource(client, druid.datasource)


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("scope", SCOPES)
def test_every_pipeline_area_agrees(stores: tuple, window: Window, scope: Scope) -> None:
    druid, embedded = stores
    view = View(scope, window, None, "month", "none")
    for area in (
        pipeline.summary,
        pipeline.salespeople,
        pipeline.branches,
        pipeline.lead_sources,
        pipeline.lost_reasons,
        pipeline.ageing,
        pipeline.funnel,
        pipeline.stuck_deals,
    ):
        assert_frame_equal(area(druid, view), area(embedded, view), check_exact=False)
    assert druid.date_range(scope) == embedded.date_range(scope)
    assert druid.count(scope) == embedded.count(scope)
    assert_frame_equal(druid.won_deals(scope, window), embedded.won_deals(scope, window))


def test_reload_replaces_and_replace_mode_swaps(stores: tuple) -> None:
    druid, _ = stores
    again = druid.write(hand_deals(), "append")
    assert (again.inserted, again.updated) == (0, 11)
    assert druid.count(Scope()) == 11


def test_an_empty_replace_is_refused_by_both_and_loses_nothing(stores: tuple) -> None:
    for store in stores:
        with pytest.raises(StoreError, match="a replace needs at least one deal"):
            store.write(hand_deals().clear(), "replace")
        assert store.count(Scope()) == 11
