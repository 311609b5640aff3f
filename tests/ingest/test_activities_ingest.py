"""Activities from CRM exports: each CRM's layout, every rule, all or nothing, re-loads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from core.activities import DUPLICATE, NEEDS_A_LINK
from core.store import StoreError
from core.stores.keyed_delta import KeyedDeltaTable
from core.stores.pipeline_embedded import EmbeddedPipelineStore
from ingest import audit
from ingest.activities import ingest_activities, prepare_activities
from ingest.crm import DATE_RULE
from ingest.pipeline import IngestError
from tests.conftest import run_cli

# HubSpot's activities export: every deal and company an activity is associated with,
# ";"-separated.
HUBSPOT = (
    "Activity ID,Activity type,Activity date,Activity assigned to,Associated Deal IDs,"
    "Associated Company IDs,Outcome,Activity title\n"
    "70001,Call,2026-03-03 10:00,Amina Otieno,9001,5001,Connected,Intro call\n"
    "70002,Meeting,2026-03-10 14:30,Amina Otieno,9001;9003,5001,,Site walk-through\n"
    "70003,Email,2026-03-12 09:00,Brian Kamau,,5002,,Quote sent\n"
)
# A Salesforce "Tasks and Events" report: day-first dates, a status beside the type.
SALESFORCE = (
    '"Activity ID","Subject","Type","Date","Assigned","Opportunity ID","Account ID",'
    '"Status","Call Result"\n'
    '"00T5g00000XyZ01","Call Lakeside","Call","01/02/2026","Otieno Ouma","0065g00000AbCdE",'
    '"0015g00000Acc01","Completed","Left voicemail"\n'
    '"00T5g00000XyZ02","Send quote","Send Quote","20/02/2026","Otieno Ouma",'
    '"0065g00000AbCdE","0015g00000Acc01","Completed",""\n'
    '"00T5g00000XyZ03","Rift Mart","Site visit","15/02/2026","Grace Njeri","",'
    '"0015g00000Acc02","Completed",""\n'
    '"00T5g00000XyZ04","Follow up","Call","30/12/2026","Grace Njeri","0065g00000AbCdF","",'
    '"Not Started",""\n'
)
# Pipedrive's activities export: planned and done ones, the done time apart from the due day.
PIPEDRIVE = (
    "Activity - ID,Activity - Subject,Activity - Type,Activity - Due date,Activity - Done,"
    "Activity - Marked as done time,Activity - Assigned to user,Deal - ID,Organization - ID,"
    "Activity - Note\n"
    "501,Call Mama Mboga,call,2026-01-11,Done,2026-01-11 10:15:00,Wanjiku Kamau,41,301,\n"
    "502,Lunch with Juma,lunch,2026-01-14,Done,2026-01-14 13:00:00,Wanjiku Kamau,42,302,"
    "Prices\n"
    "503,Send contract,task,2026-01-18,Done,2026-01-18 16:45:00,Wanjiku Kamau,41,301,\n"
    "504,Follow up,deadline,2026-12-31,To do,,Fatuma Hassan,43,303,\n"
)
# Odoo's logged activities (mail.message of crm.lead): the lead's id as Related Document ID.
ODOO = (
    "ID,Date,Activity Type,Author,Related Document Model,Related Document ID,Subject\n"
    "mail.message_901,2026-02-04 09:00:00,Call,Peter Mwangi,crm.lead,7,\n"
    "mail.message_902,2026-02-12 11:30:00,Meeting,Peter Mwangi,crm.lead,7,Chairs\n"
    "mail.message_903,2026-02-15 08:00:00,To-Do,Esther Chebet,crm.lead,8,Prepare quotation\n"
)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _store(tmp_path: Path) -> KeyedDeltaTable:
    return EmbeddedPipelineStore(tmp_path / "opportunities").activities


def _stored(store: KeyedDeltaTable) -> pl.DataFrame:
    return pl.read_delta(str(store.path)).sort("activity_id")


COLUMNS = ("activity_id", "type", "done_at", "salesperson", "opportunity_id", "customer_id")


@pytest.mark.parametrize(
    ("name", "text", "expected", "notes"),
    [
        (
            "hubspot.csv",
            HUBSPOT,
            [
                ("70001", "call", _utc("2026-03-03 07:00"), "Amina Otieno", "9001", "5001"),
                ("70002", "meeting", _utc("2026-03-10 11:30"), "Amina Otieno", "9001", "5001"),
                ("70003", "email", _utc("2026-03-12 06:00"), "Brian Kamau", None, "5002"),
            ],
            ("opportunity_id lists several in 1 rows: the first is kept",),
        ),
        (
            "salesforce.csv",
            SALESFORCE,
            [
                ("00T5g00000XyZ01", "call", _utc("2026-01-31 21:00"), "Otieno Ouma", "0065g00000AbCdE", "0015g00000Acc01"),  # noqa: E501
                ("00T5g00000XyZ02", "quote", _utc("2026-02-19 21:00"), "Otieno Ouma", "0065g00000AbCdE", "0015g00000Acc01"),  # noqa: E501
                ("00T5g00000XyZ03", "visit", _utc("2026-02-14 21:00"), "Grace Njeri", None, "0015g00000Acc02"),  # noqa: E501
            ],
            (
                "planned activities (not done yet): 1 left out",
                "done_at: slashed dates read as day/month",
            ),
        ),
        (
            "pipedrive.csv",
            PIPEDRIVE,
            [
                ("501", "call", _utc("2026-01-11 07:15"), "Wanjiku Kamau", "41", "301"),
                ("502", "meeting", _utc("2026-01-14 10:00"), "Wanjiku Kamau", "42", "302"),
                ("503", "other", _utc("2026-01-18 13:45"), "Wanjiku Kamau", "41", "301"),
            ],
            ("planned activities (not done yet): 1 left out",),
        ),
        (
            "odoo.csv",
            ODOO,
            [
                ("mail.message_901", "call", _utc("2026-02-04 06:00"), "Peter Mwangi", "7", None),
                ("mail.message_902", "meeting", _utc("2026-02-12 08:30"), "Peter Mwangi", "7", None),  # noqa: E501
                ("mail.message_903", "other", _utc("2026-02-15 05:00"), "Esther Chebet", "8", None),
            ],
            (),
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
    result = ingest_activities(text.encode(), store, filename=name)
    assert result.ok, result.prepared.failures
    assert result.prepared.notes == notes
    assert _stored(store).select(COLUMNS).rows() == expected


def test_crm_columns_land_where_they_belong(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert ingest_activities(HUBSPOT.encode(), store, filename="hubspot.csv").ok
    first = _stored(store).row(0, named=True)
    assert first["outcome"] == "Connected"
    assert first["done_date"].isoformat() == "2026-03-03"


BAD = (
    "Activity ID,Type,Date,Owner,Deal ID,Company ID,Status\n"
    "T1,Call,2026-01-05 10:00,Amina,D1,,Completed\n"
    "T1,Visit,2026-01-06 10:00,Amina,D1,,Completed\n"  # the same id twice
    "T2,Call,2026-01-05 10:00,Amina,,,Completed\n"  # neither a deal nor a customer
    "T3,,2026-01-05 10:00,Amina,D1,,Completed\n"  # no type
    "T4,Call,2099-01-01,Amina,D1,,Completed\n"  # in the future
    "T5,Call,yesterday,Amina,D1,,Completed\n"  # not a date
    "T6,Call,2026-01-05,,D1,,Completed\n"  # nobody did it
    ",Call,2026-01-05,Amina,D1,,Completed\n"  # no id
    "T8,Call,2026-01-05,Amina,D1,,Maybe\n"  # done or not?
    "T9,Site visit,2026-01-05,Amina,,C1,\n"  # the one good row (a blank status is done)
)


def test_every_bad_row_is_reported_with_its_rule_and_nothing_is_written(tmp_path: Path) -> None:
    store = _store(tmp_path)
    result = ingest_activities(BAD.encode(), store, filename="bad.csv")
    assert not result.ok
    assert result.prepared.failures.select("row", "column", "value", "rule").rows() == [
        (2, "activity_id", "T1", DUPLICATE),
        (3, "activity_id", "T1", DUPLICATE),
        (4, "opportunity_id", None, NEEDS_A_LINK),
        (5, "type", None, "is required"),
        (6, "done_at", "2099-01-01", "must not be in the future"),
        (7, "done_at", "yesterday", DATE_RULE),
        (8, "salesperson", None, "is required"),
        (9, "activity_id", None, "is required"),
        (10, "done_flag", "Maybe", "must say done (Done, Completed) or planned (To do, Not started)"),  # noqa: E501
    ]  # fmt: skip
    assert result.prepared.rejected_rows == 9
    assert store.count() == 0
    assert store.data_version() == "empty"


def test_a_missing_required_column_is_named() -> None:
    with pytest.raises(IngestError, match=r"required column.*salesperson"):
        prepare_activities(b"Activity ID,Type,Date,Deal ID\nT1,Call,2026-01-05,D1\n", "x.csv")


def test_reloading_replaces_each_activity_and_latest_export_wins(tmp_path: Path) -> None:
    store = _store(tmp_path)
    first = ingest_activities(HUBSPOT.encode(), store, filename="hubspot.csv").written
    assert first is not None and (first.inserted, first.updated) == (3, 0)
    before = _stored(store)
    again = ingest_activities(HUBSPOT.encode(), store, filename="hubspot.csv").written
    assert again is not None and (again.inserted, again.updated) == (0, 3)
    assert _stored(store).equals(before)
    # The next export: 70003 now has an outcome, 70004 is new, 70001 and 70002 not in it.
    later = (
        HUBSPOT.splitlines()[0] + "\n70003,Email,2026-03-12 09:00,Brian Kamau,,5002,Replied,\n"
        "70004,Call,2026-03-14 09:00,Brian Kamau,9002,5002,,\n"
    )
    result = ingest_activities(later.encode(), store, filename="hubspot-2.csv").written
    assert result is not None and (result.inserted, result.updated) == (1, 1)
    stored = _stored(store)
    assert stored["activity_id"].to_list() == ["70001", "70002", "70003", "70004"]
    assert stored["outcome"].to_list() == ["Connected", None, "Replied", None]


def test_replace_makes_the_export_the_whole_dataset(tmp_path: Path) -> None:
    store = _store(tmp_path)
    ingest_activities(PIPEDRIVE.encode(), store, filename="pipedrive.csv")
    result = ingest_activities(ODOO.encode(), store, filename="odoo.csv", mode="replace")
    assert result.written is not None
    assert (result.written.inserted, result.written.replaced) == (3, 3)
    assert _stored(store)["activity_id"].str.starts_with("mail.message").all()
    with pytest.raises(StoreError, match="a replace needs at least one activity"):
        store.write(_stored(store).clear(), "replace")
    assert store.count() == 3


def test_cli_loads_activities_and_refuses_bad_files(tmp_path: Path) -> None:
    good = tmp_path / "activities.csv"
    good.write_text(PIPEDRIVE)
    done = run_cli(["ingest", str(good), "--dataset", "activities"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "3 activities (3 new" in done.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD)
    rejects = tmp_path / "rejects.csv"
    refused = run_cli(
        ["ingest", str(bad), "--dataset", "activities", "--rejects", str(rejects)], tmp_path
    )
    assert refused.returncode == 1
    assert "row 4: opportunity_id = None: needs opportunity_id or customer_id" in refused.stderr
    assert pl.read_csv(rejects).height == 9
    assert _store(tmp_path).count() == 3
    window = ["--mode", "replace", "--start", "2026-01-01", "--end", "2026-01-31"]
    refused = run_cli(["ingest", str(good), "--dataset", "activities", *window], tmp_path)
    assert refused.returncode == 2
    assert "a date range of sales lines only" in refused.stderr
    logged = audit.records(tmp_path).select("outcome", "dataset").rows()
    assert logged == [
        ("failed", "activities"),
        ("rejected", "activities"),
        ("loaded", "activities"),
    ]
