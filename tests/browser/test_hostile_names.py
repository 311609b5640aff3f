"""Names that carry HTML or Markdown are shown as typed, in tables, labels and charts."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl
import pytest
from playwright.sync_api import Page, expect

from bench.signin import LOAD_MS, sign_in
from core.schema import with_derived_measures
from core.stores.embedded import EmbeddedStore
from tests.browser.charts import longest_bar, tooltip
from tests.conftest import ADMIN, add_test_users, serve_app
from tests.fixtures.hand_fixture import canonical_frame

pytestmark = [pytest.mark.browser, pytest.mark.anonymous]

WINDOW = "start=2024-01-01&end=2025-03-31"
PAGES = ("", "salespeople", "products", "branches")
# What a hostile export could carry in each name column.
SALESPERSON = "<b>{}</b> [pay here](http://pay.invalid)"
PRODUCT_LINE = "<img src=x onerror=alert(1)>{}"
BRANCH = "**{}** :red[branch]"
PRODUCT = '<a href="http://evil.invalid">{}</a>'


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("hostile-names")
    lines = canonical_frame().with_columns(
        salesperson=pl.format(SALESPERSON, pl.col("salesperson")),
        product_line=pl.format(PRODUCT_LINE, pl.col("product_line")),
        branch=pl.format(BRANCH, pl.col("branch")),
        product_name=pl.format(PRODUCT, pl.col("product_name")),
    )
    EmbeddedStore(data_dir / "sales").write(with_derived_measures(lines), "append")
    add_test_users(data_dir)
    yield from serve_app(data_dir, tmp_path_factory)


@pytest.mark.parametrize("path", PAGES)
def test_names_are_text_never_markup(page: Page, hostile_app: str, path: str) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, f"{hostile_app}/{path}?{WINDOW}", ADMIN)
    main = page.get_by_test_id("stMain")
    charts = main.get_by_test_id("stEChartsChart")
    expect(charts.first.locator("svg text").first).to_be_visible(timeout=LOAD_MS)
    page.wait_for_timeout(500)  # the last charts draw after the first

    assert main.locator("a[href*='.invalid']").count() == 0, "a name became a link"
    assert main.locator("img[src='x']").count() == 0, "a name became an image"
    assert dialogs == [], "a name ran script"
    for tag in ("b", "strong"):
        rendered = main.locator(tag).filter(has_text="Alice")
        assert rendered.count() == 0, f"a name became <{tag}>"
    # The charts draw the names' tags as characters, not as bold text or links.
    assert charts.locator("svg a").count() == 0
    if path:  # the overview's one chart is a trend without names
        drawn = " ".join(charts.locator("svg text").all_text_contents())
        assert "<" in drawn and ">" in drawn, drawn[:300]
    else:
        # The overview's answers are page links whose labels would render Markdown.
        expect(main.get_by_text("[pay here](http://pay.invalid)").first).to_be_visible()
        expect(main.get_by_text("**").first).to_be_visible()


def test_chart_tooltips_show_names_as_typed(page: Page, hostile_app: str) -> None:
    sign_in(page, f"{hostile_app}/salespeople?{WINDOW}", ADMIN)
    leaderboard = page.get_by_test_id("stMain").get_by_test_id("stEChartsChart").first
    expect(leaderboard.locator("svg text").first).to_be_visible(timeout=LOAD_MS)
    longest_bar(leaderboard).hover(force=True)
    shown = tooltip(leaderboard)
    expect(shown).to_contain_text("Net sales: KES", timeout=LOAD_MS)
    expect(shown).to_contain_text("<b>")  # the tag typed into the name, as characters
    expect(shown).to_contain_text("[pay here](http://pay.invalid)")
    assert shown.locator("b, a").count() == 0, "a name became markup in the tooltip"
