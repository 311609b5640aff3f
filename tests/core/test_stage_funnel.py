"""The funnel from stage history on the embedded store, against the hand-computed values
(tests/fixtures/crm_history_fixture.py), and its fallback to the exported stages."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.kpi import pipeline
from core.kpi.pipeline_schemas import FunnelTable
from core.kpi.view import View
from core.store import Scope, Window
from core.stores.pipeline_embedded import EmbeddedPipelineStore
from tests.fixtures.crm_history_fixture import (
    MOMBASA_FUNNEL,
    Q2_FUNNEL,
    crm_deals,
    stage_entries,
)
from tests.fixtures.pipeline_fixture import WINDOW

Q2 = Window(*WINDOW)


def _funnel(rows: list[tuple[object, ...]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=pipeline.FUNNEL_SCHEMA, orient="row")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedPipelineStore:
    made = EmbeddedPipelineStore(tmp_path_factory.mktemp("funnel") / "opportunities")
    made.write(crm_deals(), "append")
    made.stages.write(stage_entries(), "append")
    return made


def _view(window: Window = Q2, scope: Scope | None = None) -> View:
    return View(scope or Scope(), window, None, "month", "none")


def test_history_gives_the_funnel(store: EmbeddedPipelineStore) -> None:
    table = pipeline.funnel(store, _view())
    assert_frame_equal(table, _funnel(Q2_FUNNEL))
    FunnelTable.validate(table)


def test_a_restricted_user_counts_only_their_branches_history(
    store: EmbeddedPipelineStore,
) -> None:
    mombasa = pipeline.funnel(store, _view(scope=Scope(allowed_branches=("Mombasa",))))
    assert_frame_equal(mombasa, _funnel(MOMBASA_FUNNEL))
    assert pipeline.funnel(store, _view(scope=Scope(allowed_branches=()))).is_empty()


def test_stage_history_is_read_through_the_window_s_deals(store: EmbeddedPipelineStore) -> None:
    history = store.stage_history(Scope(), Q2)
    # O7 was created before Q2 and O99 is no stored deal; O6's second Qualification
    # row counts at its first.
    assert set(history["opportunity_id"]) == {"O2", "O3", "O4", "O5", "O6"}
    o6 = history.filter(pl.col("opportunity_id") == "O6")
    assert o6.select("stage", "deal_stage", "status").rows() == [
        ("Qualification", "Proposal", "open"),
        ("Site Visit", "Proposal", "open"),
        ("Proposal", "Proposal", "open"),
    ]


def test_without_history_in_the_window_the_exported_stages_decide(
    store: EmbeddedPipelineStore,
) -> None:
    # July: only O9 (open, Qualification) was created, and it has no history.
    july = pipeline.funnel(store, _view(Window(date(2026, 7, 1), date(2026, 7, 31))))
    assert july.rows() == [("Qualification", 1, 0, 0.0), ("Won", 0, None, None)]


def test_a_store_without_history_keeps_the_exported_funnel(tmp_path: Path) -> None:
    plain = EmbeddedPipelineStore(tmp_path / "opportunities")
    plain.write(crm_deals(), "append")
    # The funnel of tests/fixtures/pipeline_fixture.py, worked out there.
    assert pipeline.funnel(plain, _view()).rows() == [
        ("Qualification", 7, 4, 4 / 7),
        ("Proposal", 4, 3, 0.75),
        ("Won", 3, None, None),
    ]
