"""The influenced revenue read from a real Druid: the hand-computed figures
(tests/fixtures/influence_fixture.py), with the won deals' customers and invoices
filtered on as Druid plans a short `IN` list (OR terms) and a long one (a join
with the values inline)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.filters import Filters
from core.kpi import influence
from core.kpi.view import resolve_view
from core.schema import with_derived_measures
from core.stores import druid_sql
from core.stores.druid import DruidStore
from core.stores.pipeline_embedded import EmbeddedPipelineStore
from tests.fixtures.hand_fixture import canonical_frame
from tests.fixtures.influence_fixture import BY_SOURCE, BY_SOURCE_MOMBASA, Q1, won_deal_lines

pytestmark = pytest.mark.druid


@pytest.fixture(scope="module")
def stores(
    datasource_factory: Callable[[str], DruidStore], tmp_path_factory: pytest.TempPathFactory
) -> tuple[DruidStore, EmbeddedPipelineStore]:
    sales = datasource_factory("influence")
    sales.write(with_derived_measures(canonical_frame()), "append")
    deals = EmbeddedPipelineStore(Path(tmp_path_factory.mktemp("influence")) / "opportunities")
    deals.write(won_deal_lines(), "append")
    return sales, deals


@pytest.mark.parametrize("join_above", [druid_sql.IN_LIST_AS_JOIN, 1], ids=["or-terms", "join"])
def test_druid_gives_the_hand_computed_influenced_revenue(
    stores: tuple[DruidStore, EmbeddedPipelineStore],
    join_above: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sales, deals = stores
    monkeypatch.setattr(druid_sql, "IN_LIST_AS_JOIN", join_above)
    every = resolve_view(sales, Filters(Q1.start, Q1.end))
    assert influence.by_lead_source(sales, deals, every).rows() == BY_SOURCE
    mombasa = resolve_view(sales, Filters(Q1.start, Q1.end), ("Mombasa",))
    assert influence.by_lead_source(sales, deals, mombasa).rows() == BY_SOURCE_MOMBASA
