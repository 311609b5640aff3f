"""The pipeline (CRM) part: every pipeline area cold, beside DuckDB and Druid; the
Pipeline page's first visit.

The data dir is the bench's sales store with the bench's CRM loaded beside it
(`bench.pipeline_data.crm_data_dir`: 100,000 deals, 500,000 stage rows,
1,000,000 activities). For each area of `core.pipeline_areas.PIPELINE_AREAS`
under the KPI part's three filters (`bench.queries.scenarios`):

- cold: a new `EmbeddedStore` (and so a new pipeline store beside it) and a
  direct call of the area function, no application cache; CPU as in the
  KPI part;
- DuckDB: `bench/pipeline_reference.py`, one statement per area over the
  Parquet files of the Delta tables' current versions, measured in the same
  run; ratio = cold / DuckDB; and whether the two tables agree on every
  figure (`pipeline_reference.agreement`), so the timing compares like with
  like;
- Druid: the same area function on the Druid sales store of the same lines,
  its CRM datasources loaded with the same rows (`load_druid_crm`), after
  every in-process figure; its table held against DuckDB's as well.

The page: the Pipeline page of `app.py`'s navigation opened by its link in a
new browser (first visit) and again (warm), then in a new tab of a browser
that has shown the app before, as `bench/pages.py` times every page.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from bench.pipeline_data import PIPELINE_SIZES, CrmSizes, crm_layout_hash
from bench.pipeline_reference import PIPELINE_SQL, PipelineReference, agreement
from bench.queries import Stat, scenarios, timed
from core.exports import AREAS
from core.kpi.view import View, resolve_view
from core.pipeline_areas import PIPELINE_AREAS
from core.store import SalesStore, Scope, StoreError
from core.stores.embedded import EmbeddedStore

PIPELINE_PAGE = "Pipeline"
assert set(PIPELINE_AREAS) == set(PIPELINE_SQL), "every pipeline area needs its DuckDB twin"


def run_pipeline(
    data_dir: Path,
    rows: int,
    runs: int,
    sizes: CrmSizes = PIPELINE_SIZES,
    reference: bool = True,
    druid: tuple[SalesStore | None, str] | None = None,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Time every pipeline area under every scenario; one record per (scenario, area)."""
    path = data_dir / "sales"
    store = EmbeddedStore(path)
    views: dict[str, View] = {s.name: resolve_view(store, s.filters) for s in scenarios(store)}
    ref = PipelineReference.open(data_dir) if reference else None
    druid_target, druid_note = druid if druid is not None else (None, "not run: --no-druid")
    crm = {"deals": sizes.deals, "stages": sizes.stages, "activities": sizes.activities}
    records: list[dict[str, Any]] = []
    expected: dict[tuple[str, str], pl.DataFrame] = {}
    for scenario, view in views.items():
        for area in PIPELINE_AREAS:
            function = AREAS[area]
            record: dict[str, Any] = {"rows": rows, **crm, "scenario": scenario, "area": area}
            cpu_started = time.process_time()
            cold, table = timed(partial(_cold, function, path, view), runs)
            record["cold"] = cold.as_dict()
            record["cold_cpu_s"] = (time.process_time() - cpu_started) / runs
            record["result_rows"] = table.height
            if ref is not None:
                ref_stat, ref_rows = timed(partial(ref.run, area, view), runs)
                record["duckdb"] = ref_stat.as_dict()
                record["duckdb_rows"] = len(ref_rows)
                record["ratio"] = cold.median / ref_stat.median
                expected[scenario, area] = ref.frame(area, view)
                _agrees(record, "duckdb", agreement(area, table, expected[scenario, area]))
            record["druid"] = druid_note
            log(
                f"  {scenario:<14} {area:<22} cold {cold.median * 1000:8.1f} ms"
                + (
                    f"  duckdb {record['duckdb']['median'] * 1000:8.1f} ms"
                    f"  {'agrees' if record['duckdb_agrees'] else 'DIFFERS'}"
                    if ref
                    else ""
                )
            )
            records.append(record)
    # Druid last, after every in-process figure (as in bench/queries.py).
    if druid_target is not None:
        for record in records:
            view, function = views[record["scenario"]], AREAS[record["area"]]
            stat, table, failures = _timed_druid(partial(function, druid_target, view), runs)
            name = f"  {record['scenario']:<14} {record['area']:<22} druid"
            if stat is None or table is None:
                record["druid"] = f"failed: {failures[0]}"
                log(f"{name} failed in every run: {failures[0]}")
                continue
            record["druid"] = stat.as_dict()
            if failures:
                record["druid_failures"] = failures
            key = (record["scenario"], record["area"])
            if key in expected:
                _agrees(record, "druid", agreement(record["area"], table, expected[key]))
            log(
                f"{name} {stat.median * 1000:8.1f} ms"
                + (f"  {'agrees' if record.get('druid_agrees') else 'DIFFERS'}" if ref else "")
                + (f"  ({len(failures)} of {runs} runs failed)" if failures else "")
            )
    return records


def _timed_druid(
    call: Callable[[], pl.DataFrame], runs: int
) -> tuple[Stat | None, pl.DataFrame | None, list[str]]:
    """`timed`, but a run Druid refuses (a StoreError) is recorded, not raised: the
    median of the runs that answered (None if none did), the last answer, the refusals."""
    seconds: list[float] = []
    failures: list[str] = []
    table = None
    for _ in range(runs):
        started = time.perf_counter()
        try:
            table = call()
        except StoreError as exc:
            failures.append(str(exc).splitlines()[0][:200])
            continue
        seconds.append(time.perf_counter() - started)
    return (Stat.of(seconds) if seconds else None), table, failures


def _cold(area: Callable[[SalesStore, View], pl.DataFrame], path: Path, view: View) -> Any:
    """The area on a new store object: no cache of a previous call."""
    return area(EmbeddedStore(path), view)


def _agrees(record: dict[str, Any], engine: str, difference: str | None) -> None:
    record[f"{engine}_agrees"] = difference is None
    if difference is not None:
        record[f"{engine}_difference"] = difference


def load_druid_crm(
    druid: SalesStore,
    data_dir: Path,
    work_dir: Path,
    sizes: CrmSizes = PIPELINE_SIZES,
    log: Callable[[str], None] = print,
) -> tuple[str, float | None]:
    """(note, load seconds or None if reused): the Druid CRM datasources beside `druid`
    holding what the embedded store of `data_dir` holds.

    The datasources (`<sales datasource>_opportunities`, `_stages`,
    `_activities`) are kept for the next run, as the sales datasource is; a
    marker in the work dir records the CRM code they were loaded from, and a
    change, or other row counts, loads them again (replace).
    """
    from core.stores.pipeline import pipeline_of

    pipeline: Any = pipeline_of(druid)
    embedded: Any = pipeline_of(EmbeddedStore(data_dir / "sales"))
    datasets = {"deals": pipeline, "stages": pipeline.stages, "activities": pipeline.activities}
    tables = {"deals": embedded.deals, "stages": embedded.stages, "activities": embedded.activities}
    marker = work_dir / "druid-crm" / f"{pipeline.datasource}.json"
    wanted = {**asdict(sizes), "layout": crm_layout_hash()}
    held = {
        "deals": pipeline.count(Scope()),
        "stages": pipeline.stages.count(),
        "activities": pipeline.activities.count(),
    }
    note = f"{pipeline.datasource} and its _stages, _activities"
    if (
        marker.exists()
        and json.loads(marker.read_text()) == wanted
        and held == {k: tables[k].count() for k in tables}
    ):
        return note, None
    started = time.perf_counter()
    for name, target in datasets.items():
        frame = tables[name].scan().collect()
        log(f"  loading {frame.height:,} {name} into Druid ...")
        target.write(frame, "replace")
    seconds = time.perf_counter() - started
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(wanted))
    log(f"  Druid CRM load: {seconds:.0f} s")
    return note, seconds


def run_pipeline_page(
    data_dir: Path, rows: int, runs: int, work_dir: Path, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """The Pipeline page's first visit (open cold), again (open warm), and in a returning
    browser's new tab (tab cold, tab warm), as `bench.pages.run_pages` times a page."""
    from playwright.sync_api import sync_playwright

    from bench import pages

    page = next(p for p in pages.app_pages() if p.title == PIPELINE_PAGE)
    log_path = work_dir / "logs" / f"streamlit-pipeline-{rows}.log"
    auth_file = pages.bench_users(work_dir)
    result: dict[str, Any] = {"rows": rows, "page": page.title, "path": page.path}
    with (
        pages.streamlit_server(data_dir, log_path, auth_file) as (url, pid),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=pages.CHROMIUM, args=pages.CHROMIUM_ARGS
        )
        pages.STATE["signed_in"] = pages.sign_in(browser, url) if auth_file else None
        # The first page a fresh server renders also pays its imports: not a page cost.
        first = pages.app_pages()[0]
        pages.time_pages_together(browser, [pages.page_url(url, first, 400)])
        pages.wait_for_warm_up(log_path, log)
        cold: list[float | None] = []
        warm: list[float | None] = []
        for run in range(runs):
            target = pages.page_url(url, page, 1 + run)
            cold.extend(pages.time_pages_together(browser, [target]))
            warm.extend(pages.time_pages_together(browser, [target]))
        result["cold"], result["warm"] = pages.page_stat(cold), pages.page_stat(warm)
        tab_cold, tab_warm = pages.time_returning_tabs(browser, url, [page], runs, 500)[page.title]
        result["tab_cold"], result["tab_warm"] = (
            pages.page_stat(tab_cold),
            pages.page_stat(tab_warm),
        )
        browser.close()
        result["app_peak_rss_mb"] = pages.peak_rss_mb(pid)
    log(
        f"  page {page.title}: open cold {result['cold'].get('median', 0):.2f} s, warm "
        f"{result['warm'].get('median', 0):.2f} s; new tab cold "
        f"{result['tab_cold'].get('median', 0):.2f} s, warm "
        f"{result['tab_warm'].get('median', 0):.2f} s"
    )
    return result
