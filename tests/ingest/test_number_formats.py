"""Numbers load as the file means them, whatever its delimiter and decimal mark.

Every case checks the stored net sales, not only that the load succeeded: a
price read ten times too big loads without an error, so only the number can
catch it.
"""

from __future__ import annotations

import getpass
import hashlib
import io
from pathlib import Path

import polars as pl
import pytest

from core.store import Scope
from core.stores.embedded import EmbeddedStore
from ingest import audit
from ingest.pipeline import AmbiguousNumberFormat, ingest_file
from tests.conftest import run_cli

HEADER = ["Invoice", "Date", "Branch", "Sales Rep", "SKU", "Category", "Qty", "Price", "Cost"]


def _csv(rows: list[tuple[str, str, str, str]], delimiter: str = ",") -> bytes:
    """A file of lines (qty, price, cost, invoice) with every other column fixed."""
    lines = [delimiter.join(HEADER)]
    for qty, price, cost, invoice in rows:
        cells = [invoice, "2024-03-01 10:00", "Nakuru", "Achieng", "SKU-1", "Oil", qty, price, cost]
        lines.append(delimiter.join(f'"{c}"' if delimiter in c else c for c in cells))
    return ("\n".join(lines) + "\n").encode()


def _net_and_cogs(store: EmbeddedStore) -> tuple[float, float]:
    totals = store.aggregate(Scope(), None, measures=("net_sales", "cogs")).row(0, named=True)
    return round(totals["net_sales"], 2), round(totals["cogs"], 2)


def _load(tmp_path: Path, data: bytes, name: str = "sales.csv", **kwargs: object) -> EmbeddedStore:
    store = EmbeddedStore(tmp_path / "sales")
    result = ingest_file(data, store, filename=name, **kwargs)  # type: ignore[arg-type]
    assert result.ok, result.prepared.failures
    return store


def test_semicolon_file_with_dot_decimals_is_not_read_as_thousands(tmp_path: Path) -> None:
    data = _csv([("2", "150.0", "100.5", "A"), ("1", "2.5", "1.25", "B")], ";")
    # 2 x 150 + 1 x 2.5 = 302.5; cogs 2 x 100.5 + 1.25 = 202.25
    assert _net_and_cogs(_load(tmp_path, data)) == (302.5, 202.25)


def test_comma_file_with_quoted_decimal_commas(tmp_path: Path) -> None:
    data = _csv([("2", "12,50", "10,25", "A"), ("1", "1.234,50", "1.000", "B")])
    # 2 x 12.5 + 1234.5 = 1259.5; cogs 20.5 + 1000 (1.000 is grouping in this column)
    assert _net_and_cogs(_load(tmp_path, data)) == (1259.5, 1020.5)


@pytest.mark.parametrize(
    ("price", "cost", "delimiter"),
    [
        (("1,234,567.89", "12,500"), ("1,000.00", "10,000.50"), ","),
        (("1.234.567,89", "12.500"), ("1.000,00", "10.000,50"), ";"),
    ],
    ids=["comma-grouping", "dot-grouping"],
)
def test_grouped_thousands_in_both_styles(
    tmp_path: Path, price: tuple[str, str], cost: tuple[str, str], delimiter: str
) -> None:
    data = _csv(
        [("1", price[0], cost[0], "A"), ("1", price[1], cost[1], "B")],
        delimiter,
    )
    assert _net_and_cogs(_load(tmp_path, data)) == (1_247_067.89, 11_000.5)


def test_currency_prefix_and_grouping(tmp_path: Path) -> None:
    data = _csv([("1", "KES 1,250.00", "Ksh 1,000", "A"), ("3", "KES 20", "KES 15.5", "B")])
    assert _net_and_cogs(_load(tmp_path, data)) == (1310.0, 1046.5)


def test_negative_return_with_decimal_comma(tmp_path: Path) -> None:
    data = _csv(
        [("1", "2.469,00", "2.000,00", "A"), ("-1", "1.234,50", "1.000,00", "B")],
        ";",
    )
    store = _load(tmp_path, data)
    assert _net_and_cogs(store) == (1234.5, 1000.0)


def test_a_negative_amount_written_with_a_decimal_comma(tmp_path: Path) -> None:
    # A return written as a negative quantity with a comma-decimal price and cost.
    data = _csv([("-1,5", "1.234,50", "1.000,00", "A"), ("2", "10,00", "5,00", "B")], ";")
    assert _net_and_cogs(_load(tmp_path, data)) == (-1831.75, -1490.0)


def test_ambiguous_column_stops_the_load_and_names_it(tmp_path: Path) -> None:
    data = _csv([("1", "1.500", "1.000", "A"), ("2", "2.250", "2.000", "B")])
    store = EmbeddedStore(tmp_path / "sales")
    with pytest.raises(AmbiguousNumberFormat) as raised:
        ingest_file(data, store, filename="sales.csv")
    assert raised.value.column == "unit_price"
    assert raised.value.examples == ("1.500", "2.250")
    assert "'unit_price'" in str(raised.value) and "--decimal" in str(raised.value)
    assert store.date_range(Scope()) is None  # nothing written


@pytest.mark.parametrize(("decimal", "expected"), [(".", (6.0, 5.0)), (",", (6000.0, 5000.0))])
def test_decimal_choice_settles_an_ambiguous_column(
    tmp_path: Path, decimal: str, expected: tuple[float, float]
) -> None:
    data = _csv([("1", "1.500", "1.000", "A"), ("2", "2.250", "2.000", "B")])
    store = _load(tmp_path, data, decimal=decimal)
    assert _net_and_cogs(store) == expected


def test_mixed_column_is_rejected_with_its_rows(tmp_path: Path) -> None:
    data = _csv(
        [
            ("1", "1,234.50", "1000", "A"),
            ("1", "99.90", "50", "B"),
            ("1", "12,50", "10", "C"),  # a decimal comma among dot decimals
            ("1", "1.234,50", "1000", "D"),  # and a dot-grouped one
        ]
    )
    store = EmbeddedStore(tmp_path / "sales")
    result = ingest_file(data, store, filename="mixed.csv")
    assert not result.ok
    failures = result.prepared.failures
    assert failures.select("row", "column", "value").rows() == [
        (4, "unit_price", "12,50"),
        (5, "unit_price", "1.234,50"),
    ]
    assert failures["rule"].str.contains("decimal mark").all()
    assert store.date_range(Scope()) is None


def test_excel_number_cells_are_taken_as_numbers(tmp_path: Path) -> None:
    # 1.125 written as a number cell reads the same in every locale: no guess, no question.
    frame = pl.DataFrame(
        {
            "Invoice": ["A", "B"],
            "Date": ["2024-03-01", "2024-03-02"],
            "Branch": ["Nakuru", "Nakuru"],
            "Sales Rep": ["Achieng", "Achieng"],
            "SKU": ["SKU-1", "SKU-2"],
            "Category": ["Oil", "Oil"],
            "Qty": [2, 1],
            "Price": [1.125, 1500.0],
            "Cost": [1.0, 1000.0],
        }
    )
    buffer = io.BytesIO()
    frame.write_excel(buffer)
    store = _load(tmp_path, buffer.getvalue(), "sales.xlsx")
    assert _net_and_cogs(store) == (1502.25, 1002.0)


def test_parquet_numbers_are_taken_as_numbers(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "invoice_id": ["A"],
            "sold_at": ["2024-03-01"],
            "branch": ["Nakuru"],
            "salesperson": ["Achieng"],
            "product_id": ["SKU-1"],
            "product_line": ["Oil"],
            "quantity": [3.0],
            "unit_price": [1.5],
            "unit_cost": [1.0],
        }
    )
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    assert _net_and_cogs(_load(tmp_path, buffer.getvalue(), "sales.parquet")) == (4.5, 3.0)


def test_cli_says_which_column_is_ambiguous_and_takes_decimal(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    path.write_bytes(_csv([("1", "1.500", "1.000", "A"), ("2", "2.250", "2.000", "B")]))
    data_dir = tmp_path / "data"
    refused = run_cli(["ingest", str(path)], data_dir)
    assert refused.returncode == 2
    reason = refused.stderr.strip().splitlines()[-1]
    assert "'unit_price'" in reason and "'1.500'" in reason and "--decimal" in reason
    loaded = run_cli(["ingest", str(path), "--decimal", ","], data_dir)
    assert loaded.returncode == 0, loaded.stderr
    assert _net_and_cogs(EmbeddedStore(data_dir / "sales")) == (6000.0, 5000.0)


def test_cli_loads_are_in_the_audit_history(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_bytes(_csv([("2", "150.0", "100", "A")]))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_csv([("0", "150.0", "100", "A")]))  # a quantity of 0 is refused
    data_dir = tmp_path / "data"
    assert run_cli(["ingest", str(good)], data_dir).returncode == 0
    assert run_cli(["ingest", str(bad)], data_dir).returncode == 1
    assert run_cli(["ingest", str(tmp_path / "missing.csv")], data_dir).returncode == 2
    history = audit.records(data_dir)
    assert history.select("file_name", "outcome", "source", "rows_accepted").rows() == [
        ("missing.csv", "failed", "cli", 0),
        ("bad.csv", "rejected", "cli", 0),
        ("good.csv", "loaded", "cli", 1),
    ]
    assert set(history["user"]) == {getpass.getuser()}
    assert history["sha256"][2] == hashlib.sha256(good.read_bytes()).hexdigest()
