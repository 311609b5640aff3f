"""The bench harness does not rot: quick mode's query part runs and agrees with DuckDB,
and so does the pipeline part on a tiny CRM.

No timing is asserted: this is a smoke test of the harness, not a benchmark.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from bench.data import store_data_dir
from bench.pages import app_pages
from bench.pipeline import PIPELINE_PAGE, run_pipeline
from bench.pipeline_data import CrmSizes, crm_data_dir
from bench.queries import run_queries
from bench.report import markdown, scaling
from bench.sessions import OVERVIEW_AREAS, OVERVIEW_PANELS, run_sessions
from core.pipeline_areas import PIPELINE_AREAS
from core.store import Scope
from core.stores.embedded import EmbeddedStore
from core.stores.pipeline import pipeline_of
from ui import page_data

QUICK_ROWS = 200_000
# A CRM small enough for a few seconds, in the promised proportions (1 : 5 : 10).
TINY_CRM = CrmSizes(deals=2_000, stages=10_000, activities=20_000)
MACHINE = {"cpu": "x", "cores": 2, "memory_gb": 1, "python": "3", "polars": "1",
           "duckdb": "1", "git_commit": "0" * 40, "git_dirty": False}  # fmt: skip


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(tmp_path_factory.mktemp("bench"))


@pytest.fixture(scope="module")
def data_dir(work_dir: Path) -> Path:
    return store_data_dir(work_dir, QUICK_ROWS)


@pytest.fixture(scope="module")
def records(data_dir: Path) -> list[dict[str, Any]]:
    return run_queries(data_dir, QUICK_ROWS, runs=1, druid=None, log=lambda _: None)


def test_every_area_and_scenario_is_timed(records: list[dict[str, Any]]) -> None:
    assert {r["scenario"] for r in records} == {"12 months", "1 branch", "3 salespeople"}
    assert len({r["area"] for r in records}) == 8
    for r in records:
        assert r["cold"]["median"] > 0 and r["warm"]["median"] > 0 and r["duckdb"]["median"] > 0
        assert r["druid"].startswith("not run")


def test_reference_answers_as_many_rows_as_the_kpi_code(records: list[dict[str, Any]]) -> None:
    for r in records:
        if r["area"] == "overview":
            assert r["duckdb_rows"] == 2  # current and comparison rows
        else:
            assert r["duckdb_rows"] == r["result_rows"], (r["scenario"], r["area"])


def test_report_renders(records: list[dict[str, Any]]) -> None:
    results = {"command": "test", "started": "now", "load_start": [0], "load_end": [0],
               "machine": MACHINE, "queries": records, "scaling": scaling(records)}  # fmt: skip
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


@pytest.fixture(scope="module")
def pipeline_records(work_dir: Path) -> list[dict[str, Any]]:
    crm_dir = crm_data_dir(work_dir, QUICK_ROWS, TINY_CRM)
    return run_pipeline(crm_dir, QUICK_ROWS, runs=1, sizes=TINY_CRM, log=lambda _: None)


def test_the_bench_crm_has_the_asked_sizes(
    work_dir: Path, pipeline_records: list[dict[str, Any]]
) -> None:
    pipeline = pipeline_of(EmbeddedStore(store_data_dir(work_dir, QUICK_ROWS) / "sales"))
    counts = (pipeline.count(Scope()), pipeline.stages.count(), pipeline.activities.count())
    assert counts == (TINY_CRM.deals, TINY_CRM.stages, TINY_CRM.activities)


def test_every_pipeline_area_is_timed_and_agrees_with_duckdb(
    pipeline_records: list[dict[str, Any]],
) -> None:
    assert {r["area"] for r in pipeline_records} == set(PIPELINE_AREAS)
    assert {r["scenario"] for r in pipeline_records} == {"12 months", "1 branch", "3 salespeople"}
    for r in pipeline_records:
        assert r["cold"]["median"] > 0 and r["duckdb"]["median"] > 0
        assert r["duckdb_agrees"], (r["scenario"], r["area"], r.get("duckdb_difference"))
        assert r["druid"].startswith("not run")
    # Figures to agree on: the tiny CRM still has won deals, a funnel and activities.
    rows = {(r["scenario"], r["area"]): r["result_rows"] for r in pipeline_records}
    assert rows["12 months", "funnel"] > 1 and rows["12 months", "activities"] > 1


def test_pipeline_table_renders(pipeline_records: list[dict[str, Any]]) -> None:
    results = {"command": "test", "started": "now", "load_start": [0], "load_end": [0],
               "machine": MACHINE, "pipeline": pipeline_records}  # fmt: skip
    text = markdown(results)
    assert "## Pipeline areas (ms), 2,000 deals, 10,000 stage rows" in text
    assert "| 12 months | funnel |" in text
    assert "Targets, of the areas under the three filters: cold under 0.5 s" in text


def test_the_pipeline_page_is_in_the_navigation() -> None:
    assert PIPELINE_PAGE in {page.title for page in app_pages()}
