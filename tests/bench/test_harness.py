"""The bench harness does not rot: quick mode's query part runs and agrees with DuckDB.

No timing is asserted: this is a smoke test of the harness, not a benchmark.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from bench.data import store_data_dir
from bench.queries import run_queries
from bench.report import markdown, scaling
from bench.sessions import OVERVIEW_AREAS, OVERVIEW_PANELS, run_sessions
from ui import page_data

QUICK_ROWS = 200_000


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return store_data_dir(Path(tmp_path_factory.mktemp("bench")), QUICK_ROWS)


@pytest.fixture(scope="module")
def records(data_dir: Path) -> list[dict]:
    return run_queries(data_dir, QUICK_ROWS, runs=1, druid=None, log=lambda _: None)


def test_every_area_and_scenario_is_timed(records: list[dict]) -> None:
    assert {r["scenario"] for r in records} == {"12 months", "1 branch", "3 salespeople"}
    assert len({r["area"] for r in records}) == 8
    for r in records:
        assert r["cold"]["median"] > 0 and r["warm"]["median"] > 0 and r["duckdb"]["median"] > 0
        assert r["druid"].startswith("not run")


def test_reference_answers_as_many_rows_as_the_kpi_code(records: list[dict]) -> None:
    for r in records:
        if r["area"] == "overview":
            assert r["duckdb_rows"] == 2  # current and comparison rows
        else:
            assert r["duckdb_rows"] == r["result_rows"], (r["scenario"], r["area"])


def test_report_renders(records: list[dict]) -> None:
    results = {"command": "test", "started": "now", "load_start": [0], "load_end": [0],
               "machine": {"cpu": "x", "cores": 2, "memory_gb": 1, "python": "3", "polars": "1",
                           "duckdb": "1", "git_commit": "0" * 40, "git_dirty": False},
               "queries": records, "scaling": scaling(records)}  # fmt: skip
    text = markdown(results)
    assert "| 200k | 12 months | overview |" in text


def test_sessions_compute_what_the_overview_page_reads(data_dir: Path) -> None:
    # What the Overview draws is declared once, in ui/page_data.py's `overview`.
    page = inspect.getsource(page_data.overview)
    assert set(re.findall(r'cache\.area\("([^"]+)"', page)) == set(OVERVIEW_AREAS)
    assert set(re.findall(r'cache\.panel\("([^"]+)"', page)) == set(OVERVIEW_PANELS)
    result = run_sessions(data_dir, QUICK_ROWS, sessions=3, log=lambda _: None)
    assert result["together"]["runs"] == 3
    assert 0 < result["together"]["min"] <= result["together"]["p95"] <= result["wall_s"]
