"""The Pipeline page in AppTest over real embedded stores: the hand-worked deals of
tests/fixtures/pipeline_fixture.py beside the hand sales fixture, whose Q2 2026 figures
are worked out in that fixture's docstring."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from core import cache
from core.stores.pipeline_embedded import EmbeddedPipelineStore
from tests.conftest import MOMBASA_VIEWER, add_test_users
from tests.fixtures import crm_history_fixture as history
from tests.fixtures.hand_fixture import build_store
from tests.fixtures.pipeline_fixture import WINDOW, hand_deals
from tests.views.apps import page_app, page_failed

Q2 = {"start": WINDOW[0].isoformat(), "end": WINDOW[1].isoformat()}


def _env(
    path: Path, monkeypatch: pytest.MonkeyPatch, deals: bool, history_too: bool = False
) -> Iterator[Path]:
    build_store(path / "sales")
    if deals:
        stored = EmbeddedPipelineStore(path / "opportunities")
        stored.write(history.crm_deals() if history_too else hand_deals(), "append")
        if history_too:
            stored.stages.write(history.stage_entries(), "append")
            stored.activities.write(history.activities(), "append")
    add_test_users(path)
    monkeypatch.setenv("SALES_DATA_DIR", str(path))
    monkeypatch.setenv("SALES_BACKEND", "embedded")
    monkeypatch.setenv("SALES_WARM_UP", "off")
    monkeypatch.setenv("SALES_AUTH_FILE", str(path / "users.yaml"))
    cache.get_store.clear()
    cache.clear()
    yield path
    cache.get_store.clear()
    cache.clear()


@pytest.fixture()
def deals_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from _env(tmp_path, monkeypatch, deals=True)


@pytest.fixture()
def history_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from _env(tmp_path, monkeypatch, deals=True, history_too=True)


@pytest.fixture()
def no_deals_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from _env(tmp_path, monkeypatch, deals=False)


def _run(username: str = "admin", **params: str) -> AppTest:
    app = page_app("pipeline", username)
    app.query_params.update({**Q2, "compare": "none", **params})
    return app.run()


def _tiles(app: AppTest) -> dict[str, str]:
    """Each tile's value as read: the tiles escape Markdown (`KES 180\\.0K`)."""
    return {m.label: m.value.replace("\\", "") for m in app.metric}


def _table(app: AppTest, first_column: str) -> pl.DataFrame:
    return next(
        pl.from_pandas(d.value) for d in app.dataframe if d.value.columns[0] == first_column
    )


def test_tiles_are_the_hand_worked_quarter(deals_env: Path) -> None:
    app = _run()
    assert not page_failed(app), [e.value for e in app.error]
    tiles = _tiles(app)
    assert tiles["Open pipeline"] == "KES 180.0K"
    assert tiles["Open deals"] == "4"
    assert tiles["Won amount"] == "KES 180.0K"
    assert tiles["Deals closed"] == "3 won · 2 lost"
    assert tiles["Win rate"] == "60.0%"
    assert tiles["Average won deal"] == "KES 60.0K"
    assert tiles["Sales cycle (median)"] == "30 days"
    assert tiles["Pipeline velocity"] == "KES 4.8K"
    titles = [h.value for h in app.subheader]
    for title in ("Stage funnel", "Open pipeline by age", "Won and lost by salesperson"):
        assert title in titles


def test_tables_list_members_reasons_and_the_oldest_deals(deals_env: Path) -> None:
    app = _run()
    people = _table(app, "salesperson")
    assert dict(zip(people["salesperson"], people["won_deals"], strict=True)) == {
        "Amina": 2,
        "Brian": 1,
    }
    reasons = _table(app, "lost_reason")
    assert reasons["lost_reason"].to_list() == ["Price", "No budget"]
    stuck = _table(app, "opportunity_id")
    # Open on 06-30, oldest first: O7 (149 days), O6 (41), O11 (29), O8 (20).
    assert stuck["opportunity_id"].to_list() == ["O7", "O6", "O11", "O8"]
    assert stuck["age_days"].to_list() == [149, 41, 29, 20]


def test_a_comparison_gives_each_tile_its_change(deals_env: Path) -> None:
    app = _run(compare="previous")
    win_rate = next(m for m in app.metric if m.label == "Win rate")
    assert "+60.0 pp vs comparison" in str(win_rate.proto.delta)  # Q1: lost O10 only, 0%


def test_a_restricted_user_sees_only_its_branch(deals_env: Path) -> None:
    app = _run(MOMBASA_VIEWER[0])
    assert not page_failed(app), [e.value for e in app.error]
    assert _tiles(app)["Win rate"] == "50.0%"  # Brian's O3 won, O4 lost
    assert _table(app, "branch")["branch"].to_list() == ["Mombasa"]


def test_without_deals_the_page_says_how_to_load_them(no_deals_env: Path) -> None:
    app = _run()
    assert not page_failed(app)
    assert any("--dataset opportunities" in i.value for i in app.info)
    assert not app.metric


def test_the_revenue_won_deals_brought_is_listed_per_source(deals_env: Path) -> None:
    app = _run()
    assert "Revenue the won deals brought, by lead source" in [h.value for h in app.subheader]
    influenced = _table(app, "lead_source")
    # The hand deals name no invoice and the hand sales end in March 2025: nothing linked.
    assert influenced.filter(pl.col("won_deals") > 0)["influenced_net_sales"].sum() == 0
    assert influenced["won_deals"].sum() == 3


def test_without_activities_the_page_says_how_to_load_them(deals_env: Path) -> None:
    app = _run()
    assert "Activities and outcomes" in [h.value for h in app.subheader]
    assert any("--dataset activities" in i.value for i in app.info)


def test_activities_show_the_hand_worked_win_rates_with_and_without(history_env: Path) -> None:
    app = _run()
    assert not page_failed(app), [e.value for e in app.error]
    tiles = _tiles(app)
    # Q2: 3 deals closed with a visit before closing, 2 of them won; 2 without, 1 won.
    assert tiles["Win rate with a visit"] == "66.7%"
    assert tiles["Closed with a visit"] == "3"
    assert tiles["Win rate without a visit"] == "50.0%"
    assert tiles["Closed without a visit"] == "2"
    table = _table(app, "activity_type")
    assert table["activity_type"].to_list() == history.Q2_ACTIVITIES["activity_type"].to_list()
    assert table["activities"].to_list() == [4, 3, 1, 1, 1]


def test_a_restricted_user_sees_only_its_branchs_activities(history_env: Path) -> None:
    app = _run(MOMBASA_VIEWER[0])
    assert not page_failed(app), [e.value for e in app.error]
    table = _table(app, "activity_type")
    # Mombasa's deals O3 O4 O7 O8: calls A7 A15, visits A4 A5, quote A6, meeting A10.
    assert dict(zip(table["activity_type"], table["activities"], strict=True)) == {
        "call": 2,
        "visit": 2,
        "meeting": 1,
        "quote": 1,
    }


def _salespeople(username: str = "admin") -> AppTest:
    """The Salespeople page from the hand sales' first quarter to the deals' Q2 end."""
    app = page_app("salespeople", username)
    app.query_params.update({"start": "2025-01-01", "end": Q2["end"], "compare": "none"})
    return app.run()


def test_the_salespeople_page_shows_each_persons_pipeline_beside_sales(deals_env: Path) -> None:
    app = _salespeople()
    assert not page_failed(app), [e.value for e in app.error]
    assert "Sales and pipeline" in [h.value for h in app.subheader]
    table = next(pl.from_pandas(d.value) for d in app.dataframe if "win_rate" in d.value.columns)
    rows = {r["salesperson"]: r for r in table.iter_rows(named=True)}
    # To 2026-06-30: Amina won O1 O2, lost O5 O10 (2/4), open O6 O11 (50,000); Brian won
    # O3, lost O4 (1/2), open O7 O8 on 06-30 (130,000; O8 closed 07-05).
    # The table shows rates in percent.
    assert rows["Amina"]["win_rate"] == pytest.approx(50.0)
    assert rows["Amina"]["open_amount"] == pytest.approx(50_000)
    assert rows["Brian"]["win_rate"] == pytest.approx(50.0)
    assert rows["Brian"]["open_amount"] == pytest.approx(130_000)


def test_without_deals_the_salespeople_page_has_no_pipeline_table(no_deals_env: Path) -> None:
    app = _salespeople()
    assert not page_failed(app)
    assert "Sales and pipeline" not in [h.value for h in app.subheader]
