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
        charts.member_lines(trend, "salesperson", "net_sales", "Net sales"),
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
    chart = charts.trend_with_comparison(current, previous, "net_sales", "Net sales")
    now, before = chart.option["series"]
    assert now["data"] == [["2025-01-01", 1.0], ["2025-02-01", 2.0], ["2025-03-01", 3.0]]
    assert before["data"] == [["2025-01-01", 10.0], ["2025-02-01", 20.0]]
    alone = charts.trend_with_comparison(current, None, "net_sales", "Net sales")
    assert len(alone.option["series"]) == 1


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
