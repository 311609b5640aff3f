"""What a file would rename, against a real embedded store: worked out by hand per case."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from core.stores.embedded import EmbeddedStore
from ingest.pipeline import ingest_file, prepare_file
from ingest.renames import renames

HEADER = (
    "invoice_id,sold_at,branch,salesperson,customer_id,customer_name,product_id,product_name,"
    "product_line,quantity,unit_price,unit_cost\n"
)
STORED = (
    HEADER
    + "A1,2026-03-01 10:00,Mombasa,Amina,C1,Baraka Ltd,P1,Coca-Cola 500ml,Beverages,1,80,50\n"
    + "A2,2026-03-05 10:00,Mombasa,Amina,C2,Wanjiru,P2,Bread 400g,Bakery,1,60,40\n"
)


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    source = tmp_path / "stored.csv"
    source.write_text(STORED)
    store = EmbeddedStore(tmp_path / "sales")
    assert ingest_file(source, store).ok
    return store


def changes(store: EmbeddedStore, text: str) -> list[tuple[str, str, str, str]]:
    prepared = prepare_file(text.encode(), "file.csv")
    assert prepared.ok, prepared.failures
    return [tuple(row) for row in renames(prepared.lines, store).iter_rows()]  # type: ignore[misc]


def test_a_later_file_with_new_names_and_a_new_line_lists_each_change(
    store: EmbeddedStore,
) -> None:
    later = (
        HEADER
        + "B1,2026-04-01 09:00,Mombasa,Amina,C1,Baraka Limited,P1,Test Soda,Beverages,1,80,50\n"
        + "B2,2026-04-02 09:00,Mombasa,Amina,C2,Wanjiru,P2,Bread 400g,Snacks,1,60,40\n"
    )
    assert changes(store, later) == [
        ("customer name", "C1", "Baraka Ltd", "Baraka Limited"),
        ("product line", "P2", "Bakery", "Snacks"),
        ("product name", "P1", "Coca-Cola 500ml", "Test Soda"),
    ]


def test_the_files_last_line_decides_and_an_older_file_renames_nothing(
    store: EmbeddedStore,
) -> None:
    # Within the file, the name on P1's last line wins: it is the stored one again.
    same_in_the_end = (
        HEADER
        + "B1,2026-04-01 09:00,Mombasa,Amina,C1,Baraka Ltd,P1,Test Soda,Beverages,1,80,50\n"
        + "B2,2026-04-03 09:00,Mombasa,Amina,C1,Baraka Ltd,P1,Coca-Cola 500ml,Beverages,1,80,50\n"
    )
    assert changes(store, same_in_the_end) == []
    older = HEADER + (
        "Z1,2026-01-15 09:00,Mombasa,Amina,C1,Old Name,P1,Old Soda,Beverages,1,80,50\n"
    )
    assert changes(store, older) == []


def test_new_ids_and_absent_customer_names_are_no_renames(store: EmbeddedStore) -> None:
    text = (
        HEADER
        + "B1,2026-04-01 09:00,Mombasa,Amina,C9,Someone New,P9,New Thing,Bakery,1,80,50\n"
        + "B2,2026-04-01 09:00,Mombasa,Amina,C1,,P2,Bread 400g,Bakery,1,60,40\n"
    )
    assert changes(store, text) == []


def test_a_file_without_product_names_would_name_products_by_their_id(
    store: EmbeddedStore,
) -> None:
    text = (
        "invoice_id,sold_at,branch,salesperson,product_id,product_line,quantity,unit_price,"
        "unit_cost\nB1,2026-04-01 09:00,Mombasa,Amina,P1,Beverages,1,80,50\n"
    )
    assert changes(store, text) == [("product name", "P1", "Coca-Cola 500ml", "P1")]


def test_an_empty_store_has_nothing_to_rename(tmp_path: Path) -> None:
    prepared = prepare_file(STORED.encode(), "file.csv")
    found = renames(prepared.lines, EmbeddedStore(tmp_path / "empty" / "sales"))
    assert found.is_empty() and found.columns == ["change", "id", "stored", "in_file"]
    assert found.schema == pl.Schema({c: pl.String for c in found.columns})


def test_a_file_of_the_same_day_renames_only_what_it_sold_last(store: EmbeddedStore) -> None:
    # P2's last stored line is 5 March 10:00: a file line at 09:00 that day comes before it
    # and renames nothing; one at 11:00 comes after it and does.
    morning = HEADER + "B1,2026-03-05 09:00,Mombasa,Amina,C2,Wanjiru,P2,Rye Bread,Bakery,1,60,40\n"
    assert changes(store, morning) == []
    later = HEADER + "B1,2026-03-05 11:00,Mombasa,Amina,C2,Wanjiru,P2,Rye Bread,Bakery,1,60,40\n"
    assert changes(store, later) == [("product name", "P2", "Bread 400g", "Rye Bread")]
