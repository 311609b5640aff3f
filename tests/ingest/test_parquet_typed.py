"""Parquet keeps its types through ingest: same lines and same failures as its CSV twin."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import polars as pl
import pytest

from ingest.pipeline import prepare_file
from ingest.sample import generate_sales

END = date(2026, 6, 30)


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def _csv(frame: pl.DataFrame) -> bytes:
    return frame.write_csv().encode()


def test_typed_parquet_gives_the_lines_csv_gives() -> None:
    frame = generate_sales(3_000, seed=5, end=END, years=1)
    from_parquet = prepare_file(_parquet(frame), "s.parquet")
    from_csv = prepare_file(_csv(frame), "s.csv")
    assert from_parquet.ok and from_csv.ok
    assert from_parquet.lines.equals(from_csv.lines)


def _bad_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "invoice_id": [101, 101, 102, 103],  # integers: read as text
            "line_no": [1.0, 2.5, None, 1.0],  # 2.5 is not a whole number
            "sold_at": [datetime(2026, 1, 31, 20, 30, tzinfo=UTC)] * 3 + [None],
            "branch": ["Mombasa", "Mombasa", "  ", "Kisumu"],  # blank: required
            "salesperson": ["A", "A", "B", "C"],
            "product_id": ["P1", "P2", "P3", "P4"],
            "product_line": ["L", "L", "L", "L"],
            "quantity": [2, 0, 1, 1],  # integers; 0 is not allowed
            "unit_price": [10.0, 5.0, float("nan"), 1.0],  # NaN: not finite
            "unit_cost": [8.0, 4.0, 1.0, 1.0],
        }
    )


def test_typed_parquet_reports_the_failures_csv_reports() -> None:
    frame = _bad_frame()
    from_parquet = prepare_file(_parquet(frame), "bad.parquet")
    text = frame.with_columns(pl.col("sold_at").dt.strftime("%Y-%m-%dT%H:%M:%S%z"))
    from_csv = prepare_file(_csv(text), "bad.csv")
    key = ["row", "column", "rule"]
    assert from_parquet.failures.select(key).equals(from_csv.failures.select(key))
    found = set(from_parquet.failures.select("row", "column").iter_rows())
    assert {(3, "line_no"), (4, "branch"), (3, "quantity"), (4, "unit_price")} <= found
    assert (5, "sold_at") in found


def test_a_number_column_of_another_type_is_named_not_a_crash() -> None:
    # A Parquet column of true/false where quantities belong: each cell, read as its
    # text, is not a number.
    frame = _bad_frame().head(2).with_columns(quantity=pl.Series([True, False]))
    prepared = prepare_file(_parquet(frame), "flags.parquet")
    quantity = prepared.failures.filter(pl.col("column") == "quantity")
    assert quantity.select("row", "value", "rule").rows() == [
        (2, "true", "must be a number"),
        (3, "false", "must be a number"),
    ]


@pytest.mark.parametrize(
    ("value", "expected_utc"),
    [
        (datetime(2026, 1, 31, 23, 30), datetime(2026, 1, 31, 20, 30, tzinfo=UTC)),  # naive: local
        (datetime(2026, 1, 31, 23, 30, tzinfo=UTC), datetime(2026, 1, 31, 23, 30, tzinfo=UTC)),
        (date(2026, 1, 31), datetime(2026, 1, 30, 21, 0, tzinfo=UTC)),  # local midnight
    ],
)
def test_typed_timestamps(value: object, expected_utc: datetime) -> None:
    frame = (
        _bad_frame()
        .head(1)
        .with_columns(sold_at=pl.lit(value), line_no=pl.lit(1.0), branch=pl.lit("Mombasa"))
    )
    prepared = prepare_file(_parquet(frame), "one.parquet")
    assert prepared.ok, prepared.failures
    assert prepared.lines["sold_at"].item() == expected_utc
    assert prepared.lines["invoice_id"].item() == "101"


def test_run_hashing_gives_every_value_its_own_key() -> None:
    from core.keys import _fnv1a, stable_key

    values = pl.Series(
        "id", ["b", None, None, "b", "b", "a", "a", "", "", None, "é", "é"], dtype=pl.String
    )
    for n in range(len(values) + 1):
        assert stable_key(values.head(n)).to_list() == _fnv1a(values.head(n)).to_list()
