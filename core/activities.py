"""The activities contract: one row is one call, visit, meeting, e-mail, quote or demo done.

`Activity` is the canonical row every CRM's activity export is mapped to and
validated against; `StoredActivity` adds the business day it was done. An
activity is known by its `activity_id` (the latest export wins) and names
the deal it was for (`opportunity_id`) or, failing that, the customer
(`customer_id`). Types are one small vocabulary (`TYPES`) whatever the CRM
calls them (`normalise_type`).

Which deal an activity counts on, and so which branch sees it, is the
stores' `activity_links` (core/pipeline_store.py): the deal it names, else
its customer's deal that was open when it was done.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandera.polars as pa
import polars as pl
from pandera.engines.polars_engine import DateTime

from core.opportunities import NON_EMPTY
from core.zones import local_dates

TYPES: tuple[str, ...] = ("call", "visit", "meeting", "email", "quote", "demo", "other")
VISIT = "visit"

REQUIRED_COLUMNS: tuple[str, ...] = ("activity_id", "type", "done_at", "salesperson")
CANONICAL_COLUMNS: tuple[str, ...] = (
    "activity_id",
    "type",
    "done_at",
    "salesperson",
    "opportunity_id",
    "customer_id",
    "outcome",
)
TEXT_COLUMNS: tuple[str, ...] = (
    "activity_id",
    "type",
    "salesperson",
    "opportunity_id",
    "customer_id",
    "outcome",
)
KEY: tuple[str, ...] = ("activity_id",)
STORED_COLUMNS: tuple[str, ...] = (*CANONICAL_COLUMNS, "done_date")

NEEDS_A_LINK = "needs opportunity_id or customer_id"
DUPLICATE = "duplicate activity_id in this file"

# The words that say each type, tried in this order (a "demo meeting" is a demo, a
# "site visit call" a visit). HubSpot: Call, Email, Meeting, Task, Note; Salesforce
# Task types: Call, Email, Meeting, Send Quote, Other; Pipedrive: call, meeting, task,
# deadline, email, lunch; Odoo: Call, Email, Meeting, To-Do. Anything else is `other`.
TYPE_WORDS: tuple[tuple[str, str], ...] = (
    ("visit", r"\b(visit\w*|site|onsite|field trip|in person)\b"),
    ("demo", r"\b(demo\w*|demonstration\w*|trial|presentation\w*|showroom)\b"),
    ("quote", r"\b(quot\w*|proposal\w*|estimate\w*|tender\w*|offer|pro ?forma)\b"),
    ("meeting", r"\b(meet\w*|lunch\w*|appointment\w*|conference|breakfast|dinner)\b"),
    ("call", r"\b(call\w*|phone\w*|telephone|dial\w*)\b"),
    ("email", r"\b(e ?mail\w*|mail|newsletter)\b"),
)


def normalise_type(text: pl.Expr) -> pl.Expr:
    """A CRM's activity type as one of `TYPES`; null stays null.

    "Site visit" and "Field visit" are visits, "Quotation" and "Proposal" quotes,
    Pipedrive's "lunch" a meeting, "task", "deadline" and "To-Do" other.
    """
    words = text.str.to_lowercase().str.replace_all(r"[^a-z]+", " ").str.strip_chars()
    said = [pl.when(words.str.contains(p)).then(pl.lit(name)) for name, p in TYPE_WORDS]
    return (
        pl.when(words.is_null())
        .then(pl.lit(None, dtype=pl.String))
        .otherwise(pl.coalesce(*said, pl.lit("other")))
    )


class Activity(pa.DataFrameModel):
    """A validated activity in the canonical columns."""

    activity_id: str = pa.Field(str_length=NON_EMPTY)
    type: str = pa.Field(isin=list(TYPES))
    done_at: DateTime(time_zone="UTC", time_unit="us") = pa.Field()  # type: ignore[valid-type]
    salesperson: str = pa.Field(str_length=NON_EMPTY)
    opportunity_id: str = pa.Field(nullable=True, str_length=NON_EMPTY)
    customer_id: str = pa.Field(nullable=True, str_length=NON_EMPTY)
    outcome: str = pa.Field(nullable=True)

    @pa.dataframe_check(error="done_at must not be in the future")
    @classmethod
    def done_not_in_future(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("done_at") <= pl.lit(datetime.now(UTC)))

    @pa.dataframe_check(error=NEEDS_A_LINK)
    @classmethod
    def linked(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col("opportunity_id").is_not_null() | pl.col("customer_id").is_not_null()
        )

    @pa.dataframe_check(error=DUPLICATE)
    @classmethod
    def unique_ids(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.col("activity_id").is_duplicated())

    class Config:
        strict = True
        ordered = False


class StoredActivity(Activity):
    """An activity as the stores hold it: the activity plus its business day."""

    done_date: pl.Date

    class Config:
        strict = True
        ordered = False


def with_business_day(activities: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Add `done_date`: the business day of `done_at`."""
    return activities.with_columns(done_date=local_dates(activities["done_at"], timezone))


def empty_stored() -> pl.DataFrame:
    """A `StoredActivity` frame without rows (the stores' answer before any write)."""
    schema: dict[str, pl.DataType] = {c: pl.String() for c in TEXT_COLUMNS}
    schema |= {"done_at": pl.Datetime("us", "UTC"), "done_date": pl.Date()}
    return pl.DataFrame(schema={c: schema[c] for c in STORED_COLUMNS})
