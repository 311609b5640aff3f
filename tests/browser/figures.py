"""The Overview's exact figures as the page shows them, and the export to check them by."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page, expect

from bench.signin import IDLE, LOAD_MS
from tests.conftest import run_cli


def exact_figures(page: Page) -> dict[str, str]:
    """{KPI label: shown value} from the Overview's "Exact figures" table."""
    expect(page.get_by_test_id("stMetric").first).to_be_visible(timeout=LOAD_MS)
    page.wait_for_function(IDLE, timeout=LOAD_MS)
    page.get_by_text("Exact figures").click()
    rows = page.get_by_test_id("stTable").locator("tbody tr")
    expect(rows.first).to_be_visible(timeout=LOAD_MS)
    cells = [rows.nth(i).locator("td") for i in range(rows.count())]
    return {c.nth(0).inner_text().strip(): c.nth(1).inner_text().strip() for c in cells}


def export_overview(data_dir: Path, *args: str) -> dict[str, float]:
    """The overview row `python -m core export` writes for `args`."""
    result = run_cli(["core", "export", "overview", "--format", "json", *args], data_dir)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)[0]
