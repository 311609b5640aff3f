"""RFM scores on tied, all-equal and tie-free customers in Druid, against the hand-worked ones."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.stores.druid import DruidStore
from ingest.pipeline import ingest_file
from tests import rfm_ties
from tests.core.test_rfm_ties import notes, scored

pytestmark = pytest.mark.druid


@pytest.fixture(scope="module")
def store(datasource_factory: Callable[[str], DruidStore]) -> DruidStore:
    store = datasource_factory("rfm")
    result = ingest_file(rfm_ties.csv_bytes(), store, filename="rfm.csv")
    assert result.ok, result.prepared.failures
    return store


@pytest.mark.parametrize("branch", list(rfm_ties.EXPECTED))
def test_druid_scores_equal_the_hand_worked_ones(store: DruidStore, branch: str) -> None:
    assert scored(store, branch) == rfm_ties.EXPECTED[branch]
    assert notes(store, branch) == {rfm_ties.NOTES.get(branch)}
