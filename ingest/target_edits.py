"""An admin's edit of the targets table (the Targets page): validated like a file, audited.

The page shows the stored targets the user may see as an editable table
(month as YYYY-MM text); `review_edit` reads the edited table back through
the same parsing and contract as a targets file (`ingest/targets.py`) and
works out what changed; `save_edit` writes exactly that, all or nothing,
and writes one audit line naming who changed what.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from core.store import SalesStore, StoreError, TargetWriteResult
from core.targets import (
    CANONICAL_COLUMNS,
    KEY_COLUMNS,
    MEMBER_COLUMNS,
    keys_of,
    stamped,
)
from ingest import audit
from ingest.mapping import ColumnMapping
from ingest.parse import FAILURE_SCHEMA, ROW
from ingest.targets import parse_targets, validate_targets

# Changes named one by one in the audit line before "and N more" (the line is bounded).
NAMED_CHANGES = 12
PENDING_NAMED = 3  # the changes named under the editor before Save
NOT_YOUR_BRANCH = "is not a branch you may see"


def editable(stored: pl.DataFrame) -> pl.DataFrame:
    """Stored targets as the editor shows them: the contract's columns, month as YYYY-MM."""
    return stored.select(CANONICAL_COLUMNS).with_columns(pl.col("month").dt.strftime("%Y-%m"))


@dataclass(frozen=True)
class Edit:
    """What an edited table would change, or why it cannot be saved."""

    failures: pl.DataFrame  # (row, column, value, rule); row = the editor's row, from 1
    changed: pl.DataFrame  # `TargetRow` columns: new targets and new values
    removed: pl.DataFrame  # key columns of targets deleted in the editor
    lines: tuple[str, ...] = field(default=())  # each change, said for the audit log

    @property
    def ok(self) -> bool:
        return self.failures.is_empty()

    @property
    def empty(self) -> bool:
        return self.changed.is_empty() and self.removed.is_empty()


def _slice(row: dict[str, object]) -> str:
    members = [str(row[c]) for c in MEMBER_COLUMNS if row.get(c) is not None]
    return f"{row['month']:%Y-%m} {' / '.join(members)}"


def _money(value: object) -> str:
    return "-" if value is None else f"{float(value):,.0f}"  # type: ignore[arg-type]


def review_edit(
    original: pl.DataFrame, edited: pl.DataFrame, allowed_branches: tuple[str, ...] | None
) -> Edit:
    """Validate the editor's table (`editable` columns, as text or numbers) and diff it
    against `original` (the stored targets the user was shown).

    A user kept to some branches may only write targets of those branches.
    """
    text = edited.select(CANONICAL_COLUMNS).cast(dict.fromkeys(CANONICAL_COLUMNS, pl.String))
    # A row added and left empty is no row; the others keep their numbers.
    blank = text.select(
        pl.all_horizontal(
            pl.col(c).str.strip_chars().replace("", None).is_null() for c in text.columns
        )
    ).to_series()
    mapping = ColumnMapping({c: c for c in CANONICAL_COLUMNS}, ())
    frame, cells, parse_failures = parse_targets(text, mapping, ".")
    # The editor's rows count from 1 (no header row, unlike a spreadsheet's row 2).
    kept = ~blank
    frame = frame.filter(kept).with_columns(pl.col(ROW) - 1)
    cells = cells.filter(kept).with_columns(pl.col(ROW) - 1)
    blank_rows = (pl.Series(range(1, len(blank) + 1)).filter(blank)).implode()
    parse_failures = parse_failures.with_columns(pl.col("row") - 1).filter(
        ~pl.col("row").is_in(blank_rows)
    )
    failures = validate_targets(frame, cells, parse_failures)
    if allowed_branches is not None:
        outside = frame.filter(
            pl.col("branch").is_null() | ~pl.col("branch").is_in(list(allowed_branches))
        )
        if outside.height:
            extra = outside.select(
                pl.col(ROW).alias("row"),
                pl.lit("branch").alias("column"),
                pl.col("branch").alias("value"),
                pl.lit(NOT_YOUR_BRANCH).alias("rule"),
            ).cast(FAILURE_SCHEMA)  # type: ignore[arg-type]
            failures = pl.concat([failures, extra]).sort("row", "column")
    if not failures.is_empty():
        return Edit(failures, frame.drop(ROW).clear(), keys_of(frame).clear())
    new = frame.drop(ROW)
    old = original.select(CANONICAL_COLUMNS)
    joined = new.join(old, on=list(KEY_COLUMNS), how="left", nulls_equal=True, suffix="_old")
    changed_mask = ~pl.col("net_sales").eq_missing(pl.col("net_sales_old")) | ~pl.col(
        "gross_profit"
    ).eq_missing(pl.col("gross_profit_old"))
    changed = joined.filter(changed_mask)
    removed = old.join(new, on=list(KEY_COLUMNS), how="anti", nulls_equal=True)
    lines = [
        f"{_slice(row)}: {_money(row['net_sales_old'])} -> {_money(row['net_sales'])}"
        if row["net_sales_old"] is not None
        else f"+ {_slice(row)}: {_money(row['net_sales'])}"
        for row in changed.iter_rows(named=True)
    ]
    lines += [f"- {_slice(row)}" for row in removed.iter_rows(named=True)]
    return Edit(
        pl.DataFrame(schema=FAILURE_SCHEMA),
        changed.select(CANONICAL_COLUMNS),
        keys_of(removed),
        tuple(lines),
    )


def audit_detail(edit: Edit, written: TargetWriteResult) -> str:
    """The audit line's detail: the counts, then each change (the first `NAMED_CHANGES`)."""
    head = f"inserted {written.inserted}, updated {written.updated}, removed {written.removed}"
    return f"{head}: {_named(edit.lines, NAMED_CHANGES)}"


def pending_summary(edit: Edit) -> str:
    """What the editor holds that is not saved yet, said under it before Save."""
    count = len(edit.lines)
    return (
        f"Not saved yet: {count} change{'s' if count != 1 else ''} "
        f"({_named(edit.lines, PENDING_NAMED)})."
    )


def _named(lines: tuple[str, ...], limit: int) -> str:
    named = list(lines[:limit])
    if len(lines) > limit:
        named.append(f"and {len(lines) - limit} more")
    return "; ".join(named)


def _record(
    who: str, outcome: str, accepted: int, rejected: int, seconds: float, detail: str
) -> audit.UploadRecord:
    return audit.UploadRecord(
        at=audit.now_text(),
        user=who,
        file_name="Targets page",
        size_bytes=0,
        sha256="",
        mode="edit",
        rows_accepted=accepted,
        rows_rejected=rejected,
        outcome=outcome,
        seconds=round(seconds, 3),
        detail=detail[: audit.MAX_DETAIL],
        source="targets page",
        dataset="targets",
    )


def save_edit(store: SalesStore, edit: Edit, who: str, data_dir: Path) -> TargetWriteResult:
    """Write a reviewed, valid edit all-or-nothing and audit it (who, what changed).

    Raises
    ------
    StoreError
        If the store cannot write; nothing is written, and the audit line says so.
    """
    started = time.perf_counter()
    try:
        written = store.write_targets(stamped(edit.changed, who), edit.removed)
    except StoreError as exc:
        seconds = time.perf_counter() - started
        audit.append(data_dir, _record(who, "failed", 0, 0, seconds, str(exc)))
        raise
    seconds = time.perf_counter() - started
    detail = audit_detail(edit, written)
    audit.append(data_dir, _record(who, "loaded", edit.changed.height, 0, seconds, detail))
    return written


def record_rejected(edit: Edit, who: str, data_dir: Path) -> None:
    """Audit an edit that was refused: how many rows failed which rules."""
    rows = edit.failures["row"].n_unique()
    rules = sorted(set(edit.failures["rule"].to_list()))
    detail = f"{edit.failures.height} problems: {'; '.join(rules)}"
    audit.append(data_dir, _record(who, "rejected", 0, rows, 0.0, detail))
