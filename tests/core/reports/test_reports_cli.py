"""`python -m core.reports` and `python -m core export --user` in fresh processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli


@pytest.fixture()
def data_dir(store_dir: Path) -> Path:
    (store_dir / "reports.sqlite").unlink(missing_ok=True)
    return store_dir


def _one_line_error(result, reason: str) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and reason in lines[0], lines


def test_add_list_run_and_remove(data_dir: Path) -> None:
    added = run_cli(
        [
            "core.reports",
            "add",
            "mombasa",
            "amina@example.co.ke",
            "https://sales.example.co.ke/branches?period=yesterday",
            "--schedule",
            "weekly mon 07:00",
        ],
        data_dir,
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "report 1: branches to amina@example.co.ke, weekly mon 07:00"
    alert = run_cli(
        [
            "core.reports",
            "add-alert",
            "mombasa",
            "amina@example.co.ke",
            "stale-feed",
            "--branch",
            "Mombasa",
            "--by",
            "14:00",
        ],
        data_dir,
    )
    assert alert.stdout.strip() == (
        "alert 1: no sales recorded today for Mombasa by 14:00, to amina@example.co.ke"
    )
    # No SALES_SMTP_URL here: the run fails with the setting's name, recorded for the list.
    run = run_cli(["core.reports", "run", "1"], data_dir)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == (
        "error: no mail server: set SALES_SMTP_URL (smtp://host:port)"
    )
    listed = run_cli(["core.reports", "list"], data_dir).stdout
    assert (
        "report 1\tmombasa\tamina@example.co.ke\tbranches?period=yesterday\tweekly mon 07:00"
        in listed
    )
    assert "alert 1\tmombasa" in listed and "failed report 1" in listed
    assert run_cli(["core.reports", "remove", "1"], data_dir).stdout.strip() == "removed report 1"
    after = run_cli(["core.reports", "list"], data_dir).stdout.splitlines()
    assert not [line for line in after if line.startswith("report 1\t")]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (
            ["add", "admin", "a@example.co.ke", "branches", "--schedule", "hourly"],
            "schedule 'hourly'",
        ),
        (
            ["add", "admin", "a@example.co.ke", "branches", "--schedule", "monthly 31 07:00"],
            "1 to 28",
        ),
        (
            ["add", "admin", "not-an-address", "branches", "--schedule", "daily 07:00"],
            "not an e-mail",
        ),
        (
            ["add", "nobody", "a@example.co.ke", "branches", "--schedule", "daily 07:00"],
            "not a user",
        ),
        (
            [
                "add",
                "mombasa",
                "a@example.co.ke",
                "/branches?branch=Kisumu",
                "--schedule",
                "daily 07:00",
            ],
            "branch 'Kisumu' is not in the branches this user may see",
        ),
        (
            ["add", "admin", "a@example.co.ke", "/pricing?x=1", "--schedule", "daily 07:00"],
            "'pricing' is not a page",
        ),
        (
            ["add-alert", "admin", "a@example.co.ke", "gross-margin", "--line", "Dairy"],
            "needs below",
        ),
        (["remove", "99"], "no report 99"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(data_dir: Path, args: list[str], reason: str) -> None:
    _one_line_error(run_cli(["core.reports", *args], data_dir), reason)


def test_export_as_a_user_keeps_to_its_branches(data_dir: Path) -> None:
    result = run_cli(
        ["core", "export", "branches", "--user", "mombasa", "--format", "json"], data_dir
    )
    assert result.returncode == 0, result.stderr
    assert [row["branch"] for row in json.loads(result.stdout)] == ["Mombasa"]
    _one_line_error(
        run_cli(["core", "export", "branches", "--user", "nobody"], data_dir), "is not a user"
    )
