"""Ingest a CRM's stage history: read -> map columns -> parse -> validate -> write.

The same steps and failure table as the deals (`ingest.opportunities`): every
bad cell with its row, column, value and rule, and a file with any bad row
writes nothing. Two layouts are read:

- one row per deal entering a stage: Salesforce's Opportunity History report
  ("Opportunity ID", "Stage", "Last Modified"), Pipedrive's deal change log
  ("Deal - ID", "Field", "New value", "Log time") and Odoo's stage tracking
  ("Related Document ID", "Field", "New Value", "Date"). A change log's rows
  for fields other than the stage (a "Field" column saying Value, Owner...)
  are left out, with a note;
- HubSpot's deal export, one column per stage: `Date entered "<stage>
  (<pipeline>)"`, the day each deal entered that stage. Each filled cell
  becomes a row (its row number the deal's), the pipeline's name dropped.

`--map` overrides the synonyms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from core.pipeline_store import KeyedStore
from core.schema import BUSINESS_TZ
from core.stages import (
    CANONICAL_COLUMNS,
    DUPLICATE,
    REQUIRED_COLUMNS,
    TEXT_COLUMNS,
    StageEntry,
    with_business_day,
)
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
)
from ingest.mapping import describe_missing, lookup
from ingest.parse import FAILURE_SCHEMA, ROW, Parsed, typed_datetimes
from ingest.pipeline import IngestError, IngestResult, read_mapped

# A change log names the field each row changed; only the stage's rows are history.
FIELD_COLUMN = "tracked_field"
KNOWN_COLUMNS: tuple[str, ...] = (*CANONICAL_COLUMNS, FIELD_COLUMN)

# Header spellings, after normalisation (ingest.mapping): Salesforce (Opportunity ID,
# Stage, Last Modified; Data Loader's OPPORTUNITYID, STAGENAME), Pipedrive ("Deal - ID",
# "New value", "Log time"), Odoo (Related Document ID, New Value, Date), HubSpot's
# Record ID (its stages are column headers: `HUBSPOT_ENTERED`).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "opportunity_id": (
        "opportunity id",
        "opportunityid",
        "deal id",
        "deal deal id",
        "record id",
        "deal record id",
        "related document id",
        "mail message related document id",
        "related to id",
        "potential id",
    ),
    "stage": (
        "stage",
        "stage name",
        "stagename",
        "deal stage",
        "opportunity stage",
        "pipeline stage",
        "to stage",
        "new stage",
        "new value",
        "new value char",
    ),
    "entered_at": (
        "entered at",
        "entered",
        "entered on",
        "date entered",
        "entered stage",
        "entered stage at",
        "stage entered",
        "stage entered at",
        "stage change time",
        "stage change date",
        "stage changed at",
        "changed at",
        "change date",
        "change time",
        "changed on",
        "date changed",
        "last modified",
        "last modified date",
        "edit date",
        "log time",
        "tracking date",
        "date",
        "timestamp",
    ),
    FIELD_COLUMN: ("field", "field event", "changed field", "tracked field", "field name"),
}
LOOKUP = lookup(SYNONYMS)
# `Date entered "Qualified To Buy (Sales Pipeline)"`, with or without the quotes (which
# the CSV reader may hand over doubled, as the file escapes them).
HUBSPOT_ENTERED = re.compile(r'^date entered\s+["“”]*(?P<stage>.+?)["“”]*\s*$', re.IGNORECASE)
PIPELINE_SUFFIX = re.compile(r"\s*\([^()]*\)$")

_RULES: dict[str, str] = {
    "not_nullable": "is required",
    "str_length(1, None)": "must not be empty",
    "entered_at must not be in the future": "must not be in the future",
    DUPLICATE: DUPLICATE,
}
_FRAME_CHECK_COLUMNS: dict[str, str] = {
    "entered_at must not be in the future": "entered_at",
    DUPLICATE: "stage",
}


@dataclass
class PreparedStages(PreparedExport):
    """A stage history export read, mapped and validated; `lines` holds
    `StoredStageEntry` rows."""

    day_column: str = "entered_date"
    noun: str = "stage entries"


def hubspot_stages(headers: list[str]) -> dict[str, str]:
    """{header: stage} of HubSpot's `Date entered "<stage> (<pipeline>)"` columns."""
    found = {}
    for header in headers:
        match = HUBSPOT_ENTERED.match(header.strip())
        if match:
            found[header] = PIPELINE_SUFFIX.sub("", match.group("stage")).strip()
    return found


def _as_text(cells: pl.Series, timezone: str) -> pl.Series:
    """A column of entry times as text: typed ones (Excel, Parquet) as UTC instants."""
    typed = typed_datetimes(cells, timezone)
    if typed is None:
        return cells.cast(pl.String).str.strip_chars()
    return typed.dt.strftime("%Y-%m-%dT%H:%M:%S%.f+00:00")


def unpivot_stages(
    raw: pl.DataFrame, id_header: str, stages: dict[str, str], timezone: str
) -> pl.DataFrame:
    """One row per filled `Date entered` cell: `ROW` (the deal's row), `opportunity_id`,
    `stage`, `entered_at` (the cell as text)."""
    numbered = raw.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
    parts = [
        numbered.select(
            ROW,
            pl.col(id_header).cast(pl.String).alias("opportunity_id"),
            pl.lit(stage).alias("stage"),
            entered_at=_as_text(numbered[header], timezone),
        ).filter(pl.col("entered_at").is_not_null() & (pl.col("entered_at") != ""))
        for header, stage in stages.items()
    ]
    return pl.concat(parts).sort(ROW, maintain_order=True)


def parse_stages(
    raw: pl.DataFrame, columns: dict[str, str], timezone: str, *, numbered: bool = False
) -> Parsed:
    """Rename mapped columns, drop a change log's other fields, parse `entered_at`.

    `numbered`: `raw` carries each row's source line in `ROW` (`unpivot_stages`)."""
    text = (*TEXT_COLUMNS, FIELD_COLUMN)
    renamed, failures = mapped_frame(raw, columns, KNOWN_COLUMNS, text, numbered=numbered)
    field = renamed[FIELD_COLUMN].str.to_lowercase()
    is_stage = field.is_null() | field.str.contains(r"stage")
    renamed, notes = left_out(renamed, is_stage, "changes of other fields than the stage")
    failures = [f.filter(pl.col("row").is_in(renamed[ROW].implode())) for f in failures]
    entered, entered_failures, entered_notes = instant_column(renamed, "entered_at", timezone)
    typed = renamed.with_columns(entered_at=entered)
    found = failures + entered_failures
    return Parsed(
        typed.select(ROW, *CANONICAL_COLUMNS),
        renamed.select(ROW, *CANONICAL_COLUMNS),
        pl.concat(found) if found else pl.DataFrame(schema=FAILURE_SCHEMA),
        tuple(notes + entered_notes),
    )


def validate_stages(parsed: Parsed) -> pl.DataFrame:
    """Every failure as (row, column, value, rule): parsing's first, then the contract's."""
    return contract_failures(parsed, StageEntry, CANONICAL_COLUMNS, _RULES, _FRAME_CHECK_COLUMNS)


def prepare_stages(
    data: bytes,
    filename: str,
    explicit_map: dict[str, str] | None = None,
    timezone: str = BUSINESS_TZ,
    progress: Progress | None = None,
) -> PreparedStages:
    """Read, map, parse and validate a stage history export without writing anything.

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
        required=("opportunity_id",),
    )
    wide = hubspot_stages(raw.frame.columns)
    if wide:
        id_header = mapping.columns["opportunity_id"]
        table = unpivot_stages(raw.frame, id_header, wide, timezone)
        columns = {c: c for c in table.columns if c != ROW}
        # The stage columns are the history: a "Deal Stage" or a date column beside them is not.
        unused = tuple(h for h in raw.frame.columns if h != id_header and h not in wide)
        mapping = replace(mapping, columns={"opportunity_id": id_header}, ignored=unused)
    else:
        mapping = replace(mapping, required=REQUIRED_COLUMNS)
        if mapping.missing_required:
            raise IngestError(f"{filename}: {describe_missing(mapping, raw.frame.columns)}")
        table, columns = raw.frame, mapping.columns
    report("parsing", 0.25)
    parsed = parse_stages(table, columns, timezone, numbered=bool(wide))
    report("validating", 0.5)
    return prepared_export(
        PreparedStages,
        data,
        filename,
        raw,
        mapping,
        parsed,
        validate_stages(parsed),
        lambda rows: with_business_day(rows, timezone),
    )


def ingest_stages(
    source: Path | bytes,
    store: KeyedStore,
    *,
    filename: str | None = None,
    mode: WriteMode = "append",
    explicit_map: dict[str, str] | None = None,
    timezone: str = BUSINESS_TZ,
    progress: Progress | None = None,
) -> IngestResult:
    """Ingest one stage history export: every entry, or none if any row fails.

    `append` adds the entries not stored yet (one is known by its deal,
    stage and time, so loading the same export again changes nothing);
    `replace` makes the export the whole stage history.

    Raises
    ------
    IngestError
        If the file cannot be read or mapped (nothing is written).
    """

    def prepare(data: bytes, name: str, report: Progress) -> PreparedStages:
        return prepare_stages(data, name, explicit_map, timezone, report)

    def write(prepared: PreparedStages, report: Progress) -> WriteResult:
        return write_export(prepared, store, mode, report)

    return load_export(source, prepare, write, filename=filename, progress=progress)


__all__ = ["PreparedStages", "ingest_stages", "prepare_stages"]
