"""Per-area KPI timings: embedded cold and warm, DuckDB reference, Druid if reachable.

cold: a new `EmbeddedStore` object and a direct call of the area function
(`core.exports.AREAS`), so no application cache is involved; the operating
system's page cache is warm after the first run, as it is on a server.
warm: `core.cache.area`, the `st.cache_data` call the pages make, used
outside a Streamlit server (it then keeps its cache in process memory): the
first call fills it, the timed calls hit it (hash the arguments, unpickle
the frame).
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bench.reference import AREA_SQL, Reference
from core.exports import AREAS, MODELLED_AREAS
from core.filters import Filters
from core.kpi.view import View, resolve_view
from core.store import SalesStore, Scope
from core.stores.embedded import EmbeddedStore

# A year back from the data's last day: the window a manager opens most.
LAST_12_MONTHS = (date(2025, 11, 1), date(2026, 10, 31))
NOISY_STREAMLIT_LOGGERS = (
    "streamlit.runtime.caching.cache_data_api",
    "streamlit.runtime.scriptrunner_utils.script_run_context",
)


@dataclass(frozen=True)
class Scenario:
    name: str
    filters: Filters


def scenarios(store: SalesStore) -> list[Scenario]:
    """The typical filters: last 12 months; plus one branch; plus three salespeople."""
    start, end = LAST_12_MONTHS
    base = Filters(start=start, end=end, grain="month", compare="previous")
    reps = store.distinct_values("salesperson", Scope())
    # Three salespeople spread over the sorted list: stable for a given sample.
    three = tuple(reps[i] for i in (0, len(reps) // 2, len(reps) - 1))
    return [
        Scenario("12 months", base),
        Scenario("1 branch", base.with_members(branches=("Mombasa",))),
        Scenario("3 salespeople", base.with_members(salespeople=three)),
    ]


@dataclass
class Stat:
    median: float
    min: float
    max: float
    runs: int

    @classmethod
    def of(cls, seconds: list[float]) -> Stat:
        return cls(statistics.median(seconds), min(seconds), max(seconds), len(seconds))

    def as_dict(self) -> dict[str, float | int]:
        return {"median": self.median, "min": self.min, "max": self.max, "runs": self.runs}


def p95(values: list[float]) -> float:
    """The 95th percentile, as the nearest of `values` (no interpolation)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def timed(call: Callable[[], Any], runs: int) -> tuple[Stat, Any]:
    seconds, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - started)
    return Stat.of(seconds), result


def _warm_cache(data_dir: Path) -> Any:
    """core.cache pointed at `data_dir`, with Streamlit's no-runtime warnings quietened."""
    os.environ["SALES_DATA_DIR"] = str(data_dir)
    os.environ["SALES_BACKEND"] = "embedded"
    # Outside a server st.cache_data warns on every call that it keeps memory only.
    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")
    from core import cache

    # Outside a server these two loggers warn on every cached call. They are disabled
    # one by one: `logging.disable` would silence the project's own logs too.
    for name in NOISY_STREAMLIT_LOGGERS:
        logging.getLogger(name).disabled = True

    cache.get_store.clear()
    cache.clear()
    return cache


def run_queries(
    data_dir: Path,
    rows: int,
    runs: int,
    # The areas over the sales lines, each with its DuckDB twin: not the forecast (a model
    # fit, timed by the bench's forecast part) nor the targets (a table of a few rows).
    areas: tuple[str, ...] = tuple(a for a in AREAS if a in AREA_SQL and a not in MODELLED_AREAS),
    warm: bool = True,
    reference: bool = True,
    druid: tuple[SalesStore | None, str] | None = None,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Time every area under every scenario; one record per (scenario, area)."""
    path = data_dir / "sales"
    store = EmbeddedStore(path)
    views: dict[str, View] = {s.name: resolve_view(store, s.filters) for s in scenarios(store)}
    ref = Reference.open(path) if reference else None
    cache = _warm_cache(data_dir) if warm else None
    version = store.data_version()
    druid_target, druid_note = druid if druid is not None else (None, "not run: --no-druid")
    records = []
    for scenario, view in views.items():
        for area in areas:
            function = AREAS[area]
            record: dict[str, Any] = {"rows": rows, "scenario": scenario, "area": area}
            cpu_started = time.process_time()
            cold, table = timed(lambda f=function, v=view: f(EmbeddedStore(path), v), runs)
            record["cold"] = cold.as_dict()
            # CPU seconds (all threads) per cold run: steadier than wall time on a busy machine.
            record["cold_cpu_s"] = (time.process_time() - cpu_started) / runs
            record["result_rows"] = table.height
            if cache is not None:
                cache.area(area, view, version)  # fill the cache
                record["warm"] = timed(lambda a=area, v=view: cache.area(a, v, version), runs)[
                    0
                ].as_dict()
            if ref is not None:
                ref_stat, ref_rows = timed(lambda a=area, v=view: ref.run(a, v), runs)
                record["duckdb"] = ref_stat.as_dict()
                record["duckdb_rows"] = len(ref_rows)
                record["ratio"] = cold.median / ref_stat.median
            record["druid"] = druid_note
            log(
                f"  {rows:>11,} {scenario:<14} {area:<14} cold {cold.median * 1000:8.1f} ms"
                + (f"  duckdb {record['duckdb']['median'] * 1000:8.1f} ms" if ref else "")
                + (f"  warm {record['warm']['median'] * 1000:6.2f} ms" if cache else "")
            )
            records.append(record)
    # Druid last, after every in-process figure: its JVMs keep working (GC, merges) for a
    # while after each query, on the same two cores the next embedded run would use.
    if druid_target is not None:
        for record in records:
            view, function = views[record["scenario"]], AREAS[record["area"]]
            stat = timed(lambda f=function, v=view: f(druid_target, v), runs)[0]
            record["druid"] = stat.as_dict()
            log(
                f"  {rows:>11,} {record['scenario']:<14} {record['area']:<14} "
                f"druid {stat.median * 1000:8.1f} ms"
            )
    return records
