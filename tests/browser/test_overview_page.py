"""The Overview page in real Chromium shows the numbers the export prints."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bench.signin import expect_settled_heading
from tests.browser.figures import exact_figures, export_overview
from ui import format as fmt

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-results"


def test_overview_headline_equals_export(page: Page, app_url: str, sample_data_dir: Path) -> None:
    page.goto(f"{app_url}/?start=2026-01-01&end=2026-06-30&branch=Mombasa")
    expect_settled_heading(page, "Overview")
    expect(page.get_by_test_id("stMetric").first).to_be_visible(timeout=30_000)
    figures = exact_figures(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
    expected = export_overview(
        sample_data_dir, "--start", "2026-01-01", "--end", "2026-06-30", "--branch", "Mombasa"
    )
    assert figures["Net sales"] == fmt.kpi_exact("net_sales", expected["net_sales"])
    assert figures["Gross profit"] == fmt.kpi_exact("gross_profit", expected["gross_profit"])
    assert figures["Gross margin"] == fmt.kpi_exact(
        "gross_margin_pct", expected["gross_margin_pct"]
    )
    assert figures["Orders"] == fmt.kpi_exact("orders", expected["orders"])
    assert figures["AOV"] == fmt.kpi_exact("aov", expected["aov"])
    assert figures["Active customers"] == fmt.kpi_exact(
        "active_customers", expected["active_customers"]
    )
    assert expected["net_sales"] > 0


def test_bad_url_parameter_shows_notice(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/?start=2026-13-01&branch=Atlantis&grain=fortnight")
    expect(page.get_by_text("Ignored start=")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Ignored unknown branch value(s): 'Atlantis'")).to_be_visible()
    expect(page.get_by_text("Ignored grain=")).to_be_visible()
    expect(page.get_by_test_id("stMetric").first).to_be_visible()
