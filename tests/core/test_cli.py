"""`python -m core export` as a scheduled report runs it: real processes, a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

CSV = (
    "invoice_id,sold_at,branch,salesperson,customer_id,product_id,product_line,"
    "quantity,unit_price,unit_cost\n"
    "A1,2024-03-01 10:00,Mombasa,Amina,C1,P1,Dairy,2,100,60\n"
    "A2,2024-03-02 10:00,Kisumu,Otieno,,P2,Bakery,1,50,20\n"
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("cli")
    source = directory / "march.csv"
    source.write_text(CSV)
    assert run_cli(["ingest", str(source)], directory).returncode == 0
    return directory


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (
            ["--branch", "Atlantis"],
            "--branch 'Atlantis' is not in the store (it has Kisumu, Mombasa)",
        ),
        (["--rep", "Amnia"], "--rep 'Amnia' is not in the store (it has Amina, Otieno)"),
        (["--line", "Dairy", "--line", "Diary"], "--line 'Diary' is not in the store"),
        (["--product", "P9"], "--product 'P9' is not in the store"),
        (["--grain", "fortnight"], "argument --grain: invalid choice: 'fortnight'"),
        (["--start", "2024-13-01"], "start"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(data_dir: Path, args: list[str], reason: str) -> None:
    result = run_cli(["core", "export", "overview", *args], data_dir)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and reason in lines[0], lines


def test_known_members_export(data_dir: Path) -> None:
    result = run_cli(
        ["core", "export", "overview", "--branch", "Mombasa", "--format", "json"], data_dir
    )
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert (row["net_sales"], row["orders"], row["active_customers"]) == (200.0, 1, 1)


def test_overview_of_a_window_without_data_is_one_row_of_zeros(data_dir: Path) -> None:
    result = run_cli(["core", "export", "overview", "--start", "2030-01-01"], data_dir)
    assert result.returncode == 0, result.stderr
    header, values = result.stdout.strip().splitlines()
    row = dict(zip(header.split(","), values.split(","), strict=True))
    assert (row["net_sales"], row["orders"], row["gross_margin_pct"]) == ("0.0", "0", "")
