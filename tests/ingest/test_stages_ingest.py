"""Stage history from CRM exports: each CRM's layout, every rule, all or nothing, re-loads."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from core.stages import DUPLICATE
from core.store import StoreError
from core.stores.keyed_delta import KeyedDeltaTable
from core.stores.pipeline_embedded import EmbeddedPipelineStore
from ingest import audit
from ingest.crm import DATE_RULE
from ingest.pipeline import IngestError
from ingest.stages import ingest_stages, prepare_stages
from tests.conftest import run_cli

# HubSpot's deal export with the "Date entered" property of each stage: one column per
# stage (the pipeline's name in brackets), the cell empty where a deal never entered it.
# "Deal Stage" and "Last Modified Date" are there too, and are not the history.
HUBSPOT = (
    "Record ID,Deal Name,Deal Stage,Create Date,Last Modified Date,"
    '"Date entered ""Appointment Scheduled (Sales Pipeline)""",'
    '"Date entered ""Qualified To Buy (Sales Pipeline)""",'
    '"Date entered ""Closed Won (Sales Pipeline)""",'
    '"Date exited ""Appointment Scheduled (Sales Pipeline)"""\n'
    "9001,Acme restock,Closed Won,2026-03-02 09:15,2026-04-10 16:00,2026-03-02 09:15,"
    "2026-03-09 11:00,2026-04-10 16:00,2026-03-09 11:00\n"
    "9002,Beta fitout,Qualified To Buy,2026-03-05 10:00,2026-03-20 10:00,2026-03-05 10:00,"
    "2026-03-20 10:00,,2026-03-20 10:00\n"
)
# Salesforce's Opportunity History report: a row per change of the deal (an amount change
# repeats the stage), day-first dates (en_KE locale), money with its currency.
SALESFORCE = (
    '"Opportunity ID","Opportunity Name","Stage","Amount","Probability (%)","Close Date",'
    '"Last Modified","Last Modified By"\n'
    '"0065g00000AbCdE","Kisumu depot","Prospecting","KES 1,250,000.00","10%","15/04/2026",'
    '"01/02/2026 09:00","Otieno Ouma"\n'
    '"0065g00000AbCdE","Kisumu depot","Prospecting","KES 1,300,000.00","10%","15/04/2026",'
    '"03/02/2026 10:00","Otieno Ouma"\n'
    '"0065g00000AbCdE","Kisumu depot","Negotiation/Review","KES 1,300,000.00","90%",'
    '"15/04/2026","01/04/2026 14:30","Otieno Ouma"\n'
    '"0065g00000AbCdE","Kisumu depot","Closed Won","KES 1,300,000.00","100%","15/04/2026",'
    '"15/04/2026 16:00","Otieno Ouma"\n'
)
# Pipedrive's deal change log: every field's changes; only the stage's are history.
PIPEDRIVE = (
    "Deal - ID,Deal - Title,Field,Old value,New value,Log time,User\n"
    "41,Mama Mboga supply,Stage,,Qualified,2026-01-10 08:00:00,Wanjiku Kamau\n"
    "41,Mama Mboga supply,Value,50000,56000,2026-01-15 09:00:00,Wanjiku Kamau\n"
    "41,Mama Mboga supply,Stage,Qualified,Negotiations Started,2026-01-20 10:00:00,"
    "Wanjiku Kamau\n"
    "42,Duka la Juma,Stage,,Qualified,2026-01-12 09:00:00,Wanjiku Kamau\n"
)
# Odoo's tracking values of crm.lead: the field changed, its old and new value.
ODOO = (
    "Related Document ID,Related Document Model,Field,Old Value,New Value,Date,Author\n"
    "7,crm.lead,Stage,New,Qualified,2026-02-03 07:30:12,Peter Mwangi\n"
    "7,crm.lead,Stage,Qualified,Won,2026-02-20 14:02:00,Peter Mwangi\n"
    "8,crm.lead,Salesperson,Peter Mwangi,Esther Chebet,2026-02-06 12:00:00,Administrator\n"
    "8,crm.lead,Stage,New,Proposition,2026-02-10 12:00:00,Peter Mwangi\n"
)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _store(tmp_path: Path) -> KeyedDeltaTable:
    return EmbeddedPipelineStore(tmp_path / "opportunities").stages


def _stored(store: KeyedDeltaTable) -> pl.DataFrame:
    return pl.read_delta(str(store.path)).sort("opportunity_id", "entered_at")


@pytest.mark.parametrize(
    ("name", "text", "expected", "notes"),
    [
        (
            "hubspot.csv",
            HUBSPOT,
            [
                ("9001", "Appointment Scheduled", _utc("2026-03-02 06:15"), date(2026, 3, 2)),
                ("9001", "Qualified To Buy", _utc("2026-03-09 08:00"), date(2026, 3, 9)),
                ("9001", "Closed Won", _utc("2026-04-10 13:00"), date(2026, 4, 10)),
                ("9002", "Appointment Scheduled", _utc("2026-03-05 07:00"), date(2026, 3, 5)),
                ("9002", "Qualified To Buy", _utc("2026-03-20 07:00"), date(2026, 3, 20)),
            ],
            (),
        ),
        (
            "salesforce.csv",
            SALESFORCE,
            [
                ("0065g00000AbCdE", "Prospecting", _utc("2026-02-01 06:00"), date(2026, 2, 1)),
                ("0065g00000AbCdE", "Prospecting", _utc("2026-02-03 07:00"), date(2026, 2, 3)),
                ("0065g00000AbCdE", "Negotiation/Review", _utc("2026-04-01 11:30"), date(2026, 4, 1)),  # noqa: E501
                ("0065g00000AbCdE", "Closed Won", _utc("2026-04-15 13:00"), date(2026, 4, 15)),
            ],
            ("entered_at: slashed dates read as day/month",),
        ),
        (
            "pipedrive.csv",
            PIPEDRIVE,
            [
                ("41", "Qualified", _utc("2026-01-10 05:00"), date(2026, 1, 10)),
                ("41", "Negotiations Started", _utc("2026-01-20 07:00"), date(2026, 1, 20)),
                ("42", "Qualified", _utc("2026-01-12 06:00"), date(2026, 1, 12)),
            ],
            ("changes of other fields than the stage: 1 left out",),
        ),
        (
            "odoo.csv",
            ODOO,
            [
                ("7", "Qualified", _utc("2026-02-03 04:30:12"), date(2026, 2, 3)),
                ("7", "Won", _utc("2026-02-20 11:02"), date(2026, 2, 20)),
                ("8", "Proposition", _utc("2026-02-10 09:00"), date(2026, 2, 10)),
            ],
            ("changes of other fields than the stage: 1 left out",),
        ),
    ],
)  # fmt: skip
def test_each_crm_export_loads_as_it_comes(
    tmp_path: Path,
    name: str,
    text: str,
    expected: list[tuple[object, ...]],
    notes: tuple[str, ...],
) -> None:
    store = _store(tmp_path)
    result = ingest_stages(text.encode(), store, filename=name)
    assert result.ok, result.prepared.failures
    assert result.prepared.notes == notes
    assert _stored(store).rows() == expected
    assert result.written is not None
    assert result.written.inserted == len(expected)


def test_typed_entry_times_load_too(tmp_path: Path) -> None:
    # HubSpot's layout as a Parquet file with real datetimes (naive: Nairobi time).
    frame = pl.DataFrame(
        {
            "Record ID": ["9001", "9002"],
            'Date entered "Appointment Scheduled (Sales Pipeline)"': [
                datetime(2026, 3, 2, 9, 15),
                None,
            ],
        }
    )
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    store = _store(tmp_path)
    assert ingest_stages(buffer.getvalue(), store, filename="hubspot.parquet").ok
    assert _stored(store).select("opportunity_id", "stage", "entered_at").rows() == [
        ("9001", "Appointment Scheduled", _utc("2026-03-02 06:15"))
    ]


BAD = (
    "Opportunity ID,Stage,Entered At\n"
    "D1,Proposal,2026-01-05 10:00\n"
    "D1,Proposal,2026-01-05 10:00\n"  # the same entry twice
    ",Proposal,2026-01-06\n"  # no deal
    "D2,,2026-01-06\n"  # no stage
    "D3,Proposal,2099-01-01\n"  # in the future
    "D4,Proposal,yesterday\n"  # not a date
    "D5,Qualification,\n"  # no time
    "D6,Proposal,2026-01-07\n"  # the one good row
)


def test_every_bad_row_is_reported_with_its_rule_and_nothing_is_written(tmp_path: Path) -> None:
    store = _store(tmp_path)
    result = ingest_stages(BAD.encode(), store, filename="bad.csv")
    assert not result.ok
    assert result.prepared.failures.select("row", "column", "value", "rule").rows() == [
        (2, "stage", "Proposal", DUPLICATE),
        (3, "stage", "Proposal", DUPLICATE),
        (4, "opportunity_id", None, "is required"),
        (5, "stage", None, "is required"),
        (6, "entered_at", "2099-01-01", "must not be in the future"),
        (7, "entered_at", "yesterday", DATE_RULE),
        (8, "entered_at", None, "is required"),
    ]
    assert result.prepared.rejected_rows == 7
    assert store.count() == 0
    assert store.data_version() == "empty"


def test_a_missing_required_column_is_named() -> None:
    with pytest.raises(IngestError, match=r"required column.*entered_at"):
        prepare_stages(b"Opportunity ID,Stage\nD1,Proposal\n", "x.csv")
    with pytest.raises(IngestError, match=r"required column.*opportunity_id"):
        prepare_stages(b'Deal Name,"Date entered ""New"""\nAcme,2026-01-01\n', "x.csv")


def test_reloading_the_same_export_changes_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    first = ingest_stages(SALESFORCE.encode(), store, filename="history.csv").written
    assert first is not None and (first.inserted, first.updated) == (4, 0)
    again = ingest_stages(SALESFORCE.encode(), store, filename="history.csv").written
    assert again is not None and (again.inserted, again.updated) == (0, 4)
    before = _stored(store)
    # The next report holds every earlier row again, and one more.
    later = SALESFORCE + (
        '"0065g00000AbCdF","Nakuru store","Prospecting","KES 300,000.00","10%","20/03/2026",'
        '"10/02/2026 08:00","Grace Njeri"\n'
    )
    result = ingest_stages(later.encode(), store, filename="history-later.csv").written
    assert result is not None and (result.inserted, result.updated) == (1, 4)
    assert _stored(store).height == 5
    assert _stored(store).filter(pl.col("opportunity_id") == "0065g00000AbCdE").equals(before)


def test_replace_makes_the_export_the_whole_history(tmp_path: Path) -> None:
    store = _store(tmp_path)
    ingest_stages(HUBSPOT.encode(), store, filename="hubspot.csv")
    result = ingest_stages(ODOO.encode(), store, filename="odoo.csv", mode="replace").written
    assert result is not None and (result.inserted, result.replaced) == (3, 5)
    assert _stored(store)["opportunity_id"].to_list() == ["7", "7", "8"]
    with pytest.raises(StoreError, match="a replace needs at least one stage entry"):
        store.write(_stored(store).clear(), "replace")
    assert store.count() == 3


def test_cli_loads_stages_and_refuses_bad_files(tmp_path: Path) -> None:
    good = tmp_path / "history.csv"
    good.write_text(PIPEDRIVE)
    done = run_cli(["ingest", str(good), "--dataset", "stages"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "3 stage entries (3 new" in done.stdout
    assert "note: changes of other fields than the stage: 1 left out" in done.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD)
    rejects = tmp_path / "rejects.csv"
    refused = run_cli(
        ["ingest", str(bad), "--dataset", "stages", "--rejects", str(rejects)], tmp_path
    )
    assert refused.returncode == 1
    assert "7 of 8 stage entries failed validation" in refused.stderr
    assert "nothing was written" in refused.stderr
    assert pl.read_csv(rejects).height == 7
    assert _store(tmp_path).count() == 3
    logged = audit.records(tmp_path).select("file_name", "outcome", "dataset").rows()
    assert logged == [("bad.csv", "rejected", "stages"), ("history.csv", "loaded", "stages")]
