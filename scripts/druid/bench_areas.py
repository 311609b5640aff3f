"""Per-area query latency, Druid next to the embedded store, over the same generated lines.

    .venv/bin/python scripts/druid/bench_areas.py --rows 1000000 [--druid-url URL] [--keep]

Generates `--rows` lines (ingest.sample, fixed seed), writes them to a fresh
embedded store and to a fresh Druid datasource (`bench_<rows>`), then times
every export area with `core.exports.AREAS` on both: one warm-up call, then
the median of `--repeat` calls. No application cache is involved. Prints a
Markdown table; the Druid datasource is dropped afterwards unless `--keep`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import polars as pl

from core.exports import AREAS
from core.filters import Filters
from core.kpi.view import resolve_view
from core.schema import with_derived_measures
from core.store import SalesStore, Scope
from core.stores.druid import DruidStore
from core.stores.druid_ingest import ETERNITY
from core.stores.embedded import EmbeddedStore
from ingest.sample import generate_sales

END = date(2026, 10, 31)  # the tests' sample end: results do not move with the calendar
VIEWS = {
    "all data": Filters(),
    "last 12 months, 1 branch": Filters(date(2025, 11, 1), END, branches=("Mombasa",)),
}


def timed(call: Callable[[], object], repeat: int) -> float:
    call()  # warm-up: segment/page caches as on a server that has been running
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def write_druid(druid: DruidStore, lines: pl.DataFrame, started: float) -> None:
    """Write and print when each stage began (checking, staging, indexing, loading)."""
    stages: dict[str, float] = {}
    druid.write(
        lines, "append", progress=lambda stage, _f: stages.setdefault(stage, time.perf_counter())
    )
    marks = sorted(stages.items(), key=lambda item: item[1])
    print("  druid stages: " + ", ".join(f"{name} at {at - started:.1f} s" for name, at in marks))
    print(f"druid write (until queryable): {time.perf_counter() - started:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--druid-url", default="http://127.0.0.1:8888")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the Druid datasource")
    parser.add_argument("--reuse", action="store_true", help="skip the Druid write if done before")
    parser.add_argument("--view", action="append", choices=list(VIEWS), help="only these views")
    parser.add_argument("--area", action="append", choices=list(AREAS), help="only these areas")
    args = parser.parse_args()

    started = time.perf_counter()
    canonical = generate_sales(args.rows, seed=7, end=END)
    lines = with_derived_measures(
        canonical.with_columns(
            pl.col("sold_at").dt.replace_time_zone("Africa/Nairobi").dt.convert_time_zone("UTC")
        )
    )
    print(f"generated {len(lines):,} lines in {time.perf_counter() - started:.1f} s")

    with tempfile.TemporaryDirectory() as tmp:
        embedded = EmbeddedStore(Path(tmp) / "sales")
        started = time.perf_counter()
        embedded.write(lines, "append")
        print(f"embedded write: {time.perf_counter() - started:.1f} s")

        druid = DruidStore(args.druid_url, f"bench_{args.rows}")
        started = time.perf_counter()
        if args.reuse and druid.count_lines(Scope(), None) == len(lines):
            print("druid: reusing the datasource an earlier run wrote (--reuse)")
        else:
            write_druid(druid, lines, started)
        try:
            stores: dict[str, SalesStore] = {"embedded": embedded, "druid": druid}
            print(f"\n{args.rows:,} lines; median of {args.repeat} after a warm-up, seconds\n")
            print("| view | area | embedded | druid |")
            print("|---|---|---:|---:|")
            for view_name, filters in VIEWS.items():
                if args.view and view_name not in args.view:
                    continue
                for area, table in AREAS.items():
                    if args.area and area not in args.area:
                        continue
                    times = {}
                    for name, store in stores.items():
                        view = resolve_view(store, filters)
                        times[name] = timed(lambda s=store, v=view, t=table: t(s, v), args.repeat)
                    print(
                        f"| {view_name} | {area} | {times['embedded']:.3f} | {times['druid']:.3f} |"
                    )
        finally:
            if not args.keep:
                druid.client.request(
                    "DELETE", f"/druid/coordinator/v1/datasources/{druid.datasource}"
                )
                druid.client.request(
                    "POST",
                    "/druid/indexer/v1/task",
                    {"type": "kill", "dataSource": druid.datasource, "interval": ETERNITY},
                    idempotent=False,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
