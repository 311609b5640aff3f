"""A corpus of hostile sales files, built in a temporary directory when tests run.

Each `Case` names a file, builds it (nothing big is committed: the 1M-line
file and the oversized file are made on the fly, the latter sparse), and says
what ingest must do with it: `Load` it correctly, `Reject` it with the exact
(row, column, rule) of its bad cells, or `Refuse` it whole with a reason.
Never a traceback, never a partial write.
"""

# CSV rows stay whole on one line each, so they read like the file:
# ruff: noqa: E501

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import openpyxl
import polars as pl
import xlsxwriter

from core.store import Scope, Window
from core.stores.embedded import EmbeddedStore
from ingest.pipeline import MAX_FILE_BYTES
from ingest.sample import generate_sales

HEADER = (
    "Invoice No,Date,Branch Name,Sales Rep,Customer Code,Customer,SKU,Item Name,Category,"
    "Qty,Price (KES),Cost,Discount,Payment Mode"
)
ROWS = (
    'INV-1,31/01/2024 23:30,Nairobi CBD,Wanjiku Kamau,C1,Baraka Ltd,BEV-1,Soda 500ml,Beverages,2,"1,000.00",800,0,M-Pesa',
    "INV-1,31/01/2024 23:30,Nairobi CBD,Wanjiku Kamau,C1,Baraka Ltd,BEV-2,Juice 1L,Beverages,1,150,100,10,M-Pesa",
    "INV-2,01/02/2024 00:30,Mombasa,Fatuma Hassan,,,FLR-1,Maize Flour 2kg,Flour & Grains,-1,200,150,,Cash",
)  # fmt: skip
GOOD = HEADER + "\n" + "\n".join(ROWS) + "\n"  # rows 2, 3 and 4 of the file
EXTRA = "INV-3,02/02/2024,Kisumu,Achieng Atieno,C2,Jua Kali,BEV-1,Soda,Beverages,{qty},{price},40,0,Cash"


@dataclass(frozen=True)
class Load:
    """Loads: `rows` lines more in the store; `note` among the notes; `check` more."""

    rows: int
    note: str | None = None
    check: Callable[[EmbeddedStore], None] | None = None


@dataclass(frozen=True)
class Reject:
    """Fails validation: each (row, column, rule fragment) is among the failures."""

    failures: tuple[tuple[int, str, str], ...]


@dataclass(frozen=True)
class Refuse:
    """Cannot be ingested at all; the reason contains `message`."""

    message: str


@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    build: Callable[[Path], None]
    expect: Load | Reject | Refuse
    slow: bool = False
    marks: tuple[str, ...] = field(default=())


def _text(text: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return lambda path: path.write_bytes(text.encode(encoding))


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def _good_with(old: str, new: str, count: int = 1) -> Callable[[Path], None]:
    assert old in GOOD, old
    return _text(GOOD.replace(old, new, count))


def _rows() -> list[list[str]]:
    return list(csv.reader(io.StringIO(GOOD)))


def _mixed_encodings(path: Path) -> None:
    utf8 = GOOD.replace("Baraka Ltd", "Café Baraka").encode("utf-8")
    cp1252 = EXTRA.format(qty=1, price=50).replace("Jua Kali", "Café Jua").encode("cp1252")
    path.write_bytes(utf8 + cp1252 + b"\n")


def _random_bytes(nul: bool) -> Callable[[Path], None]:
    low = 0 if nul else 1
    rng = random.Random(8)
    return _bytes(bytes(rng.randint(low, 255) for _ in range(20_000)))


def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> None:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)


def _several_sheets(path: Path) -> None:
    summary = [["Branch", "Total"], ["Nairobi CBD", 2140]]
    _workbook(path, {"Summary": summary, "Sales": _rows(), "Notes": []})


def _merged_title(path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Sales export, January 2024"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=14)
    for row in _rows():
        sheet.append(row)
    book.save(path)


def _merged_header(path: Path) -> None:
    # "Price (KES)" spans two cells; the second column under it holds a currency code.
    book = openpyxl.Workbook()
    sheet = book.active
    rows = _rows()
    sheet.append([*rows[0][:11], None, *rows[0][11:]])
    sheet.merge_cells(start_row=1, start_column=11, end_row=1, end_column=12)
    for row in rows[1:]:
        sheet.append([*row[:11], "KES", *row[11:]])
    book.save(path)


def _formulas(cached: bool) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        rows = _rows()
        if not cached:  # openpyxl stores the formula only, as a script would
            body = [[f"=1*{v}" if j == 9 else v for j, v in enumerate(r)] for r in rows[1:]]
            _workbook(path, {"Sales": [rows[0], *body]})
            return
        book = xlsxwriter.Workbook(str(path))  # as Excel saves: formula and its value
        sheet = book.add_worksheet("Sales")
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                if i and j == 9:
                    sheet.write_formula(i, j, f"=1*{value}", None, float(value))
                else:
                    sheet.write_string(i, j, value)
        book.close()

    return build


def _truncated_parquet(path: Path) -> None:
    """A real Parquet export cut off mid-file, as a failed download leaves it."""
    frame = pl.read_csv(io.StringIO(GOOD), infer_schema=False)
    whole = io.BytesIO()
    frame.write_parquet(whole)
    path.write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])


def _oversized(path: Path) -> None:
    # Sparse: one byte over the limit costs no disk and no memory.
    with open(path, "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)


# The bad cell's 0-based index in the 1M-line file, near its end.
MILLION_BAD_INDEX = 999_990


def _million_lines(path: Path) -> None:
    lines = generate_sales(1_000_000, seed=9, end=date(2026, 6, 30))
    bad = pl.int_range(pl.len()) == MILLION_BAD_INDEX
    lines.with_columns(
        quantity=pl.when(bad).then(pl.lit("lots")).otherwise(pl.col("quantity").cast(pl.String))
    ).write_csv(path)


def _dates_read_day_first(store: EmbeddedStore) -> None:
    # 03/04/2024 is the 3rd of April and 05/06/2024 the 5th of June (Kenyan usage).
    assert store.count_lines(Scope(), Window(date(2024, 4, 3), date(2024, 4, 3))) == 2
    assert store.count_lines(Scope(), Window(date(2024, 6, 5), date(2024, 6, 5))) == 1


def _names_kept_as_text(store: EmbeddedStore) -> None:
    names = store.distinct_values("customer_name", Scope())
    assert "<script>alert('x')</script><b>Baraka</b>" in names, names


CASES: tuple[Case, ...] = (
    Case("empty", "empty.csv", _bytes(b""), Refuse("the file is empty")),
    Case("blank-lines-only", "blank.csv", _bytes(b"\n \n\t\n"), Refuse("the file is empty")),
    Case("header-only", "header.csv", _text(HEADER + "\n"), Refuse("header but no data rows")),
    Case("binary-with-nul", "junk.csv", _random_bytes(nul=True), Refuse("looks binary")),
    Case("binary-without-nul", "junk2.csv", _random_bytes(nul=False), Refuse("looks binary")),
    Case("png-named-csv", "photo.csv", _bytes(b"\x89PNG\r\n\x1a\n" + bytes(200)),
         Refuse("looks binary")),
    Case("wrong-delimiter", "hash.csv", _text(GOOD.replace(",", "#")),
         Refuse("required column(s) not found: invoice_id, sold_at")),
    Case("mixed-encodings", "mixed.csv", _mixed_encodings,
         Refuse("mixes text encodings: line 5 is not UTF-8")),
    Case("missing-required-columns", "missing.csv",
         _text(GOOD.replace("Category", "Colour").replace("Cost", "Notes")),
         Refuse("required column(s) not found: product_line, unit_cost")),
    Case("duplicate-columns", "dup.csv",
         _text("\n".join(f"{line},{5 if i else 'Qty'}" for i, line in
                         enumerate(GOOD.splitlines())) + "\n"),
         Refuse("the header 'Qty' appears more than once")),
    Case("ragged-row", "ragged.csv", _text(GOOD + EXTRA.format(qty=1, price=50) + ",x,y\n"),
         Refuse("row 5 has 16 fields, the header has 14")),
    Case("unterminated-quote", "quote.csv", _good_with("INV-2,", 'INV-2,"'),
         Refuse("the CSV could not be parsed")),
    Case("text-in-number-column", "text.csv", _text(GOOD + EXTRA.format(qty="ten", price=50)),
         Reject(((5, "quantity", "must be a number"),))),
    Case("formula-in-number-column", "formula.csv",
         _text(GOOD + EXTRA.format(qty="=1+1", price=50)),
         Reject(((5, "quantity", "must be a number"),))),
    Case("negative-price", "negative.csv", _text(GOOD + EXTRA.format(qty=1, price=-50)),
         Reject(((5, "unit_price", "must be 0 or more"),))),
    Case("discount-above-line-value", "discount.csv", _good_with(",150,100,10,", ",150,100,151,"),
         Reject(((3, "discount", "must not exceed the line value"),))),
    Case("quantity-zero", "zero.csv", _good_with(",-1,200,", ",0,200,"),
         Reject(((4, "quantity", "must not be 0"),))),
    Case("nan-quantity", "nan.csv", _good_with(",-1,200,", ",NaN,200,"),
         Reject(((4, "quantity", "must be a number"),))),
    Case("infinite-price", "inf.csv", _good_with(",-1,200,", ",-1,1e400,"),
         Reject(((4, "unit_price", "must be a finite number"),))),
    Case("blank-required-cell", "blank-branch.csv", _good_with(",Mombasa,", ",  ,"),
         Reject(((4, "branch", "is required"),))),
    Case("future-date", "future.csv", _good_with("01/02/2024 00:30", "01/02/2099 00:30"),
         Reject(((4, "sold_at", "must not be in the future"),))),
    Case("impossible-date", "feb31.csv", _good_with("01/02/2024 00:30", "31/02/2024 00:30"),
         Reject(((4, "sold_at", "must be a date"),))),
    Case("ambiguous-day-month", "ambiguous.csv",
         _text(GOOD.replace("31/01/2024 23:30", "03/04/2024 10:00")
               .replace("01/02/2024 00:30", "05/06/2024 10:00")),
         Load(3, note="reads both ways", check=_dates_read_day_first)),
    Case("duplicated-lines-with-line-numbers", "dup-lines.csv",
         _text("Line," + HEADER + "\n" + f"1,{ROWS[1]}\n" + f"1,{ROWS[1]}\n"),
         Reject(((2, "line_no", "duplicate (invoice_id, line_no)"),
                 (3, "line_no", "duplicate (invoice_id, line_no)")))),
    # Without line numbers a repeated row is the next line of its invoice (docs/contract.md:
    # line_no defaults to the position): both load, and loading again doubles nothing.
    Case("duplicated-lines-without-line-numbers", "repeat.csv", _text(GOOD + ROWS[2] + "\n"),
         Load(4)),
    Case("very-long-string", "long.csv", _good_with("Baraka Ltd", "B" * 100_000),
         Reject(((2, "customer_name", "must be at most"),))),
    Case("html-and-script-in-names", "html.csv",
         _good_with("Baraka Ltd", "<script>alert('x')</script><b>Baraka</b>", 2),
         Load(3, check=_names_kept_as_text)),
    Case("cr-only-line-ends", "mac.csv", _text(GOOD.replace("\n", "\r")), Load(3)),
    Case("excel-several-sheets", "sheets.xlsx", _several_sheets,
         Load(3, note="read sheet 'Sales'; ignored other sheets with data: Summary")),
    Case("excel-merged-title-row", "title.xlsx", _merged_title,
         Refuse("required column(s) not found")),
    Case("excel-merged-header-cells", "merged.xlsx", _merged_header, Load(3)),
    Case("excel-formulas-with-values", "formulas.xlsx", _formulas(cached=True), Load(3)),
    Case("excel-formulas-without-values", "raw-formulas.xlsx", _formulas(cached=False),
         Reject(((2, "quantity", "is required"), (4, "quantity", "is required")))),
    Case("corrupt-excel", "broken.xlsx", _bytes(b"PK\x03\x04" + bytes(range(256)) * 4),
         Refuse("the Excel file could not be read")),
    Case("csv-named-xlsx", "export.xlsx", _text(GOOD), Refuse("the Excel file could not be read")),
    Case("csv-named-parquet", "export.parquet", _text(GOOD),
         Refuse("the Parquet file could not be read")),
    Case("truncated-parquet", "cut.parquet", _truncated_parquet,
         Refuse("the Parquet file could not be read")),
    Case("unsupported-type", "report.pdf", _bytes(b"%PDF-1.4\n"), Refuse("unsupported file type")),
    Case("over-size-limit", "huge.csv", _oversized, Refuse("the limit is 200 MB")),
    Case("million-lines-one-bad-row", "million.csv", _million_lines,
         Reject(((MILLION_BAD_INDEX + 2, "quantity", "must be a number"),)), slow=True),
)  # fmt: skip
