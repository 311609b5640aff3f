"""Download and export files: CSV for scripts (money to the cent), Excel for people."""

from __future__ import annotations

import io
import json
from datetime import date

import openpyxl
import polars as pl
import pytest

from core.exports import (
    COLUMNS_SHEET,
    EXCEL_FORMATS,
    column_doc,
    column_label,
    column_unit,
    round_money,
    to_csv_bytes,
    to_excel_bytes,
    to_json_text,
)

HOSTILE = ["=SUM(A1:A9)", "+1", "-2", "@SUM(A1)", "Kibet Rotich"]


def sales() -> pl.DataFrame:
    """A salespeople-like table: float-noisy money, exact ratios, counts, dates, names."""
    return pl.DataFrame(
        {
            "salesperson": HOSTILE,
            "net_sales": [24065676.23999999, 0.125, -0.125, 10.0, None],
            "aov": [13929.34726775956, 1.0049, 2.0, 3.0, 4.0],
            "net_sales_prev": [1931117.4600000002, 1.0, 2.0, 3.0, 4.0],
            "gross_margin_pct": [0.13001728022003942, None, -0.5, 1.0, 0.0],
            "growth_pct": [0.31999767119292677, -0.25, None, 0.0, 2.5],
            "orders": [183, 1, 2, 3, 4],
            "units": [3665.0, 1.0, 2.0, 3.0, 4.0],
            "upt": [20.027322404371585, 1.0, 2.0, 3.0, 4.0],
            "rank_change": [1, -1, 0, None, 3],
            "last_sale": [date(2026, 6, 30)] * 5,
        }
    )


def read_csv(data: bytes) -> pl.DataFrame:
    return pl.read_csv(io.BytesIO(data), infer_schema_length=None)


def test_csv_rounds_money_to_the_cent_and_keeps_ratios_exact() -> None:
    frame = sales()
    text = to_csv_bytes(frame).decode()
    assert "24065676.24," in text and "23999999" not in text
    back = read_csv(text.encode())
    assert back["net_sales"].to_list() == [24065676.24, 0.13, -0.13, 10.0, None]
    assert back["aov"][0] == 13929.35 and back["aov"][1] == 1.0
    assert back["net_sales_prev"][0] == 1931117.46
    # Ratios, growth and other numbers are written exactly.
    assert back["gross_margin_pct"].to_list() == frame["gross_margin_pct"].to_list()
    assert back["growth_pct"].to_list() == frame["growth_pct"].to_list()
    assert back["upt"].to_list() == frame["upt"].to_list()
    assert back["orders"].to_list() == frame["orders"].to_list()
    assert back["rank_change"].to_list() == frame["rank_change"].to_list()


def test_csv_of_cells_as_they_are() -> None:
    frame = pl.DataFrame({"discount": [0.333], "row": [2]})
    assert read_csv(to_csv_bytes(frame, money_to_cents=False)).equals(frame)
    assert read_csv(to_csv_bytes(frame))["discount"].to_list() == [0.33]


def test_csv_headers_stay_snake_case_and_dates_iso() -> None:
    header, first = to_csv_bytes(sales()).decode().splitlines()[:2]
    assert header.split(",") == sales().columns
    assert first.endswith(",2026-06-30")


def test_csv_still_neutralises_formulas() -> None:
    back = read_csv(to_csv_bytes(sales()))
    assert back["salesperson"].to_list() == [
        "'=SUM(A1:A9)",
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "Kibet Rotich",
    ]


def test_json_rounds_money_like_the_csv() -> None:
    rows = json.loads(to_json_text(sales()))
    assert rows[0]["net_sales"] == 24065676.24
    assert rows[0]["gross_margin_pct"] == 0.13001728022003942
    assert rows[0]["last_sale"] == "2026-06-30"
    assert rows[4]["net_sales"] is None


def test_round_money_leaves_integer_money_and_other_columns_alone() -> None:
    frame = pl.DataFrame({"monetary": [1, 2], "cumulative_share": [1 / 3, 2 / 3]})
    assert round_money(frame).equals(frame)


@pytest.mark.parametrize(
    ("column", "dtype", "unit"),
    [
        ("net_sales", pl.Float64, "kes"),
        ("cogs_prev", pl.Float64, "kes"),
        ("avg_selling_price", pl.Float64, "kes"),
        ("monetary", pl.Float64, "kes"),
        ("gross_margin_pct", pl.Float64, "pct"),
        ("gross_margin_pct_prev", pl.Float64, "pct"),
        ("discount_rate", pl.Float64, "pct"),
        ("share_of_net_sales", pl.Float64, "pct"),
        ("share_of_branch", pl.Float64, "pct"),
        ("cumulative_share", pl.Float64, "pct"),
        ("retention_pct", pl.Float64, "pct"),
        ("top_pct", pl.Float64, "pct"),
        ("growth_pct", pl.Float64, "growth"),
        ("net_sales_growth_pct", pl.Float64, "growth"),
        ("rank_change", pl.Int64, "change"),
        ("units", pl.Float64, "count"),
        ("orders_prev", pl.Int64, "count"),
        ("rank", pl.Int64, "count"),
        ("upt", pl.Float64, "number"),
        ("fm_score", pl.Float64, "number"),
        ("period", pl.Date, "date"),
        ("abc_class", pl.String, "text"),
        ("slow_mover", pl.Boolean, "text"),
    ],
)
def test_column_units(column: str, dtype: pl.DataType, unit: str) -> None:
    assert column_unit(column, dtype) == unit


def test_labels_and_docs_of_comparison_columns() -> None:
    assert column_label("net_sales") == "Net sales"
    assert column_label("net_sales_prev") == "Net sales (comparison)"
    assert column_label("aov_growth_pct") == "AOV growth"
    assert column_label("rank_prev") == "Rank (comparison)"
    assert column_label("days_open") == "Days open"
    assert column_doc("cogs_prev") == "COGS in the comparison window."
    assert "cogs_prev" in (column_doc("cogs_growth_pct") or "")
    assert column_doc("no_such_column") is None


def workbook(frame: pl.DataFrame, sheet: str = "salespeople") -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(to_excel_bytes(frame, sheet=sheet)))


def test_excel_headers_are_labels_with_a_sheet_of_column_names() -> None:
    book = workbook(sales())
    assert book.sheetnames == ["salespeople", COLUMNS_SHEET]
    headers = [cell.value for cell in book["salespeople"][1]]
    assert headers == [column_label(c) for c in sales().columns]
    assert headers[:4] == ["Salesperson", "Net sales", "AOV", "Net sales (comparison)"]
    rows = [[cell.value for cell in row] for row in book[COLUMNS_SHEET].iter_rows()]
    assert rows[0] == ["Header", "Column (CSV)", "Meaning"]
    mapping = {header: (column, meaning) for header, column, meaning in rows[1:]}
    assert mapping["Net sales (comparison)"][0] == "net_sales_prev"
    assert mapping["Gross margin"] == ("gross_margin_pct", column_doc("gross_margin_pct"))


def test_excel_number_formats_by_unit_and_exact_values() -> None:
    frame = sales()
    sheet = workbook(frame)["salespeople"]
    header = {cell.value: cell.column_letter for cell in sheet[1]}

    def cell(column: str, row: int = 2) -> openpyxl.cell.Cell:
        return sheet[f"{header[column_label(column)]}{row}"]

    assert cell("net_sales").number_format == "#,##0.00"
    assert cell("net_sales_prev").number_format == "#,##0.00"
    assert cell("gross_margin_pct").number_format == "0.0%"
    assert cell("growth_pct").number_format == EXCEL_FORMATS["growth"]
    assert cell("rank_change").number_format == EXCEL_FORMATS["change"]
    assert cell("orders").number_format == "#,##0"
    assert cell("units").number_format == "#,##0"
    assert cell("upt").number_format == "#,##0.00"
    assert cell("last_sale").value.date() == date(2026, 6, 30)
    assert cell("last_sale").number_format == "yyyy-mm-dd"
    # Formats only change what is shown: the values are the table's, unrounded (to the
    # 16 significant digits xlsxwriter writes; Excel calculates with 15).
    assert cell("net_sales").value == 24065676.23999999
    assert cell("gross_margin_pct").value == pytest.approx(0.13001728022003942, rel=1e-15)
    assert cell("growth_pct", row=3).value == -0.25
    assert cell("gross_margin_pct", row=3).value is None
    assert cell("units").value == 3665


def test_excel_neutralises_formulas() -> None:
    sheet = workbook(sales())["salespeople"]
    names = [sheet[f"A{row}"].value for row in range(2, 7)]
    assert names[:4] == ["'=SUM(A1:A9)", "'+1", "'-2", "'@SUM(A1)"]
    assert all(sheet[f"A{row}"].data_type == "s" for row in range(2, 7))


def test_excel_headers_stay_unique() -> None:
    frame = pl.DataFrame({"product_name": ["Milk"], "customer_name": ["Duka"]})
    headers = [cell.value for cell in workbook(frame, "names")["names"][1]]
    assert headers == ["Name (product_name)", "Name (customer_name)"]
