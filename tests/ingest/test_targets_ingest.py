"""Targets files and the Targets page's edits: every bad row reported with its reason,
nothing written while one fails, re-loads replacing, every change audited."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from core.stores.embedded import EmbeddedStore
from core.targets import stamped
from ingest import audit
from ingest.pipeline import IngestError
from ingest.target_edits import (
    NOT_YOUR_BRANCH,
    editable,
    pending_summary,
    review_edit,
    save_edit,
)
from ingest.targets import ingest_targets, parse_month, prepare_targets
from tests.conftest import run_cli
from tests.fixtures.targets_fixture import target_rows, write_csv

HEADER = "Month,Branch,Sales Rep,Product Line,Sales Target,GP Target\n"


def _failures(body: str) -> list[tuple[int, str, str | None, str]]:
    prepared = prepare_targets((HEADER + body).encode(), "targets.csv")
    assert prepared.targets.is_empty(), "a file with a bad row yields no targets"
    return [tuple(r) for r in prepared.failures.iter_rows()]  # type: ignore[misc]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("2025-13,Nairobi,,,100,\n", (2, "month", "2025-13", "must be a month (YYYY-MM)")),
        ("2025-01-15,Nairobi,,,100,\n", (2, "month", "2025-01-15", "must be a month (YYYY-MM)")),
        (",Nairobi,,,100,\n", (2, "month", None, "is required")),
        ("2025-01,Nairobi,,,,\n", (2, "net_sales", None, "is required")),
        ("2025-01,Nairobi,,,0,\n", (2, "net_sales", "0", "must be more than 0")),
        ("2025-01,Nairobi,,,-5,\n", (2, "net_sales", "-5", "must be more than 0")),
        ("2025-01,Nairobi,,,lots,\n", (2, "net_sales", "lots", "must be a number")),
        ("2025-01,Nairobi,,,100,abc\n", (2, "gross_profit", "abc", "must be a number")),
        (
            "2025-01,,,,100,\n",
            (
                2,
                "branch",
                None,
                "needs a branch, a salesperson or a product line (blank = all)",
            ),
        ),
        (
            "2025-01,Nairobi,,,100,\nJan 2025,Nairobi,,,200,\n",
            (
                3,
                "month",
                "Jan 2025",
                "duplicate month and branch/salesperson/product line in this file",
            ),
        ),
        (
            "2025-01,Nairobi," + "x" * 501 + ",,100,\n",
            (2, "salesperson", "x" * 501, "must be at most 500 characters"),
        ),
    ],
    ids=[
        "month-13",
        "mid-month-day",
        "no-month",
        "no-target",
        "zero-target",
        "negative-target",
        "word-target",
        "word-gross-profit",
        "no-member",
        "duplicate",
        "long-name",
    ],
)
def test_each_contract_failure_has_its_reason(
    body: str, expected: tuple[int, str, str | None, str]
) -> None:
    assert _failures(body) == [expected]


def test_every_bad_row_is_reported_at_once() -> None:
    failures = _failures("2025-13,Nairobi,,,100,\n2025-01,Mombasa,,,-1,\n2025-01,Kisumu,,,9,\n")
    assert [(row, column) for row, column, _, _ in failures] == [(2, "month"), (3, "net_sales")]


@pytest.mark.parametrize(
    ("text", "month"),
    [
        ("2026-01", date(2026, 1, 1)),
        ("2026/1", date(2026, 1, 1)),
        ("01/2026", date(2026, 1, 1)),
        ("Jan 2026", date(2026, 1, 1)),
        ("September-2026", date(2026, 9, 1)),
        ("sep 26", date(2026, 9, 1)),
        ("2026-03-01", date(2026, 3, 1)),
        ("2026-03-09", date(2026, 3, 9)),  # read, then refused by the contract: not a month
        ("Smarch 2026", None),
        ("2026-00", None),
    ],
)
def test_months_as_files_write_them(text: str, month: date | None) -> None:
    assert parse_month(text) == month


def test_headers_by_synonym_and_a_missing_column_named() -> None:
    prepared = prepare_targets(
        b'Period,Branch Name,Target (KES)\n2025-01,Nairobi,"1,250,000"\n', "t.csv"
    )
    assert prepared.ok, prepared.failures
    assert prepared.mapping.columns == {"month": "Period", "branch": "Branch Name"} | {
        "net_sales": "Target (KES)"
    }
    assert prepared.targets["net_sales"].to_list() == [1_250_000.0]
    with pytest.raises(IngestError, match=r"required column.*net_sales"):
        prepare_targets(b"Month,Branch\n2025-01,Nairobi\n", "t.csv")
    with pytest.raises(IngestError, match="no branch, salesperson or product line column"):
        prepare_targets(b"Month,Target\n2025-01,100\n", "t.csv")


def test_a_file_with_a_bad_row_writes_nothing(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "sales")
    result = ingest_targets(
        (HEADER + "2025-01,Nairobi,,,100,\n2025-02,,,,5,\n").encode(), store, "a"
    )
    assert not result.ok
    assert store.read_targets().is_empty()
    assert not (tmp_path / "targets").exists()


def test_cli_loads_replaces_and_audits(tmp_path: Path) -> None:
    path = tmp_path / "targets.csv"
    write_csv(str(path))
    loaded = run_cli(["ingest", str(path), "--dataset", "targets"], tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert "7 targets (inserted 7, updated 0, removed 0), 2025-01 to 2025-03" in loaded.stdout
    again = run_cli(["ingest", str(path), "--dataset", "targets"], tmp_path)
    assert "(inserted 0, updated 7, removed 0)" in again.stdout
    store = EmbeddedStore(tmp_path / "sales")
    assert store.read_targets().height == 7
    # Replace: the file's months keep only the file's targets.
    january = tmp_path / "january.csv"
    january.write_text(HEADER + "2025-01,Nairobi,,,7000,\n")
    replaced = run_cli(
        ["ingest", str(january), "--dataset", "targets", "--mode", "replace"], tmp_path
    )
    assert "(inserted 0, updated 1, removed 3)" in replaced.stdout, replaced.stderr
    months = store.read_targets()["month"].to_list()
    assert months.count(date(2025, 1, 1)) == 1 and len(months) == 4
    records = audit.records(tmp_path)
    assert records["dataset"].to_list() == ["targets"] * 3
    assert records["outcome"].to_list() == ["loaded"] * 3


def test_cli_rejects_with_row_numbers_and_rejects_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "2025-01,Nairobi,,,100,\n2025-02,,,,5,\n")
    rejects = tmp_path / "rejects.csv"
    result = run_cli(
        ["ingest", str(path), "--dataset", "targets", "--rejects", str(rejects)], tmp_path
    )
    assert result.returncode == 1
    assert "row 3: branch = None: needs a branch" in result.stderr
    assert "nothing was written" in result.stderr
    assert pl.read_csv(rejects, infer_schema=False)["row"].to_list() == ["3"]
    line = json.loads((tmp_path / "audit" / "uploads.jsonl").read_text().splitlines()[-1])
    assert (line["dataset"], line["outcome"], line["rows_rejected"]) == ("targets", "rejected", 1)


def test_sales_stays_the_default_dataset(tmp_path: Path) -> None:
    path = tmp_path / "targets.csv"
    write_csv(str(path))
    result = run_cli(["ingest", str(path)], tmp_path)
    assert result.returncode == 2
    assert "required column(s) not found: invoice_id" in result.stderr


def test_an_edit_is_validated_diffed_saved_and_audited(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "sales")
    store.write_targets(stamped(target_rows(), "loader"))
    stored = store.read_targets()
    shown = editable(stored)
    kisumu = (pl.col("branch") == "Kisumu") & (pl.col("month") == "2025-03")
    edited = pl.concat(
        [
            shown.filter(~kisumu).with_columns(
                net_sales=pl.when(
                    (pl.col("branch") == "Nairobi")
                    & pl.col("salesperson").is_null()
                    & (pl.col("month") == "2025-01")
                )
                .then(6500.0)
                .otherwise(pl.col("net_sales"))
            ),
            pl.DataFrame({"month": ["2025-02"], "branch": ["Mombasa"], "net_sales": [2900.0]}),
            pl.DataFrame({"month": [None]}),  # a row added and left empty
        ],
        how="diagonal_relaxed",
    )
    edit = review_edit(stored, edited, None)
    assert edit.ok, edit.failures
    assert edit.lines == (
        "2025-01 Nairobi: 6,200 -> 6,500",
        "+ 2025-02 Mombasa: 2,900",
        "- 2025-03 Kisumu",
    )
    assert pending_summary(edit) == (
        "Not saved yet: 3 changes "
        "(2025-01 Nairobi: 6,200 -> 6,500; + 2025-02 Mombasa: 2,900; - 2025-03 Kisumu)."
    )
    written = save_edit(store, edit, "amina", tmp_path)
    assert (written.inserted, written.updated, written.removed) == (1, 1, 1)
    after = store.read_targets()
    assert after.height == 7
    assert after.filter(pl.col("updated_by") == "amina").height == 2
    record = audit.records(tmp_path).row(0, named=True)
    assert (record["user"], record["source"], record["dataset"]) == (
        "amina",
        "targets page",
        "targets",
    )
    assert "6,200 -> 6,500" in record["detail"] and "- 2025-03 Kisumu" in record["detail"]


def test_an_invalid_edit_lists_its_rows_and_a_restricted_admin_keeps_to_its_branches(
    tmp_path: Path,
) -> None:
    store = EmbeddedStore(tmp_path / "sales")
    store.write_targets(stamped(target_rows(), "loader"))
    stored = store.read_targets().filter(pl.col("branch") == "Mombasa")
    edited = pl.concat(
        [
            editable(stored).with_columns(net_sales=pl.lit(-3.0)),
            pl.DataFrame({"month": ["2025-02"], "branch": ["Nairobi"], "net_sales": [5.0]}),
        ],
        how="diagonal_relaxed",
    )
    edit = review_edit(stored, edited, ("Mombasa",))
    assert not edit.ok
    assert edit.failures.rows() == [
        (1, "net_sales", "-3.0", "must be more than 0"),
        (2, "branch", "Nairobi", NOT_YOUR_BRANCH),
    ]
