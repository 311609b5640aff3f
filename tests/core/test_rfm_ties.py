"""RFM scores on tied, all-equal and tie-free customers, against scores worked out by hand."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from core.kpi import customers as ck
from core.kpi.view import resolve_view
from core.stores.embedded import EmbeddedStore
from ingest.pipeline import ingest_file
from tests import rfm_ties


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    store = EmbeddedStore(Path(tmp_path_factory.mktemp("rfm")) / "sales")
    rfm_ties.loaded(store)
    return store


@pytest.mark.parametrize("branch", list(rfm_ties.EXPECTED))
def test_scores_equal_the_hand_worked_ones(store: EmbeddedStore, branch: str) -> None:
    rfm_ties.assert_hand_worked(store, branch)


def test_one_time_buyers_covering_half_score_f_one(store: EmbeddedStore) -> None:
    table = ck.rfm(store, resolve_view(store, rfm_ties.filters_of("Ones")))
    once = table.filter(pl.col("frequency") == 1)
    assert once.height > table.height / 2
    assert set(once["f_score"]) == {1}
    assert not {2, 3} & set(table["f_score"])


def test_a_lone_customer_has_nothing_to_be_compared_with(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "sales")
    one = rfm_ties.HEADER + "X1,2024-03-31 10:00,Solo,Asha,C1,P1,L1,1,100,50\n"
    assert ingest_file(one.encode(), store, filename="one.csv").ok
    row = ck.rfm(store, resolve_view(store, rfm_ties.filters_of("Solo"))).row(0, named=True)
    assert (row["r_score"], row["f_score"], row["m_score"]) == (3, 3, 3)
    assert row["rfm_note"] == rfm_ties.NOTES["Same"]
