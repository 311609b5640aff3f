"""A line's identity (invoice, line_no) is unique: the linear-time check equals hashing."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from core.schema import unique_identity

_lines = st.lists(
    st.tuples(st.sampled_from(["A", "B", "C", None]), st.one_of(st.none(), st.integers(1, 4))),
    max_size=25,
)


@settings(max_examples=400, deadline=None)
@given(_lines, st.booleans())
def test_unique_identity_equals_hashing_every_line(rows: list[tuple], grouped: bool) -> None:
    if grouped:  # as exports list them: an invoice's lines together, numbers rising
        rows = sorted(rows, key=lambda r: (r[0] or "", r[1] or 0))
    lines = pl.DataFrame(rows, schema={"invoice_id": pl.String, "line_no": pl.Int64}, orient="row")
    expected = (~lines.is_duplicated()).to_list()
    assert unique_identity(lines, "invoice_id").to_list() == expected


def test_the_layouts_the_fast_path_must_not_pass() -> None:
    def flags(ids: list[str], numbers: list[int]) -> list[bool]:
        frame = pl.DataFrame({"invoice_id": ids, "line_no": numbers})
        return unique_identity(frame, "invoice_id").to_list()

    assert flags(["A", "A", "B"], [1, 2, 1]) == [True, True, True]
    assert flags(["A", "A"], [1, 1]) == [False, False]  # a number repeated in a run
    assert flags(["A", "B", "A"], [1, 1, 1]) == [False, True, False]  # an invoice split
    assert flags([], []) == []
