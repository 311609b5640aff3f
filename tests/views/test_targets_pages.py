"""Targets on the pages, in AppTest over a real embedded store: the hand fixture's lines
and targets (tests/fixtures/targets_fixture.py), whose every number is worked out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from core import cache
from tests.conftest import MOMBASA_VIEWER, VIEWER, add_test_users
from tests.fixtures.hand_fixture import build_store
from tests.fixtures.targets_fixture import WINDOW, stored_targets
from tests.views.apps import page_app, page_failed

PARAMS = {"start": WINDOW[0].isoformat(), "end": WINDOW[1].isoformat()}


@pytest.fixture()
def targets_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    build_store(tmp_path / "sales").write_targets(stored_targets())
    add_test_users(tmp_path)
    monkeypatch.setenv("SALES_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SALES_BACKEND", "embedded")
    monkeypatch.setenv("SALES_WARM_UP", "off")
    monkeypatch.setenv("SALES_AUTH_FILE", str(tmp_path / "users.yaml"))
    cache.get_store.clear()
    cache.clear()
    yield tmp_path
    cache.get_store.clear()
    cache.clear()


def _run(name: str, username: str = "admin") -> AppTest:
    app = page_app(name, username)
    app.query_params.update(PARAMS)
    return app.run()


def test_overview_tile_is_net_sales_against_the_targets(targets_env: Path) -> None:
    app = _run("overview")
    assert not page_failed(app), [e.value for e in app.error]
    tile = next(m for m in app.metric if m.label == "Net sales vs target")
    assert tile.value == "74%"  # 7950 / 10700
    assert "KES 8.0K of KES 10.7K" in str(tile.proto.delta)
    labels = [m.label for m in app.metric]
    assert "This month: projected" in labels and "This quarter: projected" in labels


def test_a_restricted_user_sees_its_branch_target_only(targets_env: Path) -> None:
    app = _run("overview", MOMBASA_VIEWER[0])
    tile = next(m for m in app.metric if m.label == "Net sales vs target")
    assert tile.value == "40%"  # 1250 / 3100


@pytest.mark.parametrize(
    ("page", "key", "expected"),
    [
        ("branches", "branch", {"Nairobi": 6700 / 7600, "Mombasa": 1250 / 3100}),
        ("salespeople", "salesperson", {"Alice": 4600 / 3600, "Brian": 0.6}),
    ],
)
def test_leaderboards_show_attainment_per_member(
    targets_env: Path, page: str, key: str, expected: dict[str, float]
) -> None:
    app = _run(page)
    assert not page_failed(app), [e.value for e in app.error]
    assert any(h.value == "Against target" for h in app.subheader)
    against = next(
        pl.from_pandas(d.value)
        for d in app.dataframe
        if list(d.value.columns) == [key, "net_sales", "target", "attainment_pct"]
    )
    shown = dict(zip(against[key], against["attainment_pct"], strict=True))
    assert shown == pytest.approx({k: v * 100 for k, v in expected.items()})  # shown in percent


def test_targets_page_admin_gets_the_editor_viewer_does_not(targets_env: Path) -> None:
    admin = _run("targets")
    assert not page_failed(admin), [e.value for e in admin.error]
    assert admin.title[0].value == "Targets"
    # A data editor is a dataframe whose editing mode is set (dynamic: rows can be added).
    assert any(d.proto.editing_mode for d in admin.dataframe), "the admin has an editor"
    assert any(b.label == "Save targets" for b in admin.button)
    viewer = _run("targets", VIEWER[0])
    assert not page_failed(viewer)
    assert viewer.dataframe and not any(d.proto.editing_mode for d in viewer.dataframe)
    assert not any(b.label == "Save targets" for b in viewer.button)
    assert any("Only administrators" in c.value for c in viewer.caption)


def test_targets_page_lists_the_window_against_target(targets_env: Path) -> None:
    app = _run("targets")
    against = next(
        pl.from_pandas(d.value) for d in app.dataframe if "days_in_window" in d.value.columns
    )
    assert sorted(against["member"].to_list()) == sorted(
        ["Alice", "Alice", "Mombasa", "Nairobi", "Nairobi", "Nairobi / Brian"]
    )
