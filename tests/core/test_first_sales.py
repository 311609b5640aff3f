"""The embedded store's first-sales file: used when it describes the table, never wrong.

Every answer is checked against the first sale per customer computed by plain
Polars over the lines the store should hold, after each kind of write: an
append (folded in), an update that moves a customer's first line later and a
replace that deletes it (both regrouped), and with the file stale, missing or
damaged.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from core.store import Scope, Window
from core.stores import first_sales
from core.stores.embedded import EmbeddedStore
from ingest.sample import generate_sales
from tests.conftest import to_stored

END = date(2026, 6, 30)
SPLIT = date(2026, 1, 1)


@pytest.fixture(scope="module")
def raw() -> pl.DataFrame:
    """Generated lines in naive Nairobi time, before the store's derived columns."""
    return generate_sales(4_000, seed=11, end=END, years=1)


@pytest.fixture(scope="module")
def lines(raw: pl.DataFrame) -> pl.DataFrame:
    return to_stored(raw)


def _expected(lines: pl.DataFrame) -> list[dict[str, object]]:
    return (
        lines.group_by("customer_id")
        .agg(first_sale=pl.col("sale_date").min())
        .sort("customer_id", nulls_last=True)
        .to_dicts()
    )


def _answer(store: EmbeddedStore, scope: Scope | None = None) -> list[dict[str, object]]:
    scope = scope or Scope()
    return store.aggregate(scope, None, ("customer_id",), measures=("first_sale",)).to_dicts()


def _version(store: EmbeddedStore) -> int:
    table = store.delta_table()
    assert table is not None
    return table.version()


def test_appends_are_folded_into_the_file(tmp_path: Path, lines: pl.DataFrame) -> None:
    path = tmp_path / "sales"
    store = EmbeddedStore(path)
    # The later half first: the earlier half then moves many customers' first sale back.
    late = lines.filter(pl.col("sale_date") >= SPLIT)
    early = lines.filter(pl.col("sale_date") < SPLIT)
    store.write(late, "append")
    assert _answer(store) == _expected(late)
    store.write(early, "append")
    recorded = first_sales.read(path, _version(store))
    assert recorded is not None  # the answer below comes from the file
    assert _answer(store) == _expected(lines)
    assert recorded.height == lines["customer_key"].n_unique()  # walk-ins as one null key


def test_the_file_is_what_answers(tmp_path: Path, lines: pl.DataFrame) -> None:
    """A file stamped with the table's version is read as it is (so the test above
    checks the file, not a fallback); a filtered scope never reads it."""
    path = tmp_path / "sales"
    store = EmbeddedStore(path)
    store.write(lines, "append")
    marked = first_sales.read(path, _version(store))
    assert marked is not None
    bogus = marked.with_columns(first_sale=pl.lit(date(2000, 1, 1)))
    first_sales.record(path, _version(store), bogus)
    assert {row["first_sale"] for row in _answer(store)} == {date(2000, 1, 1)}
    mombasa = Scope(branches=("Mombasa",))
    assert _answer(store, mombasa) == _expected(lines.filter(pl.col("branch") == "Mombasa"))
    restricted = Scope(allowed_branches=("Mombasa",))
    assert _answer(store, restricted) == _expected(lines.filter(pl.col("branch") == "Mombasa"))


def test_an_update_that_moves_a_first_line_is_regrouped(
    tmp_path: Path, raw: pl.DataFrame, lines: pl.DataFrame
) -> None:
    path = tmp_path / "sales"
    store = EmbeddedStore(path)
    store.write(lines, "append")
    # The customer's earliest invoice, reloaded with a date after all its other lines.
    customer = lines.filter(pl.col("customer_id").is_not_null()).sort("sale_date")[0, "customer_id"]
    own = lines.filter(pl.col("customer_id") == customer)
    first_invoice = own.sort("sale_date")[0, "invoice_id"]
    shift = own["sale_date"].max() - own["sale_date"].min() + timedelta(days=3)
    moved = to_stored(
        raw.filter(pl.col("invoice_id") == first_invoice).with_columns(pl.col("sold_at") + shift)
    )
    result = store.write(moved, "append")
    assert result.updated == moved.height
    held = pl.concat([lines.filter(pl.col("invoice_id") != first_invoice), moved])
    firsts = {row["customer_id"]: row["first_sale"] for row in _expected(held)}
    assert firsts[customer] > own["sale_date"].min()  # the update did move it later
    assert _answer(store) == _expected(held)
    assert first_sales.read(path, _version(store)) is not None


def test_a_replace_that_deletes_first_lines_is_regrouped(
    tmp_path: Path, lines: pl.DataFrame
) -> None:
    path = tmp_path / "sales"
    store = EmbeddedStore(path)
    store.write(lines, "append")
    first_month = Window(lines["sale_date"].min(), lines["sale_date"].min() + timedelta(days=30))
    outside = ~pl.col("sale_date").is_between(first_month.start, first_month.end)
    # Invoices spanning the cut would be refused; the sample's invoices are one day each.
    store.write(lines.head(0), "replace", replace_window=first_month)
    assert _answer(store) == _expected(lines.filter(outside))
    assert first_sales.read(path, _version(store)) is not None


def test_a_stale_missing_or_damaged_file_costs_time_not_dates(
    tmp_path: Path, raw: pl.DataFrame, lines: pl.DataFrame
) -> None:
    path = tmp_path / "sales"
    store = EmbeddedStore(path)
    late = lines.filter(pl.col("sale_date") >= SPLIT)
    store.write(late, "append")
    stale = first_sales.sales_file(path).read_bytes()
    store.write(lines.filter(pl.col("sale_date") < SPLIT), "append")
    # The file of the earlier version, as a writer killed before replacing it leaves it.
    first_sales.sales_file(path).write_bytes(stale)
    assert first_sales.read(path, _version(store)) is None
    assert _answer(store) == _expected(lines)
    first_sales.sales_file(path).write_bytes(b"not parquet")
    assert first_sales.read(path, _version(store)) is None
    assert _answer(store) == _expected(lines)
    first_sales.sales_file(path).unlink()
    assert _answer(store) == _expected(lines)
    # An append over a file that lags groups every line again instead of folding into it.
    extra = to_stored(raw.head(5).with_columns(pl.col("invoice_id") + "-X"))
    store.write(extra, "append")
    assert first_sales.read(path, _version(store)) is not None
    assert _answer(store) == _expected(pl.concat([lines, extra]))
