"""Every customer's first sale, kept per data version (core/stores/first_sales.py).

Every answer of the embedded store is checked against the first sale per
customer computed by plain Polars over the lines the store should hold, after
each kind of write: an append that moves many first sales back, an update that
moves a customer's first line later, a replace that deletes it, and a write by
another process (another store object on the same table).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from core.store import Scope, Window
from core.stores.embedded import EmbeddedStore
from core.stores.first_sales import FirstSales
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


def test_an_append_and_another_process_s_write_move_the_answer(
    tmp_path: Path, raw: pl.DataFrame, lines: pl.DataFrame
) -> None:
    path = tmp_path / "sales"
    store = EmbeddedStore(path)
    # The later half first: the earlier half then moves many customers' first sale back.
    late = lines.filter(pl.col("sale_date") >= SPLIT)
    store.write(late, "append")
    assert _answer(store) == _expected(late)
    assert _answer(store) == _expected(late)  # kept: the same answer again
    store.write(lines.filter(pl.col("sale_date") < SPLIT), "append")
    assert _answer(store) == _expected(lines)
    # Another process (the command line beside the app) writes: the version moves on.
    extra = to_stored(raw.head(5).with_columns(pl.col("invoice_id") + "-X"))
    EmbeddedStore(path).write(extra, "append")
    assert _answer(store) == _expected(pl.concat([lines, extra]))


def test_filtered_scopes_group_their_own_lines(tmp_path: Path, lines: pl.DataFrame) -> None:
    store = EmbeddedStore(tmp_path / "sales")
    store.write(lines, "append")
    assert _answer(store) == _expected(lines)
    mombasa = lines.filter(pl.col("branch") == "Mombasa")
    assert _answer(store, Scope(branches=("Mombasa",))) == _expected(mombasa)
    assert _answer(store, Scope(allowed_branches=("Mombasa",))) == _expected(mombasa)


def test_one_grouping_per_version_however_many_ask() -> None:
    kept, calls = FirstSales(), []
    answer = pl.DataFrame({"customer_id": ["C1"], "first_sale": [date(2026, 1, 2)]})

    def group() -> pl.DataFrame:
        calls.append(1)
        return answer

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: kept.of("v1", group), range(8)))
    assert all(a is answer for a in answers) and len(calls) == 1
    kept.of("v2", group)
    assert len(calls) == 2


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
