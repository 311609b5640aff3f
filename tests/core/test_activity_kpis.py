"""Activity KPIs on the embedded store against the hand-computed values
(tests/fixtures/crm_history_fixture.py): which deal each activity counts on, who sees it,
and empty ratios where nothing is behind them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from core.kpi import activities
from core.kpi.view import View
from core.pipeline_store import attributed
from core.store import Scope, Window
from core.stores.pipeline_embedded import EmbeddedPipelineStore
from tests.fixtures import crm_history_fixture as fixture
from tests.fixtures.pipeline_fixture import WINDOW

Q2 = Window(*WINDOW)
JUNE = Window(date(2026, 6, 1), date(2026, 6, 30))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedPipelineStore:
    made = EmbeddedPipelineStore(tmp_path_factory.mktemp("activities") / "opportunities")
    made.write(fixture.crm_deals(), "append")
    made.activities.write(fixture.activities(), "append")
    return made


def _view(scope: Scope | None = None, window: Window = Q2) -> View:
    return View(scope or Scope(), window, None, "month", "none")


def _visits(row: tuple[object, ...]) -> dict[str, object]:
    return dict(zip(activities.VISIT_COLUMNS, row, strict=True))


def test_each_activity_counts_on_one_deal() -> None:
    links = attributed(fixture.crm_deals(), fixture.activities())
    assert dict(links.select("activity_id", "opportunity_id").rows()) == {
        "A1": "O1",
        "A2": "O1",
        "A3": "O2",
        "A4": "O4",  # K1's deals O2, O3, O4 were open on 04-20: O4 is the newest
        "A5": "O3",  # on 05-12 only O3 was still open
        "A6": "O3",
        "A7": "O3",
        "A8": "O5",
        "A9": "O6",
        "A10": "O8",
        "A13": "O9",
        "A14": "O10",
        "A15": "O7",
    }  # A11 names no stored deal, A12's customer has none


def test_activity_table_matches_the_hand_computed_values(store: EmbeddedPipelineStore) -> None:
    assert_frame_equal(activities.by_type(store, _view()), fixture.Q2_ACTIVITIES)
    row = activities.visit_win_rates(store, _view()).row(0, named=True)
    assert row == pytest.approx(_visits(fixture.Q2_VISITS))


def test_a_restricted_user_never_sees_another_branch_s_activity(
    store: EmbeddedPipelineStore,
) -> None:
    nairobi = _view(Scope(allowed_branches=("Nairobi",)))
    assert_frame_equal(activities.by_type(store, nairobi), fixture.NAIROBI_ACTIVITIES)
    row = activities.visit_win_rates(store, nairobi).row(0, named=True)
    assert row == pytest.approx(_visits(fixture.NAIROBI_VISITS))
    nobody = _view(Scope(allowed_branches=()))
    assert activities.by_type(store, nobody).is_empty()
    assert activities.visit_win_rates(store, nobody).row(0) == (0, None, 0, None)


def test_a_filter_on_the_deals_applies_to_their_activities(store: EmbeddedPipelineStore) -> None:
    brian = activities.by_type(store, _view(Scope(salespeople=("Brian",))))
    # Brian's deals: O3 O4 O7 O8 O9; in Q2 won O3, lost O4.
    assert brian.select("activity_type", "activities", "win_rate_with").rows() == [
        ("call", 2, None),  # A7 (after O3's close) and A15 (O7, open)
        ("visit", 2, 0.5),  # A4 on lost O4, A5 on won O3
        ("meeting", 1, None),
        ("quote", 1, 1.0),
    ]


def test_zero_denominators_are_empty_never_zero(store: EmbeddedPipelineStore) -> None:
    june = activities.by_type(store, _view(window=JUNE))
    assert june.rows() == [
        ("call", 1, 1, 0, None, None, None),
        ("meeting", 1, 1, 0, None, None, None),
    ]
    assert activities.visit_win_rates(store, _view(window=JUNE)).row(0) == (0, None, 0, None)


def test_no_activities_stored_gives_empty_tables(tmp_path: Path) -> None:
    bare = EmbeddedPipelineStore(tmp_path / "opportunities")
    bare.write(fixture.crm_deals(), "append")
    assert activities.by_type(bare, _view()).is_empty()
    # Without a visit anywhere, every closed deal is "without": 3 of 5 won.
    assert activities.visit_win_rates(bare, _view()).row(0) == (0, None, 5, 0.6)
    empty = EmbeddedPipelineStore(tmp_path / "nothing" / "opportunities")
    assert activities.by_type(empty, View(Scope(), None, None, "month", "none")).is_empty()


def test_every_column_is_documented() -> None:
    modelled = tuple(activities.ActivitiesTable.to_schema().columns)
    assert modelled == activities.ACTIVITY_COLUMNS
    assert all(k.description and k.label for k in activities.ACTIVITY_KPIS)
    assert tuple(activities.VisitWinRates.to_schema().columns) == activities.VISIT_COLUMNS
