"""Opportunities from CRM exports: each CRM's layout, every rule, all or nothing, re-loads."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from core.store import Scope, StoreError
from core.stores.pipeline_embedded import EmbeddedPipelineStore
from ingest.opportunities import ingest_deals, prepare_deals
from ingest.pipeline import IngestError
from tests.conftest import run_cli

# HubSpot's deal export: internal ids as "Record ID", owners by name, the stage label;
# "Close Date" is the forecast while a deal is open. "Branch" is a custom deal property.
HUBSPOT = (
    "Record ID,Deal Name,Deal Stage,Create Date,Close Date,Amount,Deal owner,Pipeline,"
    "Branch,Associated Company,Lead Source\n"
    "9001,Acme restock,Closed Won,2026-03-02 09:15,2026-04-10 16:00,250000,Amina Otieno,"
    "Sales Pipeline,Nairobi,Acme Traders,Referral\n"
    "9002,Beta fitout,Closed Lost,2026-03-05 10:00,2026-03-30 12:00,120000,Brian Kamau,"
    "Sales Pipeline,Mombasa,Beta Ltd,Website\n"
    "9003,Gamma order,Presentation Scheduled,2026-05-01 08:00,2026-07-15,90000,Amina Otieno,"
    "Sales Pipeline,Nairobi,Gamma Co,Walk-in\n"
)
# A Salesforce opportunity report: day-first dates (en_KE locale), money with the currency,
# Won and Closed as 1/0 columns beside the stage.
SALESFORCE = (
    '"Opportunity ID","Opportunity Name","Account Name","Stage","Amount","Close Date",'
    '"Created Date","Opportunity Owner","Lead Source","Won","Closed","Type","Sales Team"\n'
    '"0065g00000AbCdE","Kisumu depot","Lakeside Ltd","Closed Won","KES 1,250,000.00",'
    '"15/04/2026","01/02/2026","Otieno Ouma","Referral","1","1","New Business","Kisumu"\n'
    '"0065g00000AbCdF","Nakuru store","Rift Mart","Closed Lost","KES 300,000.00",'
    '"20/03/2026","10/02/2026","Grace Njeri","Trade Show","0","1","New Business","Nakuru"\n'
    '"0065g00000AbCdG","Eldoret farm","Highland Agro","Negotiation/Review","KES 80,000.00",'
    '"30/06/2026","05/04/2026","Otieno Ouma","Web","0","0","Existing Business","Kisumu"\n'
)
# Pipedrive's deals export: every header prefixed "Deal - "; a won deal keeps its last
# pipeline stage and says won in Status.
PIPEDRIVE = (
    "Deal - ID,Deal - Title,Deal - Value,Deal - Currency,Deal - Organization,Deal - Stage,"
    "Deal - Status,Deal - Owner,Deal - Deal created,Deal - Deal closed on,"
    "Deal - Lost reason,Deal - Expected close date,Deal - Source origin,Deal - Branch\n"
    "41,Mama Mboga supply,56000,KES,Mama Mboga,Negotiations Started,won,Wanjiku Kamau,"
    "2026-01-10 08:00:00,2026-02-01 10:00:00,,2026-02-15,Field visit,Nairobi\n"
    "42,Duka la Juma,31000,KES,Duka la Juma,Proposal Made,lost,Wanjiku Kamau,"
    "2026-01-12 09:00:00,2026-01-30 15:00:00,Price too high,,Walk-in,Nairobi\n"
    "43,Hotel Pwani,0,KES,Hotel Pwani,Contact Made,open,Fatuma Hassan,"
    "2026-03-01 11:00:00,,,2026-05-31,Referral,Mombasa\n"
)
# Odoo CRM's export of opportunities (crm.lead): Sales Team is the branch, "Is Won"
# says Won/Lost/Pending.
ODOO = (
    "ID,Opportunity,Customer,Expected Revenue,Stage,Salesperson,Sales Team,Created on,"
    "Closed Date,Expected Closing,Source,Lost Reason,Is Won\n"
    "crm.lead_7,Office chairs,Kilimo Coop,45000.0,Won,Peter Mwangi,Nakuru,"
    "2026-02-03 07:30:12,2026-02-20 14:02:00,2026-02-28,Website,,Won\n"
    "crm.lead_8,Cold room,Baridi Foods,210000.0,Proposition,Peter Mwangi,Nakuru,"
    "2026-02-05 12:00:00,2026-03-02 09:00:00,,Phone,Went with a competitor,Lost\n"
    "crm.lead_9,Delivery van,Haraka Couriers,1500000.0,Qualified,Esther Chebet,Eldoret,"
    "2026-04-11 10:45:00,,2026-08-30,Referral,,Pending\n"
)


def _store(tmp_path: Path) -> EmbeddedPipelineStore:
    return EmbeddedPipelineStore(tmp_path / "opportunities")


def _stored(store: EmbeddedPipelineStore) -> pl.DataFrame:
    return pl.read_delta(str(store.path)).sort("opportunity_id")


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "hubspot.csv",
            HUBSPOT,
            [
                ("9001", "won", "Amina Otieno", "Nairobi", 250000.0, date(2026, 4, 10), None),
                ("9002", "lost", "Brian Kamau", "Mombasa", 120000.0, date(2026, 3, 30), None),
                ("9003", "open", "Amina Otieno", "Nairobi", 90000.0, None, date(2026, 7, 15)),
            ],
        ),
        (
            "salesforce.csv",
            SALESFORCE,
            [
                (
                    "0065g00000AbCdE",
                    "won",
                    "Otieno Ouma",
                    "Kisumu",
                    1250000.0,
                    date(2026, 4, 15),
                    None,
                ),
                ("0065g00000AbCdF", "lost", "Grace Njeri", "Nakuru", 300000.0, date(2026, 3, 20), None),  # noqa: E501
                ("0065g00000AbCdG", "open", "Otieno Ouma", "Kisumu", 80000.0, None, date(2026, 6, 30)),  # noqa: E501
            ],
        ),
        (
            "pipedrive.csv",
            PIPEDRIVE,
            [
                ("41", "won", "Wanjiku Kamau", "Nairobi", 56000.0, date(2026, 2, 1), date(2026, 2, 15)),  # noqa: E501
                ("42", "lost", "Wanjiku Kamau", "Nairobi", 31000.0, date(2026, 1, 30), None),
                ("43", "open", "Fatuma Hassan", "Mombasa", 0.0, None, date(2026, 5, 31)),
            ],
        ),
        (
            "odoo.csv",
            ODOO,
            [
                ("crm.lead_7", "won", "Peter Mwangi", "Nakuru", 45000.0, date(2026, 2, 20), date(2026, 2, 28)),  # noqa: E501
                ("crm.lead_8", "lost", "Peter Mwangi", "Nakuru", 210000.0, date(2026, 3, 2), None),
                ("crm.lead_9", "open", "Esther Chebet", "Eldoret", 1500000.0, None, date(2026, 8, 30)),  # noqa: E501
            ],
        ),
    ],
)  # fmt: skip
def test_each_crm_export_loads_as_it_comes(
    tmp_path: Path, name: str, text: str, expected: list[tuple[object, ...]]
) -> None:
    store = _store(tmp_path)
    result = ingest_deals(text.encode(), store, filename=name)
    assert result.ok, result.prepared.failures
    stored = _stored(store).select(
        "opportunity_id",
        "status",
        "salesperson",
        "branch",
        "amount",
        "closed_date",
        "expected_close",
    )
    assert stored.rows() == expected
    assert store.count(Scope()) == 3


def test_crm_columns_land_where_they_belong(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert ingest_deals(PIPEDRIVE.encode(), store, filename="pipedrive.csv").ok
    lost = _stored(store).row(1, named=True)
    assert lost["lost_reason"] == "Price too high"
    assert lost["lead_source"] == "Walk-in"
    assert lost["customer_name"] == "Duka la Juma"
    assert lost["opportunity_name"] == "Duka la Juma"
    assert lost["stage"] == "Proposal Made"
    # Naive times are Nairobi time: 09:00 local is 06:00 UTC.
    assert lost["created_at"] == datetime(2026, 1, 12, 6, 0, tzinfo=UTC)
    assert lost["created_date"] == date(2026, 1, 12)


def test_excel_export_loads(tmp_path: Path) -> None:
    frame = pl.read_csv(io.StringIO(ODOO), infer_schema=False)
    buffer = io.BytesIO()
    frame.write_excel(buffer)
    result = ingest_deals(buffer.getvalue(), _store(tmp_path), filename="odoo.xlsx")
    assert result.ok, result.prepared.failures


BAD = (
    "Deal ID,Stage,Status,Created,Close Date,Amount,Owner,Branch\n"
    "D1,Closed Won,lost,2026-01-05,2026-02-01,100,Amina,Nairobi\n"  # stage says won
    "D2,Closed Won,,2026-01-05,,100,Amina,Nairobi\n"  # won without a close date
    "D3,Proposal,lost,2026-03-05,2026-02-01,100,Amina,Nairobi\n"  # closed before created
    "D4,Proposal,open,2099-01-05,,100,Amina,Nairobi\n"  # created in the future
    "D5,Proposal,open,2026-01-05,,100,Amina,Nairobi\n"
    "D5,Proposal,open,2026-01-06,,100,Amina,Nairobi\n"  # duplicate id
    "D6,Proposal,maybe,2026-01-05,,-3,Amina,\n"  # unknown status, negative amount, no branch
    "D7,Proposal,open,yesterday,,100,Amina,Nairobi\n"  # unreadable date
    "D8,Proposal,open,2026-01-05,,100,Amina,Nairobi\n"  # the one good row
)


def test_every_bad_row_is_reported_with_its_rule_and_nothing_is_written(tmp_path: Path) -> None:
    store = _store(tmp_path)
    result = ingest_deals(BAD.encode(), store, filename="bad.csv")
    assert not result.ok
    failures = result.prepared.failures.select("row", "column", "value", "rule").rows()
    assert failures == [
        (2, "status", "lost", "lost contradicts the stage 'Closed Won'"),
        (3, "closed_at", None, "is required for a won or lost deal"),
        (4, "closed_at", "2026-02-01", "must not be before created_at"),
        (5, "created_at", "2099-01-05", "must not be in the future"),
        (6, "opportunity_id", "D5", "duplicate opportunity_id in this file"),
        (7, "opportunity_id", "D5", "duplicate opportunity_id in this file"),
        (8, "amount", "-3", "must be 0 or more"),
        (8, "branch", None, "is required"),
        (8, "status", "maybe", "must be open, won or lost"),
        (9, "created_at", "yesterday", "must be a date such as 2024-01-31 or 31/01/2024"),
    ]
    assert result.prepared.rejected_rows == 8
    assert store.count(Scope()) == 0
    assert store.data_version() == "empty"


def test_a_missing_required_column_is_named(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"required column.*branch"):
        prepare_deals(b"Deal ID,Stage,Created,Owner\nD1,New,2026-01-01,Amina\n", "x.csv")


def test_reloading_replaces_each_deal_and_latest_export_wins(tmp_path: Path) -> None:
    store = _store(tmp_path)
    first = ingest_deals(HUBSPOT.encode(), store, filename="hubspot.csv")
    assert (first.written.inserted, first.written.updated) == (3, 0)  # type: ignore[union-attr]
    again = ingest_deals(HUBSPOT.encode(), store, filename="hubspot.csv")
    assert (again.written.inserted, again.written.updated) == (0, 3)  # type: ignore[union-attr]
    assert store.count(Scope()) == 3
    # The next export: 9003 is won now, 9004 is new; 9001 and 9002 are not in it.
    later = (
        HUBSPOT.splitlines()[0]
        + "\n9003,Gamma order,Closed Won,2026-05-01 08:00,2026-06-01 10:00,95000,Amina Otieno,"
        "Sales Pipeline,Nairobi,Gamma Co,Walk-in\n"
        "9004,Delta,Appointment Scheduled,2026-06-02 08:00,,10000,Brian Kamau,"
        "Sales Pipeline,Mombasa,Delta,Website\n"
    )
    result = ingest_deals(later.encode(), store, filename="hubspot-june.csv")
    assert (result.written.inserted, result.written.updated) == (1, 1)  # type: ignore[union-attr]
    stored = _stored(store)
    assert stored["opportunity_id"].to_list() == ["9001", "9002", "9003", "9004"]
    gamma = stored.row(2, named=True)
    assert (gamma["status"], gamma["amount"], gamma["closed_date"]) == (
        "won",
        95000.0,
        date(2026, 6, 1),
    )


def test_replace_makes_the_export_the_whole_dataset(tmp_path: Path) -> None:
    store = _store(tmp_path)
    ingest_deals(HUBSPOT.encode(), store, filename="hubspot.csv")
    result = ingest_deals(ODOO.encode(), store, filename="odoo.csv", mode="replace")
    assert result.written is not None
    assert (result.written.inserted, result.written.replaced) == (3, 3)
    assert _stored(store)["opportunity_id"].to_list() == ["crm.lead_7", "crm.lead_8", "crm.lead_9"]


def test_an_empty_export_never_replaces_the_deals(tmp_path: Path) -> None:
    ingest_deals(HUBSPOT.encode(), _store(tmp_path), filename="hubspot.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text(HUBSPOT.splitlines()[0] + "\n")
    refused = run_cli(
        ["ingest", str(empty), "--dataset", "opportunities", "--mode", "replace"], tmp_path
    )
    assert refused.returncode == 2
    assert "empty.csv: the file has a header but no data rows" in refused.stderr
    # The store refuses it too, whoever asks (the Druid store alike: test_pipeline_parity).
    store = _store(tmp_path)
    with pytest.raises(StoreError, match="a replace needs at least one deal"):
        store.write(_stored(store).clear(), "replace")
    assert store.count(Scope()) == 3  # untouched


def test_cli_loads_opportunities_and_refuses_bad_files(tmp_path: Path) -> None:
    good = tmp_path / "salesforce.csv"
    good.write_text(SALESFORCE)
    done = run_cli(["ingest", str(good), "--dataset", "opportunities"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "3 deals (3 new" in done.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD)
    rejects = tmp_path / "rejects.csv"
    refused = run_cli(
        ["ingest", str(bad), "--dataset", "opportunities", "--rejects", str(rejects)],
        tmp_path,
    )
    assert refused.returncode == 1
    assert "row 2: status = 'lost': lost contradicts the stage 'Closed Won'" in refused.stderr
    assert "nothing was written" in refused.stderr
    assert pl.read_csv(rejects).height == 8
    assert EmbeddedPipelineStore(tmp_path / "opportunities").count(Scope()) == 3
