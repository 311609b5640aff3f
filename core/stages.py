"""The stage history contract: one row is one deal entering one stage at one time.

`StageEntry` is the canonical row every CRM's stage history export is
mapped to and validated against; `StoredStageEntry` adds the business day
the row was entered. A row is known by (`opportunity_id`, `stage`,
`entered_at`): loading the same export again changes nothing. Rows need no
stored deal to be loaded (history may arrive before the deals), but every
figure reads them through their deal, so a row whose deal is not stored, or
is outside a user's branches, counts nowhere.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandera.polars as pa
import polars as pl
from pandera.engines.polars_engine import DateTime

from core.opportunities import NON_EMPTY
from core.zones import local_dates

REQUIRED_COLUMNS: tuple[str, ...] = ("opportunity_id", "stage", "entered_at")
CANONICAL_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS
TEXT_COLUMNS: tuple[str, ...] = ("opportunity_id", "stage")
KEY: tuple[str, ...] = ("opportunity_id", "stage", "entered_at")
STORED_COLUMNS: tuple[str, ...] = (*CANONICAL_COLUMNS, "entered_date")

DUPLICATE = "duplicate (opportunity_id, stage, entered_at) in this file"


class StageEntry(pa.DataFrameModel):
    """A validated stage history row in the canonical columns."""

    opportunity_id: str = pa.Field(str_length=NON_EMPTY)
    stage: str = pa.Field(str_length=NON_EMPTY)
    entered_at: DateTime(time_zone="UTC", time_unit="us") = pa.Field()  # type: ignore[valid-type]

    @pa.dataframe_check(error="entered_at must not be in the future")
    @classmethod
    def entered_not_in_future(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("entered_at") <= pl.lit(datetime.now(UTC)))

    @pa.dataframe_check(error=DUPLICATE)
    @classmethod
    def unique_entries(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.struct(KEY).is_duplicated())

    class Config:
        strict = True
        ordered = False


class StoredStageEntry(StageEntry):
    """A stage history row as the stores hold it: the row plus its business day."""

    entered_date: pl.Date

    class Config:
        strict = True
        ordered = False


def with_business_day(entries: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Add `entered_date`: the business day of `entered_at`."""
    return entries.with_columns(entered_date=local_dates(entries["entered_at"], timezone))


def empty_stored() -> pl.DataFrame:
    """A `StoredStageEntry` frame without rows (the stores' answer before any write)."""
    return pl.DataFrame(
        schema={
            "opportunity_id": pl.String(),
            "stage": pl.String(),
            "entered_at": pl.Datetime("us", "UTC"),
            "entered_date": pl.Date(),
        }
    )
