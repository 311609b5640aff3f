"""The three CRM datasets as both stores keep them: deals, stage history, activities.

Each is a keyed table of its own beside the sales lines (a Delta table
`<name>/` in the embedded store, the datasource `<datasource>_<name>` in
Druid). A write validates the rows against the dataset's stored model; an
`append` replaces every stored row whose key the incoming rows hold again
(the latest export wins) and adds the rest, a `replace` makes the incoming
rows the whole dataset, refusing an empty one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from core import activities, opportunities, stages


@dataclass(frozen=True)
class KeyedDataset:
    """What a store needs to know to keep one CRM dataset."""

    name: str  # directory (embedded) and datasource suffix (Druid)
    noun: str  # what its rows are, plural: in messages
    one: str  # the same, singular
    key: tuple[str, ...]  # the columns that identify a row
    columns: tuple[str, ...]  # the stored columns, in order
    model: type[pa.DataFrameModel]
    empty: Callable[[], pl.DataFrame]
    day: str  # the business day a write's window spans and rows are sorted by

    @property
    def empty_replace(self) -> str:
        # Why a replace by an empty export is refused: it is far likelier a failed export
        # than a CRM with nothing left, and it would wipe the dataset.
        return f"a replace needs at least one {self.one}: the file holds none"


OPPORTUNITIES = KeyedDataset(
    name="opportunities",
    noun="deals",
    one="deal",
    key=("opportunity_id",),
    columns=opportunities.STORED_COLUMNS,
    model=opportunities.StoredOpportunity,
    empty=opportunities.empty_stored,
    day="created_date",
)
STAGES = KeyedDataset(
    name="stages",
    noun="stage entries",
    one="stage entry",
    key=stages.KEY,
    columns=stages.STORED_COLUMNS,
    model=stages.StoredStageEntry,
    empty=stages.empty_stored,
    day="entered_date",
)
ACTIVITIES = KeyedDataset(
    name="activities",
    noun="activities",
    one="activity",
    key=activities.KEY,
    columns=activities.STORED_COLUMNS,
    model=activities.StoredActivity,
    empty=activities.empty_stored,
    day="done_date",
)
EMPTY = "empty"


def combined_version(versions: list[str]) -> str:
    """One cache token for the versions of several datasets: `EMPTY` while all are,
    else the versions joined (any write to any of them changes it)."""
    if all(v == EMPTY for v in versions):
        return EMPTY
    return "+".join(versions)
