"""Influenced revenue on the hand sales fixture and four won deals written for it
(tests/fixtures/influence_fixture.py, every figure worked out there)."""

from __future__ import annotations

import pytest

from core.filters import Filters
from core.kpi import influence
from core.kpi.view import View, resolve_view
from core.store import Scope
from core.stores.embedded import EmbeddedStore
from core.stores.pipeline_embedded import EmbeddedPipelineStore
from tests.fixtures.hand_fixture import build_store
from tests.fixtures.influence_fixture import BY_SOURCE, BY_SOURCE_MOMBASA, Q1, won_deal_lines

Stores = tuple[EmbeddedStore, EmbeddedPipelineStore]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Stores:
    root = tmp_path_factory.mktemp("influence")
    sales = build_store(root / "sales")
    deals = EmbeddedPipelineStore(root / "opportunities")
    deals.write(won_deal_lines(), "append")
    return sales, deals


def _view(sales: EmbeddedStore, allowed: tuple[str, ...] | None = None) -> View:
    return resolve_view(sales, Filters(Q1.start, Q1.end), allowed)


def test_each_source_gets_the_invoices_its_won_deals_brought(stores: Stores) -> None:
    sales, deals = stores
    assert influence.by_lead_source(sales, deals, _view(sales)).rows() == BY_SOURCE


def test_a_restricted_user_counts_only_its_branches_deals_and_invoices(stores: Stores) -> None:
    sales, deals = stores
    mombasa = _view(sales, ("Mombasa",))
    assert influence.by_lead_source(sales, deals, mombasa).rows() == BY_SOURCE_MOMBASA


def test_each_invoice_counts_once_for_the_deal_that_reaches_it(stores: Stores) -> None:
    sales, deals = stores
    won = deals.won_deals(Scope(), Q1)
    assert won["opportunity_id"].to_list() == ["D1", "D2", "D5", "D3"]  # by close day
    links = influence.influenced_invoices(sales, won, _view(sales))
    assert links["invoice_id"].is_unique().all()
    assert sorted(links.rows()) == [
        ("D1", "INV-101", 3100.0),
        ("D2", "INV-105", 1500.0),
        ("D2", "INV-108", -500.0),
        ("D5", "INV-106", 4200.0),
    ]
