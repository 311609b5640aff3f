"""Ingest end to end from real files: messy headers, encodings, Excel, bad rows."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from core.store import Scope, Window
from core.stores.embedded import EmbeddedStore
from ingest.pipeline import IngestError, ingest_file, prepare_file
from tests.conftest import run_cli

MESSY = (
    "Invoice No,Date,Branch Name,Sales Rep,Customer Code,Customer,SKU,Item Name,Category,"
    "Qty,Price (KES),Cost,Discount,Payment Mode\n"
    'INV-1,31/01/2024 23:30,Nairobi CBD,Wanjiku Kamau,C1,Baraka Ltd,BEV-1,Soda 500ml,Beverages,2,"1,000.00",800,0,M-Pesa\n'  # noqa: E501
    "INV-1,31/01/2024 23:30,Nairobi CBD,Wanjiku Kamau,C1,Baraka Ltd,BEV-2,Juice 1L,Beverages,1,150,100,10,M-Pesa\n"  # noqa: E501
    "INV-2,01/02/2024 00:30,Mombasa,Fatuma Hassan,,,FLR-1,Maize Flour 2kg,Flour & Grains,-1,200,150,,Cash\n"  # noqa: E501
)
# net: 2*1000 + 150-10 - 200 = 1940; cogs: 1600 + 100 - 150 = 1550


def _store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "sales")


def _totals(store: EmbeddedStore, window: Window | None = None) -> dict[str, float]:
    return store.aggregate(Scope(), window, measures=("net_sales", "cogs", "lines", "orders")).row(
        0, named=True
    )


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ","), ("utf-8-sig", ","), ("cp1252", ","), ("utf-8", ";")],
)
def test_messy_headers_and_encodings(tmp_path: Path, encoding: str, delimiter: str) -> None:
    text = MESSY.replace("Baraka Ltd", "Café Baraka")
    if delimiter == ";":
        text = text.replace('"1,000.00"', "1000,00").replace(",", ";").replace("1000;00", "1000,00")
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode(encoding))
    store = _store(tmp_path)
    result = ingest_file(path, store)
    assert result.ok, result.prepared.failures
    assert _totals(store) == {"net_sales": 1940.0, "cogs": 1550.0, "lines": 3, "orders": 2}
    names = store.aggregate(Scope(), None, by=("customer_name",), measures=("lines",))
    assert "Café Baraka" in names["customer_name"].to_list()


def test_business_day_is_nairobi_local(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(MESSY)
    store = _store(tmp_path)
    ingest_file(path, store)
    january = _totals(store, Window(date(2024, 1, 31), date(2024, 1, 31)))
    february = _totals(store, Window(date(2024, 2, 1), date(2024, 2, 1)))
    assert (january["lines"], february["lines"]) == (2, 1)


def test_excel_file(tmp_path: Path) -> None:
    frame = pl.read_csv(io.StringIO(MESSY), infer_schema=False)
    path = tmp_path / "export.xlsx"
    frame.write_excel(path)
    store = _store(tmp_path)
    result = ingest_file(path, store)
    assert result.ok, result.prepared.failures
    assert _totals(store)["net_sales"] == 1940.0


def test_missing_required_column_is_named(tmp_path: Path) -> None:
    text = MESSY.replace("Category", "Colour")
    with pytest.raises(IngestError, match=r"required column\(s\) not found: product_line"):
        prepare_file(text.encode(), "export.csv")


def test_explicit_mapping(tmp_path: Path) -> None:
    text = MESSY.replace("Category", "Colour")
    prepared = prepare_file(text.encode(), "export.csv", {"Colour": "product_line"})
    assert prepared.ok
    assert prepared.mapping.columns["product_line"] == "Colour"


def test_bad_row_writes_nothing_and_is_named(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(MESSY)
    store = _store(tmp_path)
    ingest_file(path, store)
    before = _totals(store)
    bad = (
        MESSY
        + "INV-3,02/02/2024,Kisumu,Achieng Atieno,C2,X,BEV-1,Soda,Beverages,ten,50,40,0,Cash\n"
    )
    bad_path = tmp_path / "bad.csv"
    bad_path.write_text(bad.replace("INV-1", "INV-9"))
    result = ingest_file(bad_path, store)
    assert not result.ok
    failure = result.prepared.failures.row(0, named=True)
    assert failure == {"row": 5, "column": "quantity", "value": "ten", "rule": "must be a number"}
    assert _totals(store) == before


def test_cli_rejects_bad_file_and_names_row(tmp_path: Path) -> None:
    bad = (
        MESSY + "INV-3,02/02/2024,Kisumu,Achieng Atieno,C2,X,BEV-1,Soda,Beverages,1,-50,40,0,Cash\n"
    )
    path = tmp_path / "bad.csv"
    path.write_text(bad)
    rejects = tmp_path / "rejects.csv"
    result = run_cli(["ingest", str(path), "--rejects", str(rejects)], tmp_path)
    assert result.returncode == 1
    assert "row 5: unit_price = '-50': must be 0 or more" in result.stderr
    assert "nothing was written" in result.stderr
    assert not (tmp_path / "sales").exists()
    written = pl.read_csv(rejects, infer_schema=False)
    assert written["row"].to_list() == ["5"]
    assert "unit_price: must be 0 or more" in written["problems"][0]


def test_cli_loads_and_reports(tmp_path: Path) -> None:
    path = tmp_path / "good.csv"
    path.write_text(MESSY)
    result = run_cli(["ingest", str(path)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "3 rows (3 new, 0 updated, 0 replaced), 2024-01-31 to 2024-02-01" in result.stdout
    again = run_cli(["ingest", str(path)], tmp_path)
    assert "(0 new, 3 updated" in again.stdout
    exported = run_cli(["core", "export", "overview", "--format", "json"], tmp_path)
    assert '"net_sales":1940.0' in exported.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"Invoice,Date,Branch\n", "no data rows"),
        (b"\x00\x01\x02binary", "looks binary"),
    ],
)
def test_unreadable_files(content: bytes, message: str) -> None:
    with pytest.raises(IngestError, match=message):
        prepare_file(content, "upload.csv")


def test_times_lost_or_repeated_at_a_clock_change_are_named(tmp_path: Path) -> None:
    """In a zone with summer time, 01:30 on 30 March 2025 never happened in London and
    01:30 on 26 October happened twice: each row is refused with the reason, nothing
    is written, and the same time with its offset is taken."""
    header = MESSY.splitlines()[0]
    line = "INV-{n},{when},Nairobi CBD,Wanjiku Kamau,C1,Baraka Ltd,BEV-1,Soda,Beverages,1,100,80,0,"
    rows = ["2025-03-30 00:30", "2025-03-30 01:30", "2025-10-26 01:30", "2025-13-01 10:00"]
    body = "\n".join([header, *(line.format(n=i, when=w) + "Cash" for i, w in enumerate(rows))])
    store = _store(tmp_path)
    result = ingest_file(body.encode(), store, filename="london.csv", timezone="Europe/London")
    assert not result.ok
    failures = result.prepared.failures.select("row", "column", "rule").rows()
    clock = "is skipped or repeated when clocks change in Europe/London"
    assert [(row, column) for row, column, _ in failures] == [
        (3, "sold_at"),
        (4, "sold_at"),
        (5, "sold_at"),
    ]
    assert [rule.startswith(clock) for _, _, rule in failures] == [True, True, False]
    assert store.date_range(Scope()) is None

    with_offsets = (
        body.replace("2025-03-30 01:30", "2025-03-30T01:30:00+00:00")
        .replace("2025-10-26 01:30", "2025-10-26T01:30:00+01:00")
        .replace("2025-13-01", "2025-12-01")
    )
    result = ingest_file(
        with_offsets.encode(), store, filename="london.csv", timezone="Europe/London"
    )
    assert result.ok, result.prepared.failures
    stored = store.aggregate(Scope(), None, by=("invoice_id",), measures=("lines",), latest=())
    assert stored.height == 4


@pytest.mark.parametrize(
    "written",
    [
        "2024-03-31T20:30:00Z",  # UTC as most systems write it
        "2024-03-31T20:30:00.000Z",
        "2024-03-31 20:30:00Z",
        "2024-03-31T20:30Z",
        "2024-03-31T20:30+00:00",
        "2024-03-31T23:30:00+03:00",
        "2024-03-31 23:30:00+0300",
        "2024-03-31T19:30:00-01:00",
    ],
)
def test_instants_with_a_zone_land_on_their_nairobi_day(tmp_path: Path, written: str) -> None:
    # 20:30 UTC on 31 March is 23:30 in Nairobi: still the 31st. 21:30 UTC is 1 April.
    header = "invoice_id,sold_at,branch,salesperson,product_id,product_line,quantity,unit_price,unit_cost\n"  # noqa: E501
    late = written.replace("20:30", "21:30").replace("23:30", "00:30").replace("19:30", "20:30")
    late = late.replace("2024-03-31T00:30", "2024-04-01T00:30").replace(
        "2024-03-31 00:30", "2024-04-01 00:30"
    )
    rows = f"A,{written},Nairobi,Amina,P1,Dairy,1,100,50\nB,{late},Nairobi,Amina,P1,Dairy,1,7,5\n"
    store = _store(tmp_path)
    result = ingest_file((header + rows).encode(), store, filename="utc.csv")
    assert result.ok, result.prepared.failures
    march = _totals(store, Window(date(2024, 3, 31), date(2024, 3, 31)))
    april = _totals(store, Window(date(2024, 4, 1), date(2024, 4, 1)))
    assert (march["net_sales"], april["net_sales"]) == (100.0, 7.0)
