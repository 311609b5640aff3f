"""Files long enough that parsing runs in pieces on every core.

Dates and numbers are parsed by the streaming engine, which cuts a column
into pieces and runs them side by side: the values must come back in the
file's order, and a bad cell deep in the file must be named by its row.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from ingest.pipeline import prepare_file

ROWS = 400_000  # many of the streaming engine's pieces
FIRST_SALE = datetime(2025, 1, 1, 8, 0, 0)
BAD_DATE_INDEX = 123_457
BAD_NUMBER_INDEX = 301_999
CLEANED_INDEX = 250_001  # "KES 1,234.50": read by the slower clean-up, in its own piece


def _file() -> tuple[bytes, pl.DataFrame]:
    index = pl.int_range(0, ROWS, eager=True)
    sold_at = [
        (FIRST_SALE + timedelta(seconds=7 * i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(ROWS)
    ]
    sold_at[BAD_DATE_INDEX] = "31/02/2025"
    quantity = [str(1 + i % 5) for i in range(ROWS)]
    quantity[BAD_NUMBER_INDEX] = "ten"
    unit_price = [f"{100 + i % 97}.25" for i in range(ROWS)]
    unit_price[CLEANED_INDEX] = "KES 1,234.50"
    frame = pl.DataFrame(
        {
            "invoice_id": index.map_elements(lambda i: f"INV-{i // 2:07d}", return_dtype=pl.String),
            "line_no": (index % 2 + 1).cast(pl.String),
            "sold_at": sold_at,
            "branch": "Thika",
            "salesperson": "Kamau",
            "product_id": "OIL-1",
            "product_line": "Oil",
            "quantity": quantity,
            "unit_price": unit_price,
            "unit_cost": "90",
        }
    )
    return frame.write_csv().encode(), frame


def test_bad_cells_deep_in_a_long_file_are_named_by_row() -> None:
    data, _ = _file()
    prepared = prepare_file(data, "long.csv")
    failures = prepared.failures.select("row", "column", "value").rows()
    # Row numbers count the header as row 1.
    assert failures == [
        (BAD_DATE_INDEX + 2, "sold_at", "31/02/2025"),
        (BAD_NUMBER_INDEX + 2, "quantity", "ten"),
    ]


def test_long_columns_parse_in_file_order() -> None:
    _, frame = _file()
    good = frame.with_row_index("i").filter(~pl.col("i").is_in([BAD_DATE_INDEX, BAD_NUMBER_INDEX]))
    prepared = prepare_file(good.drop("i").write_csv().encode(), "long.csv")
    assert prepared.ok
    lines = prepared.lines
    kept = good["i"].to_list()
    # Nairobi is UTC+3: each sale's instant is its local time less three hours.
    expected_utc = [FIRST_SALE + timedelta(seconds=7 * i) - timedelta(hours=3) for i in kept]
    assert lines["sold_at"].dt.replace_time_zone(None).to_list() == expected_utc
    expected_quantity = [float(1 + i % 5) for i in kept]
    assert lines["quantity"].to_list() == expected_quantity
    expected_price = [1234.5 if i == CLEANED_INDEX else 100 + i % 97 + 0.25 for i in kept]
    assert lines["unit_price"].to_list() == expected_price
