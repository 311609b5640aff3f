"""The Targets page in real Chromium: an admin changes a target and the Overview's tile
moves; a viewer sees the targets without an editor."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bench.signin import IDLE, LOAD_MS, expect_settled_heading, sign_in
from tests.conftest import ADMIN, VIEWER, add_test_users, serve_app
from tests.fixtures.hand_fixture import build_store
from tests.fixtures.targets_fixture import stored_targets

pytestmark = [pytest.mark.browser, pytest.mark.anonymous]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-results"
WINDOW = "start=2025-01-01&end=2025-02-14"
# The editor's rows, as stored (month, then slice, a blank member first): Nairobi's
# all-salespeople January target is the third; net_sales the fifth column.
NAIROBI_JANUARY_ROW, NET_SALES_COLUMN = 2, 4


@pytest.fixture(scope="module")
def targets_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand fixture's lines and targets, in a store of its own (the test writes)."""
    data_dir = tmp_path_factory.mktemp("targets-data")
    build_store(data_dir / "sales").write_targets(stored_targets())
    add_test_users(data_dir)
    return data_dir


@pytest.fixture(scope="module")
def targets_app_url(
    targets_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    yield from serve_app(targets_data_dir, tmp_path_factory)


def target_tile(page: Page) -> str:
    tile = page.get_by_test_id("stMetric").filter(has_text="Net sales vs target")
    expect(tile).to_be_visible(timeout=LOAD_MS)
    return tile.get_by_test_id("stMetricValue").inner_text().strip()


def test_an_admin_changes_a_target_and_the_tile_moves(
    page: Page, targets_app_url: str, targets_data_dir: Path
) -> None:
    overview = f"{targets_app_url}/?{WINDOW}"
    sign_in(page, overview, ADMIN)
    assert target_tile(page) == "74%"  # 7,950 of 10,700

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Targets").click()
    expect_settled_heading(page, "Targets")
    editor = page.get_by_test_id("stDataFrame").last
    expect(editor).to_be_visible(timeout=LOAD_MS)
    page.wait_for_function(IDLE, timeout=LOAD_MS)
    # Glide's grid draws on a canvas: select the first cell, walk to Nairobi's January
    # target with the arrow keys and open it with Enter: its editor is an input
    # (`.gdg-input`) in an overlay, on the cell's value. Fill it and commit with Enter.
    header, row = 35, 35  # Streamlit's default header and row heights, in pixels
    editor.click(position={"x": 70, "y": header + row / 2})  # Month, first row
    for _ in range(NET_SALES_COLUMN):
        page.keyboard.press("ArrowRight")
    for _ in range(NAIROBI_JANUARY_ROW):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    cell_editor = page.locator(".gdg-input")
    expect(cell_editor).to_have_value("6200")  # the keys reached Nairobi's January target
    cell_editor.fill("4500")
    cell_editor.press("Enter")
    expect(cell_editor).to_have_count(0)
    # The grid's accessible table (cell ids count the row-marker column as 0) shows the
    # committed value; the page says the change is not saved yet once the server has it
    # (a Save clicked before that would save the table without it).
    cell = editor.locator(f"#glide-cell-{NET_SALES_COLUMN + 1}-{NAIROBI_JANUARY_ROW}")
    expect(cell).to_have_text("4500")
    pending = "Not saved yet: 1 change (2025-01 Nairobi: 6,200 → 4,500)."  # Markdown's arrow
    expect(page.get_by_text(pending)).to_be_visible(timeout=LOAD_MS)
    page.wait_for_function(IDLE, timeout=LOAD_MS)
    page.get_by_role("button", name="Save targets").click()
    expect(page.get_by_text("Saved: 0 new, 1 changed, 0 removed")).to_be_visible(timeout=LOAD_MS)
    page.screenshot(path=str(ARTIFACTS / "targets-saved.png"), full_page=True)

    page.goto(overview)
    # Nairobi's target over the window: 4,500 + 1,400; with Mombasa's 3,100, 9,000 in all.
    expect(
        page.get_by_test_id("stMetric")
        .filter(has_text="Net sales vs target")
        .get_by_test_id("stMetricValue")
    ).to_have_text("88%", timeout=LOAD_MS)
    line = json.loads((targets_data_dir / "audit" / "uploads.jsonl").read_text().splitlines()[-1])
    assert (line["user"], line["dataset"], line["source"]) == ("admin", "targets", "targets page")
    assert "2025-01 Nairobi: 6,200 -> 4,500" in line["detail"]


def test_a_viewer_sees_targets_without_an_editor(page: Page, targets_app_url: str) -> None:
    sign_in(page, f"{targets_app_url}/targets?{WINDOW}", VIEWER)
    expect_settled_heading(page, "Targets")
    expect(page.get_by_text("Only administrators change targets.")).to_be_visible()
    expect(page.get_by_role("button", name="Save targets")).to_have_count(0)
    expect(page.get_by_role("button", name="Add row")).to_have_count(0)  # no data editor
