"""Invoice heads in the embedded store: orders stay exact through every kind of write.

Orders are counted as sums of flags set at write time (core/stores/invoice_heads.py).
Each check below compares them with distinct invoices counted on the stored lines
themselves, read straight from the table, after writes that split, extend, correct
and cut invoices.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from deltalake import write_deltalake

from core.schema import CANONICAL_COLUMNS, STORED_COLUMNS, with_derived_measures
from core.store import Scope, Window
from core.stores.embedded import EmbeddedStore
from ingest.sample import generate_sales
from tests.conftest import to_stored

END = date(2026, 6, 30)
SHAPES: list[tuple[tuple[str, ...], str | None]] = [
    ((), None),
    (("branch",), None),
    (("salesperson",), "month"),
    (("customer_id",), None),
    (("product_line",), None),
    (("product_id",), "week"),
    ((), "day"),
]


@pytest.fixture(scope="module")
def lines() -> pl.DataFrame:
    return to_stored(generate_sales(3_000, seed=5, end=END, years=1))


def _exact(stored: pl.DataFrame, scope: Scope, by: tuple[str, ...], grain: str | None) -> list:
    frame = stored
    for column, values in scope.member_filters():
        frame = frame.filter(pl.col(column).is_in(list(values)))
    keys = list(by)
    if grain is not None:
        day = pl.col("sale_date")
        period = {"day": day, "week": day.dt.truncate("1w"), "month": day.dt.truncate("1mo")}
        frame = frame.with_columns(period=period[grain])
        keys.append("period")
    if not keys:
        return [{"orders": frame["invoice_id"].n_unique()}]
    counted = frame.group_by(keys).agg(orders=pl.col("invoice_id").n_unique().cast(pl.Int64))
    return counted.sort(keys, nulls_last=True).to_dicts()


def _check_orders(store: EmbeddedStore) -> None:
    stored = pl.read_delta(str(store.path))
    lines_of = stored["product_line"].unique().sort().to_list()
    scopes = [
        Scope(),
        Scope(product_lines=(lines_of[0],)),
        Scope(product_lines=tuple(lines_of[:2])),
    ]
    for scope in scopes:
        for by, grain in SHAPES:
            answer = store.aggregate(scope, None, by, grain, measures=("orders",))  # type: ignore[arg-type]
            expected = _exact(stored, scope, by, grain)
            assert answer.to_dicts() == expected, (scope, by, grain)


def _recast(frame: pl.DataFrame) -> pl.DataFrame:
    """Canonical lines (UTC) with the derived columns computed again."""
    return with_derived_measures(frame.select(CANONICAL_COLUMNS)).select(STORED_COLUMNS)


def _heads_per_invoice(store: EmbeddedStore) -> pl.DataFrame:
    stored = pl.read_delta(str(store.path))
    return stored.group_by("invoice_id").agg(
        heads=pl.col("invoice_head").sum(), uniform=pl.col("invoice_uniform").min()
    )


def test_orders_stay_exact_through_split_extended_corrected_and_cut_invoices(
    tmp_path: Path, lines: pl.DataFrame
) -> None:
    store = EmbeddedStore(tmp_path / "sales")
    multi = lines.group_by("invoice_id").len().filter(pl.col("len") >= 3)["invoice_id"].sort()
    assert multi.len() >= 6
    split, extended, corrected, moved, cut, joined = (multi[i] for i in range(6))
    # 1. Everything but the first line of `split` and the last of `extended`.
    first_of_split = (pl.col("invoice_id") == split) & (pl.col("line_no") == 1)
    last_line = pl.col("line_no") == pl.col("line_no").max().over("invoice_id")
    held_back = first_of_split | ((pl.col("invoice_id") == extended) & last_line)
    store.write(lines.filter(~held_back), "append")
    _check_orders(store)
    # 2. The held-back lines arrive in a later file: one takes the head from a stored line.
    store.write(lines.filter(held_back), "append")
    _check_orders(store)
    heads = _heads_per_invoice(store)
    assert heads.filter(pl.col("uniform") == 1)["heads"].unique().to_list() == [1]
    # 3. A correction moves the head line of `corrected` to another salesperson: the
    #    invoice is no longer uniform, and every query touching it counts exactly.
    other = lines.filter(pl.col("invoice_id") != corrected)["salesperson"][0]
    fixed = lines.filter((pl.col("invoice_id") == corrected) & (pl.col("line_no") == 1))
    store.write(fixed.with_columns(salesperson=pl.lit(other + " (cover)")), "append")
    _check_orders(store)
    assert (
        _heads_per_invoice(store).filter(pl.col("invoice_id") == corrected)["uniform"].item() == 0
    )
    # 4. Lines of `moved` re-sent a day later: the invoice spans two days.
    later = lines.filter((pl.col("invoice_id") == moved) & (pl.col("line_no") >= 2)).with_columns(
        sold_at=pl.col("sold_at") + timedelta(days=1)
    )
    store.write(_recast(later), "append")
    _check_orders(store)
    # 5. Replace one day: the invoices of that day are written again, one of them with a
    #    line on the next day that the window cuts off and keeps.
    day = lines.filter(pl.col("invoice_id") == cut)["sale_date"][0]
    spill = lines.filter((pl.col("invoice_id") == cut) & (pl.col("line_no") == 2)).with_columns(
        sold_at=pl.col("sold_at") + timedelta(days=1), line_no=pl.lit(99, dtype=pl.Int64)
    )
    store.write(_recast(spill), "append")
    same_day = lines.filter(pl.col("sale_date") == day)
    store.write(same_day.filter(pl.col("line_no") != 2), "replace", Window(day, day))
    _check_orders(store)
    # 6. Replace another day with a new line of an invoice stored whole on its own day:
    #    the stored lines keep their head, the new one must not count as a second.
    origin = lines.filter(pl.col("invoice_id") == joined)
    later_day = origin["sale_date"][0] + timedelta(days=2)
    extra = origin.head(1).with_columns(
        sold_at=pl.col("sold_at") + timedelta(days=2), line_no=pl.lit(98, dtype=pl.Int64)
    )
    stored = pl.read_delta(str(store.path)).select(STORED_COLUMNS)
    that_day = pl.concat([stored.filter(pl.col("sale_date") == later_day), _recast(extra)])
    store.write(that_day, "replace", Window(later_day, later_day))
    _check_orders(store)
    # 7. A whole-store replace leaves every invoice whole again, each with one head.
    store.write(lines, "replace", Window(lines["sale_date"].min(), date(2030, 1, 1)))
    _check_orders(store)
    assert _heads_per_invoice(store)["heads"].unique().to_list() == [1]


def test_a_store_written_before_the_flags_counts_exactly(
    tmp_path: Path, lines: pl.DataFrame
) -> None:
    """A table without flags keeps its layout: appends add none, orders are distinct counts."""
    path = tmp_path / "sales"
    half = lines.filter(pl.col("sale_date") < date(2026, 1, 1))
    write_deltalake(str(path), half.select(STORED_COLUMNS).to_arrow())
    store = EmbeddedStore(path)
    _check_orders(store)
    store.write(lines.filter(pl.col("sale_date") >= date(2026, 1, 1)), "append")
    store.write(lines.head(50), "append")
    assert "invoice_head" not in pl.read_delta(str(path)).columns
    _check_orders(store)
