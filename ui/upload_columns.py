"""The Upload page's column steps: which contract a dataset follows, the header picked
for each of its columns, and what a checked file would change before it is loaded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl
import streamlit as st

from core import activities as activity_contract
from core import opportunities as deal_contract
from core import stages as stage_contract
from core import targets as target_contract
from core.schema import CANONICAL_COLUMNS, REQUIRED_COLUMNS
from ingest.activities import LOOKUP as ACTIVITY_HEADERS
from ingest.numbers import read_numbers
from ingest.opportunities import LOOKUP as DEAL_HEADERS
from ingest.pipeline import AmbiguousNumberFormat, PreparedFile
from ingest.stages import LOOKUP as STAGE_HEADERS
from ingest.targets import KNOWN_HEADERS as TARGET_HEADERS
from ui import format as fmt

NOT_IN_FILE = "(not in the file)"
SHOWN_RENAMES = 50
GRID_COLUMNS = 4

DATASETS = {
    "sales": "Sales lines",
    "targets": "Targets",
    "opportunities": "CRM deals",
    "stages": "Deal stage history",
    "activities": "Sales activities",
}
# Each dataset's columns, the required ones, and the export headers known for them
# (None: the sales synonyms of `ingest.mapping`).
CONTRACTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], dict[str, str] | None]] = {
    "sales": (CANONICAL_COLUMNS, REQUIRED_COLUMNS, None),
    "targets": (
        target_contract.CANONICAL_COLUMNS,
        target_contract.REQUIRED_COLUMNS,
        TARGET_HEADERS,
    ),
    "opportunities": (
        deal_contract.CANONICAL_COLUMNS,
        deal_contract.REQUIRED_COLUMNS,
        DEAL_HEADERS,
    ),
    "stages": (stage_contract.CANONICAL_COLUMNS, stage_contract.REQUIRED_COLUMNS, STAGE_HEADERS),
    "activities": (
        activity_contract.CANONICAL_COLUMNS,
        activity_contract.REQUIRED_COLUMNS,
        ACTIVITY_HEADERS,
    ),
}


def pick_columns(
    headers: Sequence[str],
    columns: Sequence[str],
    required: Sequence[str],
    proposed: Mapping[str, str],
    key: str,
) -> dict[str, str] | None:
    """A header picker per column, starting from `proposed`; the picks (column: header),
    or None, said on the page, while a required column is unmapped or a header is
    picked twice."""
    chosen: dict[str, str] = {}
    grid = st.columns(GRID_COLUMNS)
    options = [NOT_IN_FILE, *headers]
    for index, column in enumerate(columns):
        default = proposed.get(column)
        pick = grid[index % GRID_COLUMNS].selectbox(
            f"{column} *" if column in required else column,
            options,
            index=options.index(default) if default else 0,
            key=f"{key}_{column}",
        )
        if pick != NOT_IN_FILE:
            chosen[column] = pick
    missing = [c for c in required if c not in chosen]
    picked = list(chosen.values())
    repeated = sorted({h for h in picked if picked.count(h) > 1})
    if missing:
        st.warning(f"Required column(s) still unmapped: {', '.join(missing)}.")
    if repeated:
        st.warning(
            f"Each header can feed one column only: {', '.join(map(fmt.plain, repeated))} "
            "is picked twice."
        )
    return None if missing or repeated else chosen


def show_renames(changes: pl.DataFrame | str, prepared: PreparedFile) -> None:
    """What loading the file would rename in every report, before it is loaded."""
    if isinstance(changes, str):
        st.info(changes)
        return
    if changes.is_empty():
        return
    counts = changes.group_by("change").len().sort("change")
    summary = ", ".join(fmt.plural(n, kind) for kind, n in counts.iter_rows())
    st.warning(
        f"Loading this file renames {summary}: reports name each product and customer "
        "as its latest line does, for all its sales. Check this is meant: a name column "
        "mapped to the wrong header renames them all.",
        icon=":material/edit_note:",
    )
    if "product_name" not in prepared.mapping.columns:
        st.caption("The file has no product_name column, so its products take their IDs as names.")
    st.dataframe(
        changes.head(SHOWN_RENAMES),
        hide_index=True,
        width="stretch",
        column_config={"change": "What changes", "id": "ID", "stored": "Now", "in_file": "After"},
    )


def show_both_readings(frame: pl.DataFrame, header: str, exc: AmbiguousNumberFormat) -> None:
    """The ambiguous column's values (in `frame`'s `header`) read with each mark, for the
    person to choose."""
    values = frame[header].cast(pl.String).drop_nulls().unique(maintain_order=True).head(10)
    readings = pl.DataFrame(
        {
            "In the file": values,
            "Read with a decimal dot": read_numbers(values, exc.column, ".").values,
            "Read with a decimal comma": read_numbers(values, exc.column, ",").values,
        }
    )
    st.warning(
        f"The numbers in **{header}** ({exc.column}) read two ways: is "
        f"{exc.examples[0]} a decimal or thousands? Pick the decimal mark above and "
        "check again.",
        icon=":material/help:",
    )
    st.dataframe(readings, hide_index=True, width="content")
