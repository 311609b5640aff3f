"""Finding what ECharts drew: it renders each chart as one SVG of paths and texts."""

from __future__ import annotations

import time

from playwright.sync_api import Locator


def longest_bar(chart: Locator, timeout: float = 10.0) -> Locator:
    """The longest bar of a horizontal bar chart: the best member of a leaderboard.

    Waits up to `timeout` seconds for bars: a chart drawn again by a rerun (the one
    that follows sign-in) has its labels back a frame before its bars.
    """
    paths = chart.locator("svg path")
    deadline = time.monotonic() + timeout
    while True:
        boxes = [(i, paths.nth(i).bounding_box()) for i in range(paths.count())]
        # Bars are filled rectangles taller than a grid line and narrower than the chart.
        bars = [(i, b) for i, b in boxes if b and 8 < b["height"] < 60 and b["width"] > 8]
        if bars or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert bars, "no bar drawn"
    best = max(bars, key=lambda item: item[1]["width"])[0]
    return paths.nth(best)


def tooltip(chart: Locator) -> Locator:
    """The tooltip ECharts shows inside the chart while a point is hovered."""
    return chart.locator("div").filter(has_text="Net sales").last
