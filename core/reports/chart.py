"""The e-mail's one small chart: net sales per trend bucket, as a PNG.

Mail clients show neither the pages' ECharts nor SVG reliably, so the chart is
a picture, drawn with Pillow (a dependency Streamlit already brings): bars,
the largest value and the first and last bucket named. Small on purpose: it
says "up or down", the link back opens the real chart.
"""

from __future__ import annotations

import io
from datetime import date

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 600, 200  # fits a phone's mail view at full width
MARGIN = 28
BAR = (31, 119, 180)  # the pages' first series colour
PARTIAL_BAR = (158, 202, 225)
GRID = (220, 220, 220)
TEXT = (60, 60, 60)
FONT_SIZE = 12


def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=FONT_SIZE)
    except (OSError, TypeError):  # Pillow built without FreeType: its bitmap font
        return ImageFont.load_default()


def trend_png(
    periods: list[date], values: list[float | None], partial: set[date] | None = None
) -> bytes:
    """A bar chart of `values` by `periods`; buckets in `partial` drawn lighter."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = _font()
    numbers = [v or 0.0 for v in values]
    top = max([*numbers, 0.0])
    bottom = min([*numbers, 0.0])
    span = (top - bottom) or 1.0
    plot_top, plot_bottom = MARGIN, HEIGHT - MARGIN
    left, right = MARGIN, WIDTH - MARGIN // 2

    def y(value: float) -> float:
        return plot_bottom - (value - bottom) / span * (plot_bottom - plot_top)

    draw.line([(left, y(0)), (right, y(0))], fill=GRID, width=1)
    if numbers:
        step = (right - left) / len(numbers)
        gap = max(1.0, step * 0.2)
        for index, (period, value) in enumerate(zip(periods, numbers, strict=True)):
            x0 = left + index * step + gap / 2
            colour = PARTIAL_BAR if partial and period in partial else BAR
            y0, y1 = sorted((y(0), y(value)))
            draw.rectangle([x0, y0, max(x0 + 1, x0 + step - gap), max(y0 + 1, y1)], fill=colour)
        draw.text((left, plot_bottom + 6), periods[0].isoformat(), fill=TEXT, font=font)
        last = periods[-1].isoformat()
        draw.text((right, plot_bottom + 6), last, fill=TEXT, font=font, anchor="ra")
        draw.text((left, 6), f"Net sales, max KES {top:,.0f}", fill=TEXT, font=font)
    else:
        draw.text((left, HEIGHT // 2), "No sales in this window", fill=TEXT, font=font)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
