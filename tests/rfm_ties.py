"""Three groups of customers whose RFM scores are worked out by hand, for both stores.

Each group is one branch, bought in March 2024 and scored as of 31 March: a
score is min(5, 1 + floor(5 w / n)), w the customers strictly worse, the best
value's block scores 5 and a value every customer shares scores 3.

- "Ones": ten customers, six of whom bought once (ties on F cover the bottom
  half: they all score F 1, and F 2 and 3 stay empty).
- "Same": four customers who each bought once, on 31 March, for KES 100:
  every measure is shared, so every score is 3.
- "Distinct": five customers with no tie on any measure: w runs 0..4, and
  n = 5 makes the score 1 + w.
"""

from __future__ import annotations

from datetime import date

from core.filters import Filters
from core.kpi import customers as ck
from core.kpi.view import resolve_view
from core.store import SalesStore
from ingest.pipeline import ingest_file

HEADER = (
    "invoice_id,sold_at,branch,salesperson,customer_id,product_id,product_line,"
    "quantity,unit_price,unit_cost\n"
)
WINDOW = (date(2024, 3, 1), date(2024, 3, 31))

# branch -> customer -> [(day of March, invoice amount)]
PURCHASES: dict[str, dict[str, list[tuple[int, float]]]] = {
    "Ones": {
        "C01": [(10, 100), (20, 100), (25, 100), (31, 100)],
        "C02": [(5, 100), (15, 100), (30, 100)],
        "C03": [(10, 125), (28, 125)],
        "C04": [(1, 100), (20, 100)],
        "C05": [(25, 100)],
        "C06": [(15, 100)],
        "C07": [(10, 150)],
        "C08": [(5, 50)],
        "C09": [(2, 100)],
        "C10": [(1, 80)],
    },
    "Same": {f"S{i}": [(31, 100)] for i in range(1, 5)},
    "Distinct": {
        "D01": [(1, 500)],
        "D02": [(5, 30), (8, 30)],
        "D03": [(1, 30), (8, 30), (15, 30)],
        "D04": [(1, 30), (8, 30), (15, 30), (22, 30)],
        "D05": [(1, 30), (8, 30), (15, 30), (22, 30), (29, 30)],
    },
}

# branch -> customer -> (recency_days, frequency, monetary, R, F, M, segment)
EXPECTED: dict[str, dict[str, tuple[int, int, float, int, int, int, str]]] = {
    # n = 10, score = min(5, 1 + w // 2).
    # R, most days first: C10 30 (w 0), C09 29, C08 26, C07 21, C06 16, C04 11, C05 6,
    #   C03 3, C02 1, C01 0 (the best) -> 1 1 2 2 3 3 4 4 5 5.
    # F: six bought once (w 0 -> 1); C03 and C04 twice (w 6 -> 4); C02 three times
    #   (w 8 -> 5); C01 four times (the best -> 5).
    # M, smallest first: C08 50 (w 0 -> 1), C10 80 (1), C05 C06 C09 100 (w 2 -> 2),
    #   C07 150 (w 5 -> 3), C04 200 (w 6 -> 4), C03 250 (w 7 -> 4), C02 300 (w 8 -> 5),
    #   C01 400 (the best -> 5).
    # Segments from (R, FM = (F + M) / 2), the first matching row of the table.
    "Ones": {
        "C01": (0, 4, 400.0, 5, 5, 5, "Champions"),
        "C02": (1, 3, 300.0, 5, 5, 5, "Champions"),
        "C03": (3, 2, 250.0, 4, 4, 4, "Champions"),
        "C04": (11, 2, 200.0, 3, 4, 4, "Loyal"),
        "C05": (6, 1, 100.0, 4, 1, 2, "Promising"),
        "C06": (16, 1, 100.0, 3, 1, 2, "About to sleep"),
        "C07": (21, 1, 150.0, 2, 1, 3, "Hibernating"),
        "C08": (26, 1, 50.0, 2, 1, 1, "Hibernating"),
        "C09": (29, 1, 100.0, 1, 1, 2, "Lost"),
        "C10": (30, 1, 80.0, 1, 1, 1, "Lost"),
    },
    # Every measure shared: 3 on each, (R 3, FM 3) is "Needs attention".
    "Same": {f"S{i}": (0, 1, 100.0, 3, 3, 3, "Needs attention") for i in range(1, 5)},
    # n = 5, no ties: score = 1 + w.
    "Distinct": {
        "D01": (30, 1, 500.0, 1, 1, 5, "At risk"),
        "D02": (23, 2, 60.0, 2, 2, 1, "Hibernating"),
        "D03": (16, 3, 90.0, 3, 3, 2, "Needs attention"),
        "D04": (9, 4, 120.0, 4, 4, 3, "Loyal"),
        "D05": (2, 5, 150.0, 5, 5, 4, "Champions"),
    },
}
NOTES = {"Same": "Same for every customer, so scored 3 for all: recency, frequency, monetary."}


def csv_bytes() -> bytes:
    """All three groups as one sales file, one line per invoice."""
    rows = []
    invoice = 0
    for branch, customers in PURCHASES.items():
        for customer, purchases in customers.items():
            for day, amount in purchases:
                invoice += 1
                rows.append(
                    f"R{invoice:03d},2024-03-{day:02d} 10:00,{branch},Asha,{customer},"
                    f"P1,L1,1,{amount},{amount / 2}\n"
                )
    return (HEADER + "".join(rows)).encode()


def filters_of(branch: str) -> Filters:
    return Filters(*WINDOW, branches=(branch,))


def loaded(store: SalesStore) -> SalesStore:
    """`store` with the three groups ingested through the real pipeline."""
    result = ingest_file(csv_bytes(), store, filename="rfm.csv")
    assert result.ok, result.prepared.failures
    return store


def assert_hand_worked(store: SalesStore, branch: str) -> None:
    """`branch`'s customers score, segment and carry the note as worked out by hand."""
    table = ck.rfm(store, resolve_view(store, filters_of(branch)))
    columns = ("recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "segment")
    scored = {
        row["customer_id"]: tuple(row[c] for c in columns) for row in table.iter_rows(named=True)
    }
    assert scored == EXPECTED[branch]
    assert set(table["rfm_note"]) == {NOTES.get(branch)}
