"""RFM scores on tied, all-equal and tie-free customers in Druid, against the hand-worked ones."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.stores.druid import DruidStore
from tests import rfm_ties

pytestmark = pytest.mark.druid


@pytest.fixture(scope="module")
def store(datasource_factory: Callable[[str], DruidStore]) -> DruidStore:
    store = datasource_factory("rfm")
    rfm_ties.loaded(store)
    return store


@pytest.mark.parametrize("branch", list(rfm_ties.EXPECTED))
def test_druid_scores_equal_the_hand_worked_ones(store: DruidStore, branch: str) -> None:
    rfm_ties.assert_hand_worked(store, branch)
