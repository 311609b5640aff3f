"""Finding what ECharts drew: it renders each chart as one SVG of paths and texts."""

from __future__ import annotations

from playwright.sync_api import Locator


def longest_bar(chart: Locator) -> Locator:
    """The longest bar of a horizontal bar chart: the best member of a leaderboard."""
    paths = chart.locator("svg path")
    boxes = [(i, paths.nth(i).bounding_box()) for i in range(paths.count())]
    # Bars are filled rectangles taller than a grid line and narrower than the chart.
    bars = [(i, box) for i, box in boxes if box and 8 < box["height"] < 60 and box["width"] > 8]
    assert bars, "no bar drawn"
    best = max(bars, key=lambda item: item[1]["width"])[0]
    return paths.nth(best)


def tooltip(chart: Locator) -> Locator:
    """The tooltip ECharts shows inside the chart while a point is hovered."""
    return chart.locator("div").filter(has_text="Net sales").last
