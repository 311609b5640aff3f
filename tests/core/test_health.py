"""`python -m core.health`: exit 0/1 and one line of reason, on good, empty and broken stores."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from core.diagnostics import crm_datasets
from core.health import check
from core.settings import load_settings
from core.stores.embedded import EmbeddedStore
from core.stores.pipeline_embedded import EmbeddedPipelineStore
from ingest.sample import generate_sales
from tests.conftest import ROOT, app_env, to_stored
from tests.fixtures import crm_history_fixture as history


def _good(data_dir: Path) -> Path:
    store_dir = data_dir / "sales"
    EmbeddedStore(store_dir).write(
        to_stored(generate_sales(200, seed=5, end=date(2026, 6, 30), years=1)), "append"
    )
    return store_dir


def _health(data_dir: Path, **env: str) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "core.health"],
        cwd=ROOT,
        env={**app_env(data_dir), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in result.stderr
    out = result.stdout.strip()
    assert len(out.splitlines()) == 1, out
    return result.returncode, out


def test_good_store_is_healthy(tmp_path: Path) -> None:
    _good(tmp_path)
    code, line = _health(tmp_path)
    assert code == 0
    assert line.startswith("ok: embedded: 200 lines in ")


def test_missing_data_dir_is_healthy_but_says_empty(tmp_path: Path) -> None:
    # A fresh deployment before its first upload must pass, or it is restarted forever.
    code, line = _health(tmp_path / "not-created-yet")
    assert code == 0
    assert "no data yet" in line


def _corrupt_log(store_dir: Path) -> None:
    (store_dir / "_delta_log" / "00000000000000000000.json").write_text("garbage{")


def _truncate_data_file(store_dir: Path) -> None:
    part = next(store_dir.glob("*.parquet"))
    part.write_bytes(part.read_bytes()[:100])


def _delete_data_file(store_dir: Path) -> None:
    next(store_dir.glob("*.parquet")).unlink()


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_corrupt_log, "cannot open"),
        (_truncate_data_file, "cannot read"),
        (_delete_data_file, "No such file"),
    ],
    ids=["corrupt-log", "truncated-data-file", "missing-data-file"],
)
def test_damaged_store_is_unhealthy(tmp_path: Path, damage, reason: str) -> None:
    damage(_good(tmp_path))
    code, line = _health(tmp_path)
    assert code == 1
    assert line.startswith("unhealthy: embedded: ") and reason in line


def test_store_path_that_is_a_file_or_foreign_dir(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "sales").write_text("not a directory")
    assert not check(load_settings({"SALES_DATA_DIR": str(tmp_path / "a")})).ok
    (tmp_path / "b" / "sales").mkdir(parents=True)
    (tmp_path / "b" / "sales" / "export.csv").write_text("x")
    health = check(load_settings({"SALES_DATA_DIR": str(tmp_path / "b")}))
    assert not health.ok and "not a Delta table" in health.detail


def test_bad_configuration_is_unhealthy(tmp_path: Path) -> None:
    code, line = _health(tmp_path, SALES_BACKEND="oracle")
    assert code == 1 and line.startswith("unhealthy: configuration: SALES_BACKEND='oracle'")


def test_diagnostics_lists_each_crm_dataset_with_its_rows(tmp_path: Path) -> None:
    pipeline = EmbeddedPipelineStore(tmp_path / "opportunities")
    assert [row["status"] for row in crm_datasets(pipeline)] == ["ok", "ok", "ok"]
    pipeline.write(history.crm_deals(), "append")
    pipeline.activities.write(history.activities(), "append")
    rows = {row["dataset"]: row for row in crm_datasets(pipeline)}
    assert rows["CRM deals"]["detail"].startswith(f"{history.crm_deals().height:,} ")
    assert rows["Deal stage history"]["detail"].startswith("no stages yet")
    assert rows["Sales activities"]["detail"].startswith(f"{history.activities().height:,} ")
