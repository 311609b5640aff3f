"""Influenced revenue on the hand sales fixture (tests/fixtures/hand_fixture.py) and four
won deals written for it, every figure worked out below.

Q1 2025, deals loaded through the CRM ingest (D4 was lost: nothing):

- D1 closed 01-02, names INV-101, K01, Referral: INV-101 (2,000 + 1,100 = 3,100).
- D2 closed 02-10, names none, K01, Field visit: K01's INV-105 on 02-11 (1,500) and
  INV-108 on 02-20 (-500) = 1,000; INV-113 on 03-28 is 46 days on, too late.
- D3 closed 03-01, names none, K05, Referral: none (K05's invoices are all before).
- D5 closed 02-25, names INV-106 (02-12, 13 days before): 2,400 + 1,800 = 4,200.

Per source: Walk-in 1 won, 1 linked, 1 invoice, 4,200; Referral 2 won (3,000 + 500),
1 linked, 1 invoice, 3,100; Field visit 1 won, 1 linked, 2 invoices, 1,000.
A user kept to Mombasa: D3 and D5 only (Mombasa deals): Walk-in 4,200, Referral 0.
"""

from __future__ import annotations

from datetime import date

import pytest

from core.filters import Filters
from core.kpi import influence
from core.kpi.view import View, resolve_view
from core.store import Scope, Window
from core.stores.embedded import EmbeddedStore
from core.stores.pipeline_embedded import EmbeddedPipelineStore
from ingest.opportunities import prepare_deals
from tests.fixtures.hand_fixture import build_store

CRM = (
    "Opportunity ID,Stage,Created Date,Close Date,Amount,Opportunity Owner,Branch,Account ID,"
    "Lead Source,Invoice ID\n"
    """D1,Closed Won,2024-12-10,2025-01-02,3000,Alice,Nairobi,K01,Referral,INV-101
D2,Closed Won,2025-01-20,2025-02-10,1200,Brian,Nairobi,K01,Field visit,
D3,Closed Won,2025-02-01,2025-03-01,500,Carol,Mombasa,K05,Referral,
D4,Closed Lost,2025-01-05,2025-02-01,900,Carol,Mombasa,K02,Website,
D5,Closed Won,2025-02-01,2025-02-25,4000,Carol,Mombasa,K05,Walk-in,INV-106
"""
)


Q1 = Window(date(2025, 1, 1), date(2025, 3, 31))
Stores = tuple[EmbeddedStore, EmbeddedPipelineStore]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Stores:
    root = tmp_path_factory.mktemp("influence")
    sales = build_store(root / "sales")
    deals = EmbeddedPipelineStore(root / "opportunities")
    prepared = prepare_deals(CRM.encode(), "crm.csv")
    assert prepared.ok, prepared.failures
    deals.write(prepared.lines, "append")
    return sales, deals


def _view(sales: EmbeddedStore, allowed: tuple[str, ...] | None = None) -> View:
    return resolve_view(sales, Filters(Q1.start, Q1.end), allowed)


def test_each_source_gets_the_invoices_its_won_deals_brought(stores: Stores) -> None:
    sales, deals = stores
    assert influence.by_lead_source(sales, deals, _view(sales)).rows() == [
        ("Walk-in", 1, 4000.0, 1, 1, 4200.0),
        ("Referral", 2, 3500.0, 1, 1, 3100.0),
        ("Field visit", 1, 1200.0, 1, 2, 1000.0),
    ]


def test_a_restricted_user_counts_only_its_branches_deals_and_invoices(stores: Stores) -> None:
    sales, deals = stores
    assert influence.by_lead_source(sales, deals, _view(sales, ("Mombasa",))).rows() == [
        ("Walk-in", 1, 4000.0, 1, 1, 4200.0),
        ("Referral", 1, 500.0, 0, 0, 0.0),
    ]


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
