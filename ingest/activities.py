"""Ingest a CRM's activities: read -> map columns -> parse -> validate -> write.

The same steps and failure table as the deals (`ingest.opportunities`):
every bad cell with its row, column, value and rule, and a file with any bad
row writes nothing. Headers are mapped by the synonyms of the CRMs' own
exports (HubSpot's activities, Salesforce's task and event reports,
Pipedrive's activities, Odoo's logged activities); `--map` overrides. The
type becomes one of `core.activities.TYPES`.

Exports that list planned activities beside done ones (Pipedrive's "Activity
- Done", Salesforce's and HubSpot's task status) have them left out, with a
note: only what was done is an activity. HubSpot lists every deal an
activity is associated with ("123;456"); the first is kept, with a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from core.activities import (
    CANONICAL_COLUMNS,
    DUPLICATE,
    NEEDS_A_LINK,
    REQUIRED_COLUMNS,
    TEXT_COLUMNS,
    TYPES,
    Activity,
    normalise_type,
    with_business_day,
)
from core.pipeline_store import KeyedStore
from core.schema import BUSINESS_TZ
from core.store import Progress, WriteMode, WriteResult
from ingest.crm import (
    PreparedExport,
    contract_failures,
    instant_column,
    left_out,
    load_export,
    mapped_frame,
    prepared_export,
    write_export,
    yes_no,
)
from ingest.mapping import lookup
from ingest.parse import FAILURE_SCHEMA, ROW, Parsed, cell_failures
from ingest.pipeline import IngestResult, read_mapped

DONE_COLUMN = "done_flag"
KNOWN_COLUMNS: tuple[str, ...] = (*CANONICAL_COLUMNS, DONE_COLUMN)
LINK_COLUMNS: tuple[str, ...] = ("opportunity_id", "customer_id")

# Header spellings, after normalisation (ingest.mapping): HubSpot (Activity ID, Activity
# type, Activity date, Activity assigned to, Associated Deal IDs, Associated Company IDs),
# Salesforce (Activity ID, Type, Date, Assigned, Opportunity ID, Account ID, Status, Call
# Result), Pipedrive ("Activity - ID", "Activity - Type", "Activity - Marked as done time",
# "Activity - Assigned to user", "Activity - Done", "Deal - ID", "Organization - ID"), Odoo
# (ID, Activity Type, Date, Author, Related Document ID).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "activity_id": (
        "activity id",
        "record id",
        "id",
        "task id",
        "event id",
        "engagement id",
        "external id",
        "message id",
    ),
    "type": (
        "activity type",
        "type",
        "task type",
        "event type",
        "engagement type",
        "activity category",
    ),
    "done_at": (
        "activity date",
        "done at",
        "done on",
        "done date",
        "date done",
        "done time",
        "marked as done time",
        "activity marked as done time",
        "completed at",
        "completed on",
        "completed date",
        "completion date",
        "date completed",
        "date",
    ),
    "salesperson": (
        "salesperson",
        "sales person",
        "sales rep",
        "activity assigned to",
        "activity assigned to user",
        "assigned to",
        "assigned to user",
        "assigned",
        "activity owner",
        "task owner",
        "owner",
        "owner name",
        "user",
        "author",
        "done by",
        "completed by",
    ),
    "opportunity_id": (
        "opportunity id",
        "deal id",
        "deal deal id",
        "associated deal id",
        "associated deal ids",
        "related to id",
        "related document id",
        "potential id",
    ),
    "customer_id": (
        "customer id",
        "account id",
        "company id",
        "associated company id",
        "associated company ids",
        "organization id",
        "organisation id",
        "customer code",
        "account number",
        "partner id",
    ),
    "outcome": (
        "outcome",
        "activity outcome",
        "call outcome",
        "result",
        "call result",
        "disposition",
        "call disposition",
    ),
    DONE_COLUMN: ("done", "activity done", "is done", "status", "task status", "activity status"),
}
LOOKUP = lookup(SYNONYMS)
# What a done/status column says, lower case: done, or planned (left out).
DONE_WORDS: tuple[str, ...] = ("done", "completed", "complete", "held", "yes", "y", "true", "1")
PLANNED_WORDS: tuple[str, ...] = (
    "to do",
    "todo",
    "not done",
    "not started",
    "in progress",
    "open",
    "planned",
    "scheduled",
    "pending",
    "waiting",
    "waiting on someone else",
    "deferred",
    "overdue",
    "cancelled",
    "canceled",
    "no",
    "n",
    "false",
    "0",
)

_RULES: dict[str, str] = {
    "not_nullable": "is required",
    "str_length(1, None)": "must not be empty",
    f"isin({list(TYPES)})": f"must be one of {', '.join(TYPES)}",
    "done_at must not be in the future": "must not be in the future",
    NEEDS_A_LINK: NEEDS_A_LINK,
    DUPLICATE: DUPLICATE,
}
_FRAME_CHECK_COLUMNS: dict[str, str] = {
    "done_at must not be in the future": "done_at",
    NEEDS_A_LINK: "opportunity_id",
    DUPLICATE: "activity_id",
}


@dataclass
class PreparedActivities(PreparedExport):
    """An activity export read, mapped and validated; `lines` holds `StoredActivity` rows."""

    day_column: str = "done_date"
    noun: str = "activities"


def _done_only(renamed: pl.DataFrame) -> tuple[pl.DataFrame, list[pl.DataFrame], list[str]]:
    """The rows of done activities (a blank status counts as done), the status cells that
    say neither done nor planned, and a note of the planned ones left out."""
    done, unclear = yes_no(renamed[DONE_COLUMN], DONE_WORDS, PLANNED_WORDS)
    failures = []
    if unclear.any():
        rule = "must say done (Done, Completed) or planned (To do, Not started)"
        failures.append(cell_failures(renamed, DONE_COLUMN, unclear, rule))
    kept, notes = left_out(renamed, done.fill_null(True), "planned activities (not done yet)")
    return kept, failures, notes


def _first_link(renamed: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Link cells naming several records ("123;456") cut to the first, with a note."""
    notes = []
    for column in LINK_COLUMNS:
        several = renamed[column].str.contains(";").fill_null(False)
        if several.any():
            notes.append(f"{column} lists several in {int(several.sum())} rows: the first is kept")
            first = pl.col(column).str.split(";").list.first().str.strip_chars().replace("", None)
            renamed = renamed.with_columns(first.alias(column))
    return renamed, notes


def parse_activities(raw: pl.DataFrame, columns: dict[str, str], timezone: str) -> Parsed:
    """Rename mapped columns, keep the done activities, parse `done_at`, normalise `type`."""
    renamed, failures = mapped_frame(raw, columns, KNOWN_COLUMNS, (*TEXT_COLUMNS, DONE_COLUMN))
    renamed, done_failures, notes = _done_only(renamed)
    failures = [f.filter(pl.col("row").is_in(renamed[ROW].implode())) for f in failures]
    failures += done_failures
    renamed, link_notes = _first_link(renamed)
    done_at, done_at_failures, done_at_notes = instant_column(renamed, "done_at", timezone)
    typed = renamed.with_columns(done_at=done_at, type=normalise_type(pl.col("type")))
    found = failures + done_at_failures
    return Parsed(
        typed.select(ROW, *CANONICAL_COLUMNS),
        renamed.select(ROW, *CANONICAL_COLUMNS),
        pl.concat(found) if found else pl.DataFrame(schema=FAILURE_SCHEMA),
        tuple(notes + link_notes + done_at_notes),
    )


def validate_activities(parsed: Parsed) -> pl.DataFrame:
    """Every failure as (row, column, value, rule): parsing's first, then the contract's."""
    return contract_failures(parsed, Activity, CANONICAL_COLUMNS, _RULES, _FRAME_CHECK_COLUMNS)


def prepare_activities(
    data: bytes,
    filename: str,
    explicit_map: dict[str, str] | None = None,
    timezone: str = BUSINESS_TZ,
    progress: Progress | None = None,
) -> PreparedActivities:
    """Read, map, parse and validate an activity export without writing anything.

    Raises
    ------
    IngestError
        If the file cannot be read or a required column cannot be found.
    """
    report = progress or (lambda _stage, _fraction: None)
    report("reading", 0.05)
    raw, mapping = read_mapped(
        data,
        filename,
        explicit_map,
        canonical=KNOWN_COLUMNS,
        known_headers=LOOKUP,
        required=REQUIRED_COLUMNS,
    )
    report("parsing", 0.25)
    parsed = parse_activities(raw.frame, mapping.columns, timezone)
    report("validating", 0.5)
    return prepared_export(
        PreparedActivities,
        data,
        filename,
        raw,
        mapping,
        parsed,
        validate_activities(parsed),
        lambda rows: with_business_day(rows, timezone),
    )


def ingest_activities(
    source: Path | bytes,
    store: KeyedStore,
    *,
    filename: str | None = None,
    mode: WriteMode = "append",
    explicit_map: dict[str, str] | None = None,
    timezone: str = BUSINESS_TZ,
    progress: Progress | None = None,
) -> IngestResult:
    """Ingest one activity export: every activity, or none if any row fails.

    `append` replaces each stored activity the export holds again (by
    `activity_id`: the latest export wins) and adds the new ones; `replace`
    makes the export the whole dataset.

    Raises
    ------
    IngestError
        If the file cannot be read or mapped (nothing is written).
    """

    def prepare(data: bytes, name: str, report: Progress) -> PreparedActivities:
        return prepare_activities(data, name, explicit_map, timezone, report)

    def write(prepared: PreparedActivities, report: Progress) -> WriteResult:
        return write_export(prepared, store, mode, report)

    return load_export(source, prepare, write, filename=filename, progress=progress)


__all__ = ["PreparedActivities", "ingest_activities", "prepare_activities"]
