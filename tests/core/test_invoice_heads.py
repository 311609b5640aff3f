"""Invoice heads: one head per invoice (and per product line, per product), and when they count."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.keys import stable_key
from core.stores.invoice_heads import (
    ORDER_FLAGS,
    day_of_ms,
    head_column,
    invoice_flags,
    invoice_heads_in_order,
)


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def lines(*rows: tuple[str, int, str, str, str, str | None, str, str]) -> pl.DataFrame:
    columns = ["invoice_id", "line_no", "sold_at", "branch", "salesperson", "customer_id"]
    columns += ["product_line", "product_id"]
    frame = pl.DataFrame(rows, schema=columns, orient="row")
    return frame.with_columns(sold_ms=pl.col("sold_at").map_elements(_ms, pl.Int64)).drop("sold_at")


def test_heads_and_uniform_worked_by_hand() -> None:
    frame = lines(
        # A: one header, two product lines, product P1 twice; line 1 is missing (line 2 leads)
        ("A", 3, "2026-01-31 20:00", "Mombasa", "Ali", "C1", "Dairy", "P1"),
        ("A", 2, "2026-01-31 20:00", "Mombasa", "Ali", "C1", "Beverages", "P2"),
        ("A", 4, "2026-01-31 20:00", "Mombasa", "Ali", "C1", "Dairy", "P1"),
        # B: a walk-in (no customer) on one day: uniform
        ("B", 1, "2026-02-01 08:00", "Kisumu", "Otieno", None, "Dairy", "P1"),
        ("B", 2, "2026-02-01 09:00", "Kisumu", "Otieno", None, "Dairy", "P3"),
        # C: 20:30 UTC is 23:30 in Nairobi on the 31st; 21:30 UTC is the 1st: two days
        ("C", 1, "2026-01-31 20:30", "Nakuru", "Wanjiru", "C2", "Flour", "P4"),
        ("C", 2, "2026-01-31 21:30", "Nakuru", "Wanjiru", "C2", "Flour", "P4"),
        # D: two salespeople on one invoice
        ("D", 1, "2026-02-02 10:00", "Eldoret", "Kiprop", "C3", "Flour", "P4"),
        ("D", 2, "2026-02-02 10:00", "Eldoret", "Chebet", "C3", "Flour", "P4"),
    )
    flags = invoice_flags(frame, day_of_ms("Africa/Nairobi")).sort("invoice_id", "line_no")
    expected = pl.DataFrame(
        {
            "invoice_id": ["A", "A", "A", "B", "B", "C", "C", "D", "D"],
            "line_no": [2, 3, 4, 1, 2, 1, 2, 1, 2],
            "invoice_head": [1, 0, 0, 1, 0, 1, 0, 1, 0],
            "line_head": [1, 1, 0, 1, 0, 1, 0, 1, 0],
            "product_head": [1, 1, 0, 1, 1, 1, 0, 1, 0],
            "invoice_uniform": [1, 1, 1, 1, 1, 0, 0, 0, 0],
        }
    )
    assert flags.select(expected.columns).to_dict(as_series=False) == expected.to_dict(
        as_series=False
    )


@pytest.mark.parametrize(
    ("by", "filters", "head"),
    [
        ((), [], "invoice_head"),
        (("salesperson",), [("branch", ("Mombasa", "Kisumu"))], "invoice_head"),
        (("customer_id",), [], "invoice_head"),
        (("product_line",), [("product_line", ("Dairy", "Flour"))], "line_head"),
        ((), [("product_line", ("Dairy",))], "line_head"),
        (("branch",), [("product_line", ("Dairy",))], "line_head"),
        (("product_id",), [("salesperson", ("Ali",))], "product_head"),
        ((), [("product_id", ("P1",))], "product_head"),
        # An invoice holding Dairy and Flour lines has two line heads: count distinct.
        ((), [("product_line", ("Dairy", "Flour"))], None),
        (("product_id",), [("product_line", ("Dairy",))], None),
        (("product_line", "product_id"), [], None),
        (("customer_name",), [], None),
        (("payment_method",), [], None),
    ],
)
def test_which_head_counts_orders(
    by: tuple[str, ...], filters: list[tuple[str, tuple[str, ...]]], head: str | None
) -> None:
    assert head_column(by, filters) == head


_line = st.tuples(
    st.integers(0, 4),  # invoice
    st.integers(1, 6),  # line number
    st.integers(0, 1),  # day
    st.sampled_from(["Mombasa", "Kisumu"]),
    st.sampled_from(["Ali", "Otieno"]),
    st.sampled_from(["C1", "C2", None]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_line, min_size=1, max_size=30, unique_by=lambda r: (r[0], r[1])), st.data())
def test_flags_in_order_match_the_general_rule(rows: list[tuple], data: st.DataObject) -> None:
    """Invoices together and in order take the fast path, split or shuffled ones the
    general rule; either way the flags are those `invoice_flags` sets."""
    # As exports list them (each invoice's lines together, in line order), or shuffled.
    in_order = data.draw(st.booleans())
    rows = (
        sorted(rows, key=lambda r: (r[0], r[1])) if in_order else data.draw(st.permutations(rows))
    )
    frame = pl.DataFrame(
        rows,
        schema=["invoice", "line_no", "day", "branch", "salesperson", "customer_id"],
        orient="row",
    ).with_columns(
        invoice_id="INV-" + pl.col("invoice").cast(pl.String),
        sale_date=pl.date(2026, 1, 1) + pl.duration(days=pl.col("day")),
        product_line=pl.lit("Dairy"),
        product_id=pl.lit("P1"),
    )
    frame = frame.with_columns(
        invoice_key=stable_key(frame["invoice_id"]), customer_key=stable_key(frame["customer_id"])
    )
    fast = invoice_heads_in_order(frame, "sale_date")
    general = invoice_flags(frame, pl.col("sale_date"))
    assert fast.select(ORDER_FLAGS).to_dicts() == general.select(ORDER_FLAGS).to_dicts()
    assert fast.drop(ORDER_FLAGS).equals(frame)
