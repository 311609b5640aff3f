"""The opportunities contract: one row is one CRM deal, as the latest export has it.

`Opportunity` is the canonical, typed deal every CRM export is mapped to and
validated against; `StoredOpportunity` adds the business days the stores
filter and count by. Status follows the stage where the stage says it
(`status_of_stage`), and a stage saying one outcome beside a status saying
another is refused, not guessed.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pandera.polars as pa
import polars as pl
from pandera.engines.polars_engine import DateTime

from core.zones import local_dates

STATUSES: tuple[str, ...] = ("open", "won", "lost")

REQUIRED_COLUMNS: tuple[str, ...] = (
    "opportunity_id",
    "created_at",
    "stage",
    "salesperson",
    "branch",
)
CANONICAL_COLUMNS: tuple[str, ...] = (
    "opportunity_id",
    "opportunity_name",
    "created_at",
    "stage",
    "status",
    "closed_at",
    "amount",
    "salesperson",
    "branch",
    "customer_id",
    "customer_name",
    "product_line",
    "product_id",
    "lead_source",
    "lost_reason",
    "expected_close",
    "invoice_id",
)
TEXT_COLUMNS: tuple[str, ...] = (
    "opportunity_id",
    "opportunity_name",
    "stage",
    "salesperson",
    "branch",
    "customer_id",
    "customer_name",
    "product_line",
    "product_id",
    "lead_source",
    "lost_reason",
    "invoice_id",
)
INSTANT_COLUMNS: tuple[str, ...] = ("created_at", "closed_at")
STORED_COLUMNS: tuple[str, ...] = (*CANONICAL_COLUMNS, "created_date", "closed_date")
# What a query may group or filter deals by; anything else is refused.
DIMENSIONS: tuple[str, ...] = (
    "branch",
    "salesperson",
    "product_line",
    "product_id",
    "lead_source",
    "lost_reason",
    "stage",
    "status",
)

# Ingest strips text and turns blanks into nulls, so "non-empty" is "not null, length >= 1".
NON_EMPTY = {"min_value": 1}


def status_of_stage(stage: pl.Expr) -> pl.Expr:
    """The outcome a stage name states: "won", "lost", or null when it states none.

    "Closed Won", "Won", "closedwon" (HubSpot's internal value) and "6 - Won"
    say won; their "lost" forms say lost. Every other stage (Pipedrive keeps
    a won deal's last stage, "Negotiations Started") says nothing, and the
    status column decides.
    """
    words = stage.str.to_lowercase().str.replace_all(r"[^a-z]+", " ")
    return (
        pl.when(words.str.contains(r"(^|\s)(closed\s?)?won(\s|$)|closedwon"))
        .then(pl.lit("won"))
        .when(words.str.contains(r"(^|\s)(closed\s?)?lost(\s|$)|closedlost"))
        .then(pl.lit("lost"))
        .otherwise(None)
    )


def normalise_status(text: pl.Expr) -> pl.Expr:
    """A CRM's status word as `open`, `won` or `lost`; null for anything else.

    Pipedrive says open/won/lost; Odoo's "Is Won" says Won/Lost/Pending.
    """
    word = text.str.strip_chars().str.to_lowercase()
    return (
        pl.when(word.is_in(["open", "pending", "in progress", "active"]))
        .then(pl.lit("open"))
        .when(word.is_in(["won", "closed won"]))
        .then(pl.lit("won"))
        .when(word.is_in(["lost", "closed lost"]))
        .then(pl.lit("lost"))
        .otherwise(None)
    )


def _now() -> datetime:
    return datetime.now(tz=ZoneInfo("UTC"))


class Opportunity(pa.DataFrameModel):
    """A validated deal in the canonical columns (see docs/contract.md#opportunities)."""

    opportunity_id: str = pa.Field(str_length=NON_EMPTY)
    opportunity_name: str = pa.Field(nullable=True)
    created_at: DateTime(time_zone="UTC", time_unit="us") = pa.Field()  # type: ignore[valid-type]
    stage: str = pa.Field(str_length=NON_EMPTY)
    status: str = pa.Field(isin=list(STATUSES))
    closed_at: DateTime(time_zone="UTC", time_unit="us") = pa.Field(nullable=True)  # type: ignore[valid-type]
    amount: pl.Float64 = pa.Field(nullable=True, ge=0)
    salesperson: str = pa.Field(str_length=NON_EMPTY)
    branch: str = pa.Field(str_length=NON_EMPTY)
    customer_id: str = pa.Field(nullable=True, str_length=NON_EMPTY)
    customer_name: str = pa.Field(nullable=True)
    product_line: str = pa.Field(nullable=True)
    product_id: str = pa.Field(nullable=True)
    lead_source: str = pa.Field(nullable=True)
    lost_reason: str = pa.Field(nullable=True)
    expected_close: pl.Date = pa.Field(nullable=True)
    invoice_id: str = pa.Field(nullable=True)

    @pa.check("amount", error="must be a finite number")
    @classmethod
    def finite_amount(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("amount").is_finite().fill_null(True))

    @pa.dataframe_check(error="created_at must not be in the future")
    @classmethod
    def created_not_in_future(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("created_at") <= pl.lit(_now()))

    @pa.dataframe_check(error="closed_at must not be in the future")
    @classmethod
    def closed_not_in_future(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("closed_at") <= pl.lit(_now())).fill_null(True))

    @pa.dataframe_check(error="closed_at must not be before created_at")
    @classmethod
    def closed_after_created(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("closed_at") >= pl.col("created_at")).fill_null(True))

    @pa.dataframe_check(error="closed_at is required for a won or lost deal")
    @classmethod
    def closed_deals_have_a_close(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("status") == "open") | pl.col("closed_at").is_not_null()
        )

    @pa.dataframe_check(error="status contradicts the stage")
    @classmethod
    def status_agrees_with_stage(cls, data: pa.PolarsData) -> pl.LazyFrame:
        said = status_of_stage(pl.col("stage"))
        return data.lazyframe.select(said.is_null() | (said == pl.col("status")))

    @pa.dataframe_check(error="duplicate opportunity_id in this file")
    @classmethod
    def unique_ids(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.col("opportunity_id").is_duplicated())

    class Config:
        strict = True
        ordered = False


def with_business_days(deals: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Add `created_date` and `closed_date`: the business days of the two instants."""
    return deals.with_columns(
        created_date=local_dates(deals["created_at"], timezone),
        closed_date=local_dates(deals["closed_at"], timezone),
    )


class StoredOpportunity(Opportunity):
    """A deal as the stores hold it: the canonical deal plus its business days."""

    created_date: pl.Date
    closed_date: pl.Date = pa.Field(nullable=True)

    class Config:
        strict = True
        ordered = False


def empty_stored() -> pl.DataFrame:
    """A `StoredOpportunity` frame without rows (the stores' answer before any write)."""
    schema: dict[str, pl.DataType] = {c: pl.String() for c in TEXT_COLUMNS}
    schema |= {c: pl.Datetime("us", "UTC") for c in INSTANT_COLUMNS}
    schema |= {
        "status": pl.String(),
        "amount": pl.Float64(),
        "expected_close": pl.Date(),
        "created_date": pl.Date(),
        "closed_date": pl.Date(),
    }
    return pl.DataFrame(schema={c: schema[c] for c in STORED_COLUMNS})


def identifier(text: str) -> bool:
    """Whether `text` is a plain column name (what SQL text may name)."""
    return re.fullmatch(r"[a-z_]+", text) is not None
