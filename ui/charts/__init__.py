"""ECharts option objects with one colour per branch and per product line on every page.

Each function returns a `Chart`: the option for `st.echarts_chart`, its height,
and the member each selectable point stands for (for drill-down).

ECharts, not Plotly: Streamlit's ECharts bundle is a quarter of Plotly's, and
a page opened in a new tab drew five charts 1.2 s sooner with it on this machine.

Names from the data never go into a template or a label's formatter (those
are HTML); they travel as data and reach the screen through `{b}` and `{@[i]}`
placeholders, which are inserted as escaped text, and through axis labels,
which ECharts draws as text.

The charts are grouped by family, a module each: `base` (what they share),
`trends`, `leaderboards`, `products`, `heatmaps` and `segments`. Pages call
them as `charts.<name>`.
"""

from ui.charts.base import CHAR_WIDTH, HEIGHT, LEGEND_ROW, Chart, colour_map
from ui.charts.heatmaps import HEATMAP_WIDTH, heatmap
from ui.charts.leaderboards import NAMED_BUBBLES, leaderboard_bar, profit_map
from ui.charts.products import abc_bars, line_product_treemap, pareto
from ui.charts.segments import segment_map, text_colour_on
from ui.charts.trends import member_lines, trend_with_comparison, with_anomalies

__all__ = [
    "CHAR_WIDTH",
    "HEATMAP_WIDTH",
    "HEIGHT",
    "LEGEND_ROW",
    "NAMED_BUBBLES",
    "Chart",
    "abc_bars",
    "colour_map",
    "heatmap",
    "leaderboard_bar",
    "line_product_treemap",
    "member_lines",
    "pareto",
    "profit_map",
    "segment_map",
    "text_colour_on",
    "trend_with_comparison",
    "with_anomalies",
]
