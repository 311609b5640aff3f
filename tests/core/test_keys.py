"""Stable keys against FNV-1a 64 written out byte by byte, and its published values."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.keys import _BLOCK, stable_key

_MASK = (1 << 64) - 1


def fnv1a_64(text: str) -> int:
    """The reference: FNV-1a 64 over the UTF-8 bytes, as a signed 64-bit integer."""
    value = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 0x100000001B3) & _MASK
    return value - (1 << 64) if value >= 1 << 63 else value


def expected(values: list[str | None]) -> list[int | None]:
    return [None if v is None else fnv1a_64(v) for v in values]


@pytest.mark.parametrize(
    ("text", "published"),
    [("", 0xCBF29CE484222325), ("a", 0xAF63DC4C8601EC8C), ("foobar", 0x85944171F73967E8)],
)
def test_published_fnv1a_values(text: str, published: int) -> None:
    signed = published - (1 << 64) if published >= 1 << 63 else published
    assert fnv1a_64(text) == signed
    assert stable_key(pl.Series([text])).to_list() == [signed]


@pytest.mark.parametrize("count", [1, _BLOCK - 1, _BLOCK, _BLOCK + 1, 2 * _BLOCK + 3])
def test_ids_of_one_length_across_block_edges(count: int) -> None:
    values = [f"INV-{i:08d}" for i in range(count)]
    assert stable_key(pl.Series(values)).to_list() == expected(values)


def test_blocks_of_one_length_beside_blocks_of_many() -> None:
    # The first block is all one length (the matrix path), the second mixes lengths.
    values = ["K" * 9] * _BLOCK + [f"C{i}" for i in range(_BLOCK)] + ["é", "", "x" * 40]
    assert stable_key(pl.Series(values)).to_list() == expected(values)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=12)), max_size=300))
def test_any_strings_and_nulls(values: list[str | None]) -> None:
    series = pl.Series("id", values, dtype=pl.String)
    assert stable_key(series).to_list() == expected(values)
