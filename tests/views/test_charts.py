"""The charts' option objects: what each shows, which member a click picks, names kept as data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import polars as pl
import pytest

from ui import charts
from ui import format as fmt

HOSTILE = "<b>Alice</b> {b} {@[0]}"


def strings_under(node: Any, key: str) -> Iterator[str]:
    """Every string value stored under `key` anywhere in an option."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key and isinstance(value, str):
                yield value
            yield from strings_under(value, key)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from strings_under(value, key)


def reps() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "salesperson": ["Bo", HOSTILE, "Cy", "Di"],
            "net_sales": [200.0, 500.0, None, -10.0],
            "gross_margin_pct": [0.25, 0.125, None, None],
            "orders": [4, 16, 0, 1],
        }
    )


def test_leaderboard_best_first_and_a_click_picks_that_member() -> None:
    chart = charts.leaderboard_bar(reps(), "salesperson", "net_sales", "Net sales", top=2)
    assert chart.members == (HOSTILE, "Bo")  # nulls dropped, best first, top 2
    assert chart.option["yAxis"]["data"] == [HOSTILE, "Bo"]
    bars = chart.option["series"][0]["data"]
    assert [bar["value"][0] for bar in bars] == [500.0, 200.0]
    assert bars[1]["value"][3:] == ["KES 200", "25.0%"]
    assert chart.member_at({"selected": [{"series_index": 0, "data_indices": [1]}]}) == "Bo"
    assert chart.member_at({"selected": [{"series_index": 1, "data_indices": [0]}]}) is None
    assert chart.member_at({"selected": [{"series_index": 0, "data_indices": [7]}]}) is None
    assert chart.member_at({"selected": []}) is None
    assert chart.member_at(None) is None


def test_colours_follow_the_member_not_its_place() -> None:
    colours = charts.colour_map(["Thika", "Kisumu", "Nakuru"])
    assert colours == charts.colour_map(["Nakuru", "Thika", "Kisumu"])
    chart = charts.leaderboard_bar(reps(), "salesperson", "net_sales", "Net sales", colours)
    assert len({bar["itemStyle"]["color"] for bar in chart.option["series"][0]["data"]}) == 1
    named = charts.leaderboard_bar(
        reps(), "salesperson", "net_sales", "Net sales", {"Bo": "#123456"}
    )
    assert named.option["series"][0]["data"][1]["itemStyle"]["color"] == "#123456"


def test_profit_map_leaves_out_members_without_sales_and_sizes_by_orders() -> None:
    chart = charts.profit_map(reps(), "salesperson")
    assert chart.members == ("Bo", HOSTILE)
    points = chart.option["series"][0]["data"]
    assert [p["value"][:2] for p in points] == [[200.0, 25.0], [500.0, 12.5]]  # margin in %
    assert points[1]["symbolSize"] == 48.0 and points[0]["symbolSize"] == 28.0  # 8 + 40 sqrt


def test_profit_map_names_only_the_biggest_bubbles_inside_the_chart() -> None:
    n = 27
    frame = pl.DataFrame(
        {
            "salesperson": [f"Rep {i}" for i in range(n)],
            "net_sales": [1_000.0 * (i + 1) for i in range(n)],
            "gross_margin_pct": [0.2] * n,
            "orders": [(i * 7) % n for i in range(n)],  # most orders is not most sales
        }
    )
    chart = charts.profit_map(frame, "salesperson")
    series = chart.option["series"][0]
    assert series["labelLayout"] == {"moveOverlap": "shiftY", "hideOverlap": True}
    # A few bubbles (product lines) keep every name, moved apart rather than hidden.
    few = charts.profit_map(frame.head(9), "salesperson").option["series"][0]
    assert few["labelLayout"] == {"moveOverlap": "shiftY"} and few["labelLine"]["show"]
    points = series["data"]
    named = {p["value"][2] for p in points if p["label"]["show"]}
    by_orders = frame.sort("orders", descending=True)["salesperson"].head(charts.NAMED_BUBBLES)
    assert named == set(by_orders)
    # Names point towards the middle, so the rightmost never runs off the chart.
    assert points[-1]["label"]["position"] == "left" and points[0]["label"]["position"] == "right"
    # Points keep their order: a click still picks its member.
    assert chart.member_at({"selected": [{"series_index": 0, "data_indices": [5]}]}) == "Rep 5"


def test_names_from_the_data_never_enter_a_template() -> None:
    """Templates are HTML and read `{b}`: a name must travel as data, never as template."""
    period = [date(2025, 1, 1), date(2025, 2, 1)]
    trend = pl.DataFrame({"period": period * 2, "salesperson": ["Bo", "Bo", HOSTILE, HOSTILE],
                          "net_sales": [1.0, 2.0, 3.0, 4.0]})  # fmt: skip
    products = pl.DataFrame(
        {
            "product_id": ["P1", "P2"],
            "product_name": [HOSTILE, "Milk"],
            "product_line": [HOSTILE, "Dairy"],
            "net_sales": [10.0, 5.0],
            "cumulative_share": [2 / 3, 1.0],
        }
    )
    made = [
        charts.leaderboard_bar(reps(), "salesperson", "net_sales", "Net sales"),
        charts.profit_map(reps(), "salesperson"),
        charts.member_lines(trend, "salesperson", "net_sales", "Net sales", grain="month"),
        charts.pareto(products),
        charts.line_product_treemap(products, {}),
        charts.heatmap(trend, "period", "salesperson", "net_sales", "kes", "Net sales"),
    ]
    for chart in made:
        for template in strings_under(chart.option, "formatter"):
            assert "Alice" not in template, template


def test_heatmap_cells_in_natural_order_with_blanks_left_out() -> None:
    frame = pl.DataFrame(
        {
            "months_since": [0, 2, 10, 0, 2],
            "cohort": ["2025-01", "2025-01", "2025-01", "2025-02", "2025-02"],
            "retention_pct": [1.0, 0.5, 0.25, 1.0, None],
        }
    )
    chart = charts.heatmap(frame, "months_since", "cohort", "retention_pct", "pct", "Retention")
    assert chart.option["xAxis"]["data"] == ["0", "2", "10"]  # not "0", "10", "2"
    assert chart.option["yAxis"]["data"] == ["2025-01", "2025-02"]
    cells = chart.option["series"][0]["data"]
    assert len(cells) == 4  # the null cell is blank
    assert cells[2][:4] == [2, 0, 0.25, "25%"]
    assert cells[2][6] == "25.0%"
    money = charts.heatmap(
        frame.with_columns(pl.col("retention_pct") * 2_500_000), "months_since", "cohort",
        "retention_pct", "kes", "Net sales",
    )  # fmt: skip
    assert money.option["series"][0]["data"][0][3] == "2.5M"
    assert money.option["series"][0]["data"][0][6] == "KES 2,500,000"


def test_heatmap_marks_partial_cells_and_says_why() -> None:
    frame = pl.DataFrame(
        {
            "months_since": [0, 1, 0],
            "cohort": ["2025-01", "2025-01", "2025-02"],
            "retention_pct": [1.0, 0.1, 1.0],
        }
    )
    chart = charts.heatmap(
        frame, "months_since", "cohort", "retention_pct", "pct", "Retention",
        partial=[("1", "2025-01"), ("0", "2025-02")], partial_note="still filling",
    )  # fmt: skip
    first, *marked = chart.option["series"][0]["data"]
    assert first[7] == ""  # a whole month: a plain cell
    assert [cell["value"][4:6] for cell in marked] == [["1", "2025-01"], ["0", "2025-02"]]
    assert all(cell["itemStyle"]["borderType"] == "dashed" for cell in marked)
    assert all(cell["value"][7] == " (still filling)" for cell in marked)
    assert chart.option["tooltip"]["formatter"].endswith("{@[6]}{@[7]}")


def test_heatmap_prints_values_only_while_the_columns_leave_room() -> None:
    months = [f"{2023 + i // 12}-{i % 12 + 1:02}" for i in range(37)]  # Branches' 37 columns
    frame = pl.DataFrame(
        {
            "month": months * 2,
            "branch": ["Thika"] * 37 + ["Kisumu"] * 37,
            "net_sales": [float(i) for i in range(74)],
        }
    )
    crowded = charts.heatmap(frame, "month", "branch", "net_sales", "kes", "Net sales")
    assert crowded.option["series"][0]["label"]["show"] is False
    assert "axisLabel" not in crowded.option["xAxis"]  # ECharts picks every few months
    key = crowded.option["visualMap"]
    assert key["show"] is True and key["text"] == ["73", "0"]  # the colours' key instead
    assert crowded.option["grid"]["top"] > 10  # room for it

    few = charts.heatmap(frame.filter(pl.col("month") < "2023-10"), "month", "branch",
                         "net_sales", "kes", "Net sales")  # fmt: skip
    assert few.option["series"][0]["label"]["show"] is True
    assert few.option["visualMap"]["show"] is False


def test_heatmap_shows_every_long_column_name() -> None:
    lines = ["Beverages", "Building Materials", "Cooking Oil & Fats", "Dairy", "Electronics",
             "Flour & Grains", "Household Cleaning", "Personal Care", "Stationery"]  # fmt: skip
    mix = pl.DataFrame(
        {"product_line": lines, "branch": ["Thika"] * 9, "share_of_branch": [0.1] * 9}
    )
    chart = charts.heatmap(mix, "product_line", "branch", "share_of_branch", "pct", "Share",
                           x_label="Product line")  # fmt: skip
    axis = chart.option["xAxis"]
    assert axis["data"] == lines
    label = axis["axisLabel"]
    assert label["interval"] == 0  # not ECharts' automatic every other name
    assert label["overflow"] == "break" and label["width"] * 9 <= charts.HEATMAP_WIDTH
    assert len("Cooking Oil & Fats") * charts.CHAR_WIDTH > label["width"]  # so it breaks...
    assert axis["nameGap"] > 30  # ...and the axis name moves below its second line
    assert "{@[4]}" in chart.option["tooltip"]["formatter"]  # the full name in the tooltip
    assert chart.option["series"][0]["label"]["show"] is True


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (950.0, "950"),
        (12_340.0, "12.3k"),
        (-2.5e9, "-2.5B"),
        # Rounding to three digits reaches the next unit: never "1e+03" or "1e+03k".
        (999.99, "1k"),
        (-999.7, "-1k"),
        (999_999.0, "1M"),
        (999.4, "999"),
    ],
)
def test_compact_numbers(value: float | None, text: str) -> None:
    assert fmt.compact(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "–"),
        (950.0, "KES 950"),
        (870_000.0, "KES 870.0K"),
        (94_123_456.0, "KES 94.1M"),
        (-1_250.0, "KES -1.2K"),
        # One decimal of a unit that rounds up to a thousand is the next unit.
        (999_960.0, "KES 1.0M"),
        (999.96, "KES 1.0K"),
        (999_940.0, "KES 999.9K"),
    ],
)
def test_kes_in_tiles(value: float | None, text: str) -> None:
    assert fmt.kes_compact(value) == text


def test_treemap_lines_hold_their_products_and_leave_out_losses() -> None:
    products = pl.DataFrame(
        {
            "product_id": ["P1", "P2", "P3", "P4"],
            "product_name": ["Milk", "Ghee", "Nails", "Glue"],
            "product_line": ["Dairy", "Dairy", "Hardware", "Hardware"],
            "net_sales": [300.0, 100.0, 500.0, -20.0],
        }
    )
    chart = charts.line_product_treemap(products, {"Dairy": "#eeeeee"})
    lines = chart.option["series"][0]["data"]
    assert [line["name"] for line in lines] == ["Hardware", "Dairy"]  # biggest first
    assert [line["value"][0] for line in lines] == [500.0, 400.0]
    assert [child["name"] for child in lines[1]["children"]] == ["Milk (P1)", "Ghee (P2)"]
    assert lines[1]["itemStyle"]["color"] == "#eeeeee"
    assert lines[0]["itemStyle"]["color"] == "#dddddd"  # a line without a colour


def test_trend_comparison_is_aligned_by_bucket_position() -> None:
    current = pl.DataFrame(
        {
            "period": [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)],
            "net_sales": [1.0, 2.0, 3.0],
        }
    )
    previous = pl.DataFrame(
        {"period": [date(2024, 1, 1), date(2024, 2, 1)], "net_sales": [10.0, 20.0]}
    )
    chart = charts.trend_with_comparison(current, previous, "net_sales", "Net sales", grain="month")
    now, before = chart.option["series"]
    assert now["data"] == [["Jan 2025", 1.0], ["Feb 2025", 2.0], ["Mar 2025", 3.0]]
    assert before["data"] == [["Jan 2025", 10.0], ["Feb 2025", 20.0]]
    assert chart.option["xAxis"]["data"] == ["Jan 2025", "Feb 2025", "Mar 2025"]
    alone = charts.trend_with_comparison(current, None, "net_sales", "Net sales", grain="month")
    assert len(alone.option["series"]) == 1


@pytest.mark.parametrize(
    ("grain", "periods", "labels"),
    [
        # Buckets without sales keep their place on the axis.
        ("month", [date(2025, 1, 1), date(2025, 3, 1)], ["Jan 2025", "Feb 2025", "Mar 2025"]),
        ("quarter", [date(2024, 10, 1), date(2025, 4, 1)], ["2024 Q4", "2025 Q1", "2025 Q2"]),
        ("year", [date(2023, 1, 1), date(2025, 1, 1)], ["2023", "2024", "2025"]),
        ("week", [date(2025, 3, 3), date(2025, 3, 17)], ["2025-03-03", "2025-03-10", "2025-03-17"]),
        ("day", [date(2025, 3, 30), date(2025, 4, 1)], ["2025-03-30", "2025-03-31", "2025-04-01"]),
        # Months that are a quarter apart are still months, and one bucket is named
        # by its grain, never an hour.
        ("month", [date(2025, 1, 1), date(2025, 4, 1)], ["Jan 2025", "Feb 2025", "Mar 2025",
                                                         "Apr 2025"]),
        ("month", [date(2025, 3, 1)], ["Mar 2025"]),
        ("quarter", [date(2025, 1, 1)], ["2025 Q1"]),
    ],
)  # fmt: skip
def test_trend_buckets_are_labelled_by_their_grain(
    grain: str, periods: list[date], labels: list[str]
) -> None:
    frame = pl.DataFrame({"period": periods, "net_sales": [1.0] * len(periods)})
    chart = charts.trend_with_comparison(frame, None, "net_sales", "Net sales", grain=grain)
    assert chart.option["xAxis"] == {"type": "category", "data": labels}
    points = [p for p, _ in chart.option["series"][0]["data"]]
    assert points == ([labels[0], labels[-1]] if len(periods) > 1 else labels)


def test_weeks_that_start_on_the_first_of_a_month_are_weeks() -> None:
    # 1 January and 1 April 2024 are Mondays: from the dates alone they look like quarters.
    frame = pl.DataFrame({"period": [date(2024, 1, 1), date(2024, 4, 1)], "net_sales": [1.0, 2.0]})
    axis = charts.trend_with_comparison(frame, None, "net_sales", "Net sales", grain="week")
    labels = axis.option["xAxis"]["data"]
    assert len(labels) == 14 and labels[0] == "2024-01-01" and labels[-1] == "2024-04-01"


def test_one_bucket_is_a_visible_point_with_its_comparison() -> None:
    one = pl.DataFrame({"period": [date(2025, 3, 1)], "net_sales": [5.0]})
    chart = charts.trend_with_comparison(one, one, "net_sales", "Net sales", grain="month")
    now, before = chart.option["series"]
    assert now["showSymbol"] and before["showSymbol"]
    assert now["symbolSize"] > 4 and before["symbolSize"] > 4  # larger than ECharts' default
    trend = pl.DataFrame({"period": [date(2025, 3, 1)], "branch": ["Thika"], "net_sales": [5.0]})
    assert charts.member_lines(trend, "branch", "net_sales", "Net sales", grain="month").option[
        "xAxis"
    ]["data"] == ["Mar 2025"]


def branch_trend(branches: list[str]) -> pl.DataFrame:
    months = [date(2025, m, 1) for m in range(1, 7)]
    return pl.DataFrame(
        {
            "period": months * len(branches),
            "branch": [b for b in branches for _ in months],
            "net_sales": [1_000.0] * (len(months) * len(branches)),
        }
    )


def test_partial_buckets_are_shaded_and_named_in_the_tooltip() -> None:
    trend = branch_trend(["Thika", "Kisumu"])
    partial = [date(2025, 1, 1), date(2025, 6, 1), date(2024, 12, 1)]  # the last is not drawn
    chart = charts.member_lines(
        trend, "branch", "net_sales", "Net sales", grain="month", partial=partial
    )
    *lines, shade = chart.option["series"]
    assert [s["name"] for s in lines] == ["Kisumu", "Thika"]
    assert chart.option["legend"]["data"] == ["Kisumu", "Thika"]  # the shade is no member
    bands = shade["markArea"]["data"]
    assert bands == [
        [{"name": "partial", "xAxis": "Jan 2025"}, {"xAxis": "Jan 2025"}],
        [{"name": "partial", "xAxis": "Jun 2025"}, {"xAxis": "Jun 2025"}],
    ]
    # The axis tooltip of those buckets, and only those, says so.
    assert shade["data"] == [["Jan 2025", "partial period"], ["Jun 2025", "partial period"]]
    # A band's edges sit on ticks, so every bucket needs one.
    assert chart.option["xAxis"]["axisTick"] == {"interval": 0}

    total = trend.group_by("period").agg(pl.col("net_sales").sum()).sort("period")
    overview = charts.trend_with_comparison(
        total, total, "net_sales", "Net sales", grain="month", partial=[date(2025, 6, 1)]
    )
    *_, shade = overview.option["series"]
    assert shade["markArea"]["data"] == [
        [{"name": "partial", "xAxis": "Jun 2025"}, {"xAxis": "Jun 2025"}]
    ]
    assert overview.option["legend"]["data"] == ["Net sales", "Net sales (comparison)"]


def test_without_partial_buckets_nothing_is_shaded() -> None:
    trend = branch_trend(["Thika"])
    chart = charts.member_lines(trend, "branch", "net_sales", "Net sales", grain="month")
    assert [s["type"] for s in chart.option["series"]] == ["line"]
    assert "markArea" not in str(chart.option) and "axisTick" not in chart.option["xAxis"]
    outside = charts.member_lines(
        trend, "branch", "net_sales", "Net sales", grain="month", partial=[date(2026, 1, 1)]
    )
    assert len(outside.option["series"]) == 1


def test_a_legend_of_up_to_twelve_members_lists_them_all() -> None:
    seven = [f"Branch {i}" for i in range(7)]
    chart = charts.member_lines(
        branch_trend(seven), "branch", "net_sales", "Net sales", grain="month"
    )
    legend = chart.option["legend"]
    assert legend["type"] == "plain" and legend["data"] == seven  # wraps, never pages
    # Its rows are below the plot: two rows of seven names at the narrowest width.
    assert chart.option["grid"]["bottom"] == 10 + 2 * charts.LEGEND_ROW
    assert chart.height == charts.HEIGHT + charts.LEGEND_ROW
    many = [f"Rep {i:02}" for i in range(13)]
    crowded = charts.member_lines(
        branch_trend(many), "branch", "net_sales", "Net sales", grain="month"
    )
    assert crowded.option["legend"]["type"] == "scroll"
    assert crowded.height == charts.HEIGHT


def test_value_axes_label_every_split() -> None:
    trend = branch_trend(["Thika"])
    made = [
        charts.leaderboard_bar(reps(), "salesperson", "net_sales", "Net sales"),
        charts.profit_map(reps(), "salesperson"),
        charts.member_lines(trend, "branch", "net_sales", "Net sales", grain="month"),
        charts.trend_with_comparison(trend, None, "net_sales", "Net sales", grain="month"),
    ]
    axes = [
        axis
        for chart in made
        for axis in (chart.option["xAxis"], chart.option["yAxis"])
        if axis["type"] == "value"
    ]
    assert len(axes) == 5
    for axis in axes:
        assert axis["axisLabel"]["hideOverlap"] is False
        assert axis["splitNumber"] < 5  # fewer than ECharts' default, so they fit
    percent = charts.profit_map(reps(), "salesperson").option["yAxis"]["axisLabel"]
    assert percent == {"hideOverlap": False, "formatter": "{value}%"}


def test_pareto_runs_from_the_best_product_to_all_of_them() -> None:
    products = pl.DataFrame(
        {
            "product_id": ["P1", "P2", "P3", "P4"],
            "product_name": ["a", "b", "c", "d"],
            "cumulative_share": [0.5, 0.8, 0.95, 1.0],
        }
    )
    points = charts.pareto(products).option["series"][0]["data"]
    assert [p[:2] for p in points] == [[25.0, 50.0], [50.0, 80.0], [75.0, 95.0], [100.0, 100.0]]
    assert points[1][2:] == ["b (P2)", "50%", "80.0%"]


def test_drawn_without_the_entry_animation() -> None:
    chart = charts.abc_bars(
        pl.DataFrame({"abc_class": ["A"], "share_of_net_sales": [1.0], "products": [3]})
    )
    assert chart.spec["animation"] is False
    assert chart.spec["series"] == chart.option["series"]


def test_a_leaderboard_cut_at_its_top_says_of_how_many() -> None:
    frame = pl.DataFrame({"rep": [f"R{i:02d}" for i in range(20)],
                          "net_sales": [float(100 - i) for i in range(20)]})  # fmt: skip
    cut = charts.leaderboard_bar(frame, "rep", "net_sales", "Net sales", top=15)
    assert cut.option["title"]["text"] == "Top 15 of 20"
    assert len(cut.members) == 15
    whole = charts.leaderboard_bar(frame.head(15), "rep", "net_sales", "Net sales", top=15)
    assert "title" not in whole.option


def test_segment_tiles_print_in_the_colour_that_reads_best_on_them() -> None:
    assert charts.text_colour_on("#ffffff") == "#1a1a1a"
    assert charts.text_colour_on("#fee08b") == "#1a1a1a"  # Needs attention: pale yellow
    assert charts.text_colour_on("#d73027") == "#ffffff"  # Cannot lose them: deep red
    assert charts.text_colour_on("#000000") == "#ffffff"
    summary = pl.DataFrame(
        {
            "segment": ["Needs attention", "Cannot lose them"],
            "customers": [10, 5],
            "monetary": [1000.0, 500.0],
            "share_of_net_sales": [0.6, 0.4],
        }
    )
    tiles = charts.segment_map(summary).option["series"][0]["data"]
    assert [t["label"]["color"] for t in tiles] == ["#1a1a1a", "#ffffff"]


def test_forecast_band_joins_history_and_stacks_each_band_on_its_low_edge() -> None:
    from datetime import date

    from ui.charts.forecast import forecast_band

    recent = pl.DataFrame(
        {
            "branch": ["All branches"] * 2,
            "period": [date(2026, 10, 30), date(2026, 10, 31)],
            "net_sales": [900.0, 1000.0],
        }
    )
    daily = pl.DataFrame(
        {
            "branch": ["All branches"] * 2,
            "period": [date(2026, 11, 1), date(2026, 11, 2)],
            "forecast": [1100.0, 1200.0],
            "lo_80": [1000.0, 1050.0],
            "hi_80": [1200.0, 1350.0],
            "lo_95": [950.0, 1000.0],
            "hi_95": [1300.0, 1450.0],
        }
    )
    series = {s["name"]: s for s in forecast_band(recent, daily, "All branches").option["series"]}
    assert series["Net sales"]["data"] == [["2026-10-30", 900.0], ["2026-10-31", 1000.0]]
    # The forecast line starts on the last known day, then the forecast days.
    assert series["Forecast"]["data"] == [
        ["2026-10-31", 1000.0],
        ["2026-11-01", 1100.0],
        ["2026-11-02", 1200.0],
    ]
    # A band is its low edge plus the width stacked on it: the top is the high end.
    assert series["80% low"]["data"] == [["2026-11-01", 1000.0], ["2026-11-02", 1050.0]]
    assert series["80%"]["data"] == [["2026-11-01", 200.0], ["2026-11-02", 300.0]]
    assert series["80%"]["stack"] == series["80% low"]["stack"] != series["95%"]["stack"]


def test_pipeline_charts_order_stages_and_pick_the_member_clicked() -> None:
    from ui.charts import pipeline as pipeline_charts

    funnel = pl.DataFrame(
        {
            "stage": ["Qualification", "Proposal", "Won"],
            "entered": [7, 4, 3],
            "reached_next": [4, 3, None],
            "conversion_pct": [4 / 7, 0.75, None],
        }
    )
    drawn = pipeline_charts.funnel(funnel).option
    assert drawn["yAxis"]["data"] == ["Qualification", "Proposal", "Won"]
    assert [d["value"][0] for d in drawn["series"][0]["data"]] == [7, 4, 3]
    board = pl.DataFrame(
        {
            "salesperson": ["Amina", "<b>Brian</b>"],
            "won_amount": [150_000.0, 30_000.0],
            "lost_amount": [0.0, 80_000.0],
            "win_rate": [2 / 3, 0.5],
        }
    )
    chart = pipeline_charts.won_and_lost(board, "salesperson")
    won, lost = chart.option["series"]
    assert [d["value"][0] for d in won["data"]] == [150_000.0, 30_000.0]
    assert [d["value"][0] for d in lost["data"]] == [0.0, 80_000.0]
    assert "<b>" not in chart.option["tooltip"]["formatter"]  # names travel as data
    assert chart.member_at({"selected": [{"series_index": 0, "data_indices": [1]}]}) == (
        "<b>Brian</b>"
    )
