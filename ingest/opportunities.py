"""Ingest a CRM export of opportunities: read -> map columns -> parse -> validate -> write.

The same steps and the same failure table as sales lines (`ingest.pipeline`):
every bad cell with its row, column, value and rule, and a file with any bad
row writes nothing. Headers are mapped by the synonyms of the CRMs' own
exports (HubSpot, Salesforce, Pipedrive, Zoho, Odoo); `--map` overrides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandera.errors
import polars as pl

from core.opportunities import (
    CANONICAL_COLUMNS,
    INSTANT_COLUMNS,
    REQUIRED_COLUMNS,
    STATUSES,
    TEXT_COLUMNS,
    Opportunity,
    normalise_status,
    status_of_stage,
    with_business_days,
)
from core.pipeline_store import PipelineStore
from core.schema import BUSINESS_TZ
from core.store import Progress, WriteMode
from core.zones import local_dates
from ingest.crm import (
    PreparedExport,
    instant_column,
    load_export,
    mapped_frame,
    prepared_export,
    write_export,
    yes_no,
)
from ingest.mapping import lookup
from ingest.numbers import Decimal, read_numbers
from ingest.parse import FAILURE_SCHEMA, ROW, Parsed, cell_failures
from ingest.pipeline import IngestResult, read_mapped
from ingest.validate import rule_counts

# Salesforce exports say won and closed as two yes/no columns instead of a status.
FLAG_COLUMNS: tuple[str, ...] = ("won_flag", "closed_flag")
KNOWN_COLUMNS: tuple[str, ...] = (*CANONICAL_COLUMNS, *FLAG_COLUMNS)

# Header spellings of the CRMs' exports, after normalisation (ingest.mapping):
# HubSpot (Record ID, Deal Name, Deal Stage, Create Date, Close Date, Amount, Deal owner),
# Salesforce (Opportunity ID, Stage, Created Date, Close Date, Opportunity Owner, Lead
# Source, Won, Closed), Pipedrive ("Deal - ID", "Deal - Stage", "Deal - Status", "Deal -
# Value", "Deal - Owner", "Deal - Lost reason"), Odoo CRM (ID, Opportunity, Stage,
# Salesperson, Sales Team, Created on, Closed Date, Expected Revenue, Source, Lost Reason).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "opportunity_id": (
        "opportunity id",
        "deal id",
        "deal deal id",
        "deal record id",
        "record id",
        "id",
        "external id",
        "potential id",
        "lead id",
    ),
    "opportunity_name": (
        "opportunity name",
        "opportunity",
        "deal name",
        "deal",
        "deal title",
        "title",
        "potential name",
        "name",
    ),
    "created_at": (
        "created date",
        "create date",
        "created",
        "created on",
        "created at",
        "creation date",
        "deal created",
        "deal deal created",
        "created time",
        "date created",
    ),
    "stage": ("stage", "deal stage", "stage name", "opportunity stage", "pipeline stage"),
    "status": ("status", "deal status", "outcome", "is won", "won status", "deal outcome"),
    "closed_at": (
        "closed date",
        "closed on",
        "close date",
        "closing date",
        "date closed",
        "deal closed on",
        "deal deal closed on",
        "closed at",
        "close time",
    ),
    "amount": (
        "amount",
        "deal value",
        "value",
        "deal amount",
        "expected revenue",
        "opportunity amount",
        "amount kes",
        "amount in company currency",
    ),
    "salesperson": (
        "salesperson",
        "sales person",
        "opportunity owner",
        "deal owner",
        "owner",
        "owner name",
        "sales rep",
        "assigned to",
        "user",
        "potential owner",
    ),
    "branch": (
        "branch",
        "branch name",
        "sales team",
        "team",
        "deal branch",
        "office",
        "business unit",
        "territory",
    ),
    "customer_id": (
        "customer id",
        "account id",
        "company id",
        "organization id",
        "deal organization id",
        "customer code",
        "account number",
    ),
    "customer_name": (
        "customer",
        "customer name",
        "account name",
        "account",
        "company",
        "company name",
        "associated company",
        "organization",
        "deal organization",
        "organization name",
    ),
    "product_line": ("product line", "product category", "category", "deal product line"),
    "product_id": ("product id", "product code", "sku"),
    "lead_source": (
        "lead source",
        "source",
        "deal source",
        "deal source origin",
        "source origin",
        "original source",
        "channel",
        "medium",
    ),
    "lost_reason": (
        "lost reason",
        "deal lost reason",
        "closed lost reason",
        "loss reason",
        "reason lost",
    ),
    "expected_close": (
        "expected close date",
        "expected close",
        "expected closing",
        "expected closing date",
        "deal expected close date",
        "forecast close date",
    ),
    "invoice_id": ("invoice id", "invoice", "invoice number", "invoice no"),
    "won_flag": ("won",),
    "closed_flag": ("closed",),
}
LOOKUP = lookup(SYNONYMS)

_TRUE = ("1", "true", "yes", "y", "t")
_FALSE = ("0", "false", "no", "n", "f")

# Pandera's check names, said the way a person fixing the file needs them, and the
# column a dataframe-wide check judges.
_RULES: dict[str, tuple[str | None, str]] = {
    "not_nullable": (None, "is required"),
    "str_length(1, None)": (None, "must not be empty"),
    "greater_than_or_equal_to(0)": (None, "must be 0 or more"),
    f"isin({list(STATUSES)})": (None, "must be open, won or lost"),
    "must be a finite number": (None, "must be a finite number"),
    "created_at must not be in the future": ("created_at", "must not be in the future"),
    "closed_at must not be in the future": ("closed_at", "must not be in the future"),
    "closed_at must not be before created_at": (
        "closed_at",
        "must not be before created_at",
    ),
    "closed_at is required for a won or lost deal": (
        "closed_at",
        "is required for a won or lost deal",
    ),
    "status contradicts the stage": ("status", "contradicts the stage"),
    "duplicate opportunity_id in this file": (
        "opportunity_id",
        "duplicate opportunity_id in this file",
    ),
}


@dataclass
class PreparedDeals(PreparedExport):
    """A CRM export read, mapped and validated; `lines` holds `StoredOpportunity` rows."""

    day_column: str = "created_date"
    noun: str = "deals"


def parse_deals(
    raw: pl.DataFrame, columns: dict[str, str], timezone: str, decimal: Decimal | None = None
) -> Parsed:
    """Rename mapped columns, parse their types and derive the status.

    The status is the file's status column where it has one (Pipedrive,
    Odoo), else Salesforce's Won and Closed flags, else the outcome the stage
    names (`core.opportunities.status_of_stage`), else open. An open deal's
    close date is its expected close (HubSpot and Salesforce fill "Close
    Date" with the forecast while a deal is open): it moves there.
    """
    text_like = [*TEXT_COLUMNS, "status"]
    renamed, failures = mapped_frame(raw, columns, KNOWN_COLUMNS, tuple(text_like))
    notes: list[str] = []

    source = renamed["amount"]
    if source.dtype.is_numeric():
        amount = source.cast(pl.Float64)
        bad_nan = amount.is_nan().fill_null(False)
        if bad_nan.any():
            failures.append(cell_failures(renamed, "amount", bad_nan, "must be a number"))
    else:
        read = read_numbers(source.cast(pl.String), "amount", decimal)
        amount = read.values
        for bad, rule in read.failures:
            if bad.any():
                failures.append(cell_failures(renamed, "amount", bad, rule))

    instants: dict[str, pl.Series] = {}
    for column in (*INSTANT_COLUMNS, "expected_close"):
        instants[column], column_failures, column_notes = instant_column(renamed, column, timezone)
        failures += column_failures
        notes += column_notes

    status_given = normalise_status(pl.col("status"))
    bad_status = renamed.select(pl.col("status").is_not_null() & status_given.is_null()).to_series()
    if bad_status.any():
        failures.append(cell_failures(renamed, "status", bad_status, "must be open, won or lost"))
    flags = {}
    for column in FLAG_COLUMNS:
        flags[column], bad = yes_no(renamed[column], _TRUE, _FALSE)
        if bad.any():
            failures.append(cell_failures(renamed, column, bad, "must be yes or no (1 or 0)"))
    won, closed = pl.col("won_flag"), pl.col("closed_flag")
    from_flags = (
        pl.when(closed.not_())
        .then(pl.lit("open"))
        .when(won)
        .then(pl.lit("won"))
        .when(closed & won.not_())
        .then(pl.lit("lost"))
        .otherwise(None)
    )
    typed = renamed.with_columns(
        amount=amount,
        created_at=instants["created_at"],
        closed_at=instants["closed_at"],
        expected_close=local_dates(instants["expected_close"], timezone),
        won_flag=flags["won_flag"],
        closed_flag=flags["closed_flag"],
    ).with_columns(
        status=pl.when(pl.col("status").is_not_null())
        .then(status_given)
        .otherwise(pl.coalesce(from_flags, status_of_stage(pl.col("stage")), pl.lit("open")))
    )
    forecast = typed["status"].eq("open") & typed["closed_at"].is_not_null()
    if forecast.any():
        notes.append(
            f"{int(forecast.sum())} open deals have a close date: read as their expected close"
        )
        typed = typed.with_columns(
            expected_close=pl.when(forecast)
            .then(pl.coalesce("expected_close", local_dates(typed["closed_at"], timezone)))
            .otherwise(pl.col("expected_close")),
            closed_at=pl.when(forecast).then(None).otherwise(pl.col("closed_at")),
        )
    return Parsed(
        typed.select(ROW, *CANONICAL_COLUMNS),
        renamed.select(ROW, *CANONICAL_COLUMNS),
        pl.concat(failures) if failures else pl.DataFrame(schema=FAILURE_SCHEMA),
        tuple(notes),
    )


def _rule(check: str) -> tuple[str | None, str]:
    if check in _RULES:
        return _RULES[check]
    match = re.match(r"(\w+)\((.*)\)$", check)
    return None, (f"{match.group(1).replace('_', ' ')} {match.group(2)}" if match else check)


def validate_deals(parsed: Parsed) -> pl.DataFrame:
    """Every failure as (row, column, value, rule): parsing's first, then the contract's."""
    found = [parsed.failures]
    try:
        Opportunity.validate(parsed.frame.select(CANONICAL_COLUMNS), lazy=True)
    except pandera.errors.SchemaErrors as exc:
        rows = parsed.frame[ROW]
        records = []
        for case in exc.failure_cases.iter_rows(named=True):
            named, rule = _rule(str(case["check"]))
            column = named or case["column"]
            index = case["index"]
            if index is None:
                records.append({"row": None, "column": column, "value": None, "rule": rule})
                continue
            value = parsed.text[column][index] if column in parsed.text.columns else None
            if column == "status" and value is None:
                value = parsed.frame["status"][index]
            if rule == "contradicts the stage":
                stage = parsed.frame["stage"][index]
                rule = f"{parsed.frame['status'][index]} contradicts the stage {stage!r}"
            records.append(
                {
                    "row": int(rows[index]),
                    "column": column,
                    "value": None if value is None else str(value),
                    "rule": rule,
                }
            )
        found.append(pl.DataFrame(records, schema=FAILURE_SCHEMA))
    return (
        pl.concat(found)
        .unique(subset=["row", "column"], keep="first", maintain_order=True)
        .sort("row", "column", nulls_last=False)
    )


def prepare_deals(
    data: bytes,
    filename: str,
    explicit_map: dict[str, str] | None = None,
    timezone: str = BUSINESS_TZ,
    progress: Progress | None = None,
    decimal: Decimal | None = None,
) -> PreparedDeals:
    """Read, map, parse and validate an export's bytes without writing anything.

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
    parsed = parse_deals(raw.frame, mapping.columns, timezone, decimal)
    report("validating", 0.5)
    return prepared_export(
        PreparedDeals,
        data,
        filename,
        raw,
        mapping,
        parsed,
        validate_deals(parsed),
        lambda rows: with_business_days(rows, timezone),
    )


def ingest_deals(
    source: Path | bytes,
    store: PipelineStore,
    *,
    filename: str | None = None,
    mode: WriteMode = "append",
    explicit_map: dict[str, str] | None = None,
    timezone: str = BUSINESS_TZ,
    progress: Progress | None = None,
    decimal: Decimal | None = None,
) -> IngestResult:
    """Ingest one export: write every deal, or none if any row fails validation.

    `append` replaces each stored deal the export holds again (the latest
    export wins) and adds the new ones; `replace` makes the export the whole
    dataset.

    Raises
    ------
    IngestError
        If the file cannot be read or mapped (nothing is written).
    """
    return load_export(
        source,
        lambda data, name, report: prepare_deals(
            data, name, explicit_map, timezone, report, decimal
        ),
        lambda prepared, report: write_export(prepared, store, mode, report),
        filename=filename,
        progress=progress,
    )


__all__ = ["PreparedDeals", "ingest_deals", "prepare_deals", "rule_counts"]
