"""`python -m core export` as a scheduled report runs it: real processes, a real store."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from core.presets import business_today
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
        (
            ["--rep", "Amnia", "--rep", "Otieno", "--rep", "Otino"],
            "--rep 'Amnia', 'Otino' are not in the store (it has Amina, Otieno)",
        ),
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


@pytest.mark.parametrize("branch", ["Mombasa", "mombasa", " MOMBASA "])
def test_known_members_export(data_dir: Path, branch: str) -> None:
    """A member is matched as a shared link's is: exactly, or one member but for case."""
    result = run_cli(
        ["core", "export", "overview", "--branch", branch, "--format", "json"], data_dir
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


@pytest.fixture(scope="module")
def recent_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, date]:
    """A store with one sale yesterday and one on the first of last month (Nairobi days)."""
    today = business_today("Africa/Nairobi")
    yesterday = today - timedelta(days=1)
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    directory = tmp_path_factory.mktemp("cli-recent")
    source = directory / "recent.csv"
    source.write_text(
        "invoice_id,sold_at,branch,salesperson,customer_id,product_id,product_line,"
        "quantity,unit_price,unit_cost\n"
        f"Y1,{yesterday} 10:00,Mombasa,Amina,C1,P1,Dairy,3,100,60\n"
        f"M1,{last_month} 10:00,Kisumu,Otieno,C2,P2,Bakery,1,50,20\n"
    )
    assert run_cli(["ingest", str(source)], directory).returncode == 0
    return directory, today


@pytest.mark.parametrize(
    ("period", "net_sales"),
    [("yesterday", 300.0), ("last-month", 50.0), ("last-7-days", 300.0)],
)
def test_a_period_export_is_that_period_today(
    recent_dir: tuple[Path, date], period: str, net_sales: float
) -> None:
    directory, today = recent_dir
    result = run_cli(
        ["core", "export", "overview", "--period", period, "--format", "json"], directory
    )
    if business_today("Africa/Nairobi") != today:  # midnight passed between the two
        pytest.skip("the day changed during the test")
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert row["net_sales"] == net_sales


@pytest.mark.parametrize(
    "args",
    [
        ["--period", "last-month", "--start", "2024-01-01"],
        ["--period", "last-month", "--end", "2024-01-01"],
        ["--period", "fortnight"],
    ],
)
def test_a_period_with_dates_or_unknown_is_refused(data_dir: Path, args: list[str]) -> None:
    result = run_cli(["core", "export", "overview", *args], data_dir)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "--period" in line, line
