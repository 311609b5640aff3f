"""`python -m bench` (`make bench`): ingest, KPI areas, reference engine, pages, pipeline
(CRM) areas, forecast.

Writes bench/results.json (machine-readable) and bench/results.md (tables).
`--compare OLD.json` prints the change of every figure against an older run.
Generated samples and built stores are cached in `--work-dir`
(./.bench-data), so a second run skips generation.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report
from bench.data import DEFAULT_WORK_DIR, ONE_FILE_MAX_ROWS, ROOT, label, store_data_dir
from bench.pipeline_data import PIPELINE_SIZES, CrmSizes

QUICK_ROWS = 200_000
DEFAULT_SIZES = (1_000_000, 10_000_000)
PARTS = ("ingest", "queries", "pages", "pipeline", "forecast")
# Largest size loaded into Druid: 10M lines take 15 minutes through the local indexer.
DRUID_MAX_ROWS = 10_000_000
# The CRM of a quick run: a tenth of the promised sizes (bench.pipeline_data.PIPELINE_SIZES).
QUICK_CRM = CrmSizes(10_000, 50_000, 100_000)


def _sizes(text: str) -> tuple[int, ...]:
    factors = {"k": 1_000, "m": 1_000_000}
    out = []
    for item in text.split(","):
        item = item.strip().lower()
        out.append(int(float(item[:-1]) * factors[item[-1]]) if item[-1] in factors else int(item))
    return tuple(out)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=DEFAULT_SIZES,
        help="row counts, e.g. 1M,10M,50M (default 1M,10M)",
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (default 5)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke test: {QUICK_ROWS:,} rows, 1 run, no concurrency",
    )
    parser.add_argument(
        "--only", choices=PARTS, action="append", help="run only these parts (repeatable)"
    )
    parser.add_argument(
        "--page-sizes",
        type=_sizes,
        default=None,
        help="sizes to time pages at (default: the largest size only)",
    )
    parser.add_argument("--no-concurrency", action="store_true")
    parser.add_argument(
        "--no-druid",
        action="store_true",
        help="skip Druid (by default it is measured when one answers at DRUID_URL)",
    )
    parser.add_argument(
        "--ingest-runs",
        type=int,
        default=None,
        help="runs per ingest figure (default: --runs, at most 3 at 10M+)",
    )
    parser.add_argument(
        "--crm-sizes",
        type=_crm_sizes,
        default=PIPELINE_SIZES,
        help="deals, stage rows, activities of the pipeline part (default 100k,500k,1M)",
    )
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "bench" / "results.json",
        help="results file; the Markdown table goes beside it (.md)",
    )
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="OLD.json",
        help="print the deltas against an older results file and exit "
        "(with --against NEW.json, else against --out)",
    )
    parser.add_argument("--against", type=Path, default=None)
    parser.add_argument(
        "--note",
        action="append",
        default=[],
        help="a line for the Notes section of the results (repeatable)",
    )
    args = parser.parse_args(argv)  # fmt: skip
    if args.quick:
        args.sizes, args.runs, args.no_concurrency = (QUICK_ROWS,), 1, True
        args.crm_sizes = QUICK_CRM
    return args


def _crm_sizes(text: str) -> CrmSizes:
    values = _sizes(text)
    if len(values) != 3:
        raise argparse.ArgumentTypeError("expected three counts: deals,stages,activities")
    return CrmSizes(*values)


def pipeline_rows(sizes: tuple[int, ...]) -> int:
    """The sales size the pipeline part runs beside: the largest Druid is loaded with."""
    return max((s for s in sizes if s <= DRUID_MAX_ROWS), default=min(sizes))


def _run_ingest(args: argparse.Namespace, results: dict[str, Any]) -> None:
    from bench.ingest import run_ingest

    for rows in args.sizes:
        if rows > ONE_FILE_MAX_ROWS:
            print(
                f"{label(rows)} rows, ingest: skipped, one file of {label(rows)} lines does not "
                "fit in memory here (its store is built from quarterly files)",
                flush=True,
            )
            continue
        print(f"{label(rows)} rows, ingest (load {report.load()})", flush=True)
        runs = args.ingest_runs or (min(args.runs, 3) if rows >= 10_000_000 else args.runs)
        results["ingest"] += run_ingest(args.work_dir, rows, runs)


def _run_sizes(
    args: argparse.Namespace,
    parts: tuple[str, ...],
    results: dict[str, Any],
    druid_up: bool,
    stop_druid: Callable[[], None],
) -> None:
    page_sizes = args.page_sizes or (max(args.sizes),)
    for rows in args.sizes:
        if "queries" in parts or "pages" in parts:
            print(f"{label(rows)} rows, queries (load {report.load()})", flush=True)
            data_dir = store_data_dir(args.work_dir, rows)
        druid: tuple[Any, str] = (
            None,
            "not run: --no-druid" if args.no_druid else "not run: no Druid",
        )
        if druid_up and rows > DRUID_MAX_ROWS:
            druid = (None, f"not run: loading {label(rows)} lines takes hours here")
        if "queries" in parts:
            from bench.queries import run_queries

            if druid_up and rows <= DRUID_MAX_ROWS:
                druid = _druid_sales(args, rows, results)
            results["queries"] += run_queries(data_dir, rows, args.runs, druid=druid)
        if "pipeline" in parts and rows == pipeline_rows(args.sizes):
            if druid_up and druid[0] is None and rows <= DRUID_MAX_ROWS:
                druid = _druid_sales(args, rows, results)
            # The Pages part times the Pipeline page itself when it runs at this size.
            page = not args.quick and not ("pages" in parts and rows in page_sizes)
            _run_pipeline(args, rows, results, druid, page)
        if "pages" in parts and rows in page_sizes and not args.quick:
            from bench.pages import run_pages
            from bench.pipeline_data import crm_data_dir
            from bench.sessions import run_sessions

            if rows == args.sizes[-1]:
                # Idle Druid JVMs still poll every few seconds: 10-30% on the page times.
                stop_druid()
            # With the bench's CRM beside the sales, so the Pipeline page draws real deals.
            data_dir = crm_data_dir(args.work_dir, rows, args.crm_sizes)
            results["sessions"].append(run_sessions(data_dir, rows))

            results["pages"].append(
                run_pages(data_dir, rows, min(args.runs, 3), args.work_dir,
                          concurrency=not args.no_concurrency)
            )  # fmt: skip


def _druid_sales(args: argparse.Namespace, rows: int, results: dict[str, Any]) -> tuple[Any, str]:
    """(Druid store holding the `rows` bench store's lines, note), loaded if needed."""
    from bench.druid import bench_druid

    data_dir = store_data_dir(args.work_dir, rows)
    store, note, load_s = bench_druid(data_dir, rows, args.work_dir)
    if load_s is not None:
        results["druid_loads"].append({"rows": rows, "seconds": load_s})
    return store, note


def _run_pipeline(
    args: argparse.Namespace,
    rows: int,
    results: dict[str, Any],
    druid: tuple[Any, str],
    page: bool,
) -> None:
    from bench.pipeline import load_druid_crm, run_pipeline, run_pipeline_page
    from bench.pipeline_data import crm_data_dir

    sizes = args.crm_sizes
    print(
        f"{label(rows)} rows, pipeline areas, CRM {sizes.label()} (load {report.load()})",
        flush=True,
    )
    data_dir = crm_data_dir(args.work_dir, rows, sizes)
    if druid[0] is not None:
        note, load_s = load_druid_crm(druid[0], data_dir, args.work_dir, sizes)
        druid = (druid[0], f"{druid[1]}; {note}")
        if load_s is not None:
            results["pipeline_loads"].append({"rows": rows, **asdict(sizes), "seconds": load_s})
    results["pipeline"] += run_pipeline(data_dir, rows, args.runs, sizes, druid=druid)
    if page:
        print(f"{label(rows)} rows, Pipeline page (load {report.load()})", flush=True)
        results["pipeline_page"].append(
            run_pipeline_page(data_dir, rows, min(args.runs, 3), args.work_dir)
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.compare:
        new = json.loads((args.against or args.out).read_text())
        print(report.compare(json.loads(args.compare.read_text()), new))
        return 0
    parts = tuple(args.only or PARTS)
    results: dict[str, Any] = {
        "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": report.machine(),
        "load_start": report.load(),
        "sizes": list(args.sizes),
        "runs": args.runs,
        "ingest": [],
        "queries": [],
        "pages": [],
        "sessions": [],
        "druid_loads": [],
        "forecast": [],
        "pipeline": [],
        "pipeline_page": [],
        "pipeline_loads": [],
        "notes": list(args.note),
    }
    started = time.perf_counter()
    if "ingest" in parts:
        # Before Druid starts: its idle JVMs' polling showed on the ingest times.
        _run_ingest(args, results)
    with ExitStack() as stack:
        druid_up = False
        if ("queries" in parts or "pipeline" in parts) and not args.no_druid:
            from bench.druid import running_druid

            druid_up = stack.enter_context(running_druid()) is not None
        _run_sizes(args, parts, results, druid_up, stack.close)
    if "forecast" in parts:
        from bench.forecast import run_forecast

        # The smallest size: the backtest's figures depend on the data's shape, not its size.
        rows = min(args.sizes)
        print(f"{label(rows)} rows, forecast backtest (load {report.load()})", flush=True)
        results["forecast"] = run_forecast(args.work_dir, rows)
    results["scaling"] = report.scaling(results["queries"])
    results["load_end"] = report.load()
    results["seconds"] = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, default=str) + "\n")
    args.out.with_suffix(".md").write_text(report.markdown(results))
    print(f"wrote {args.out} and {args.out.with_suffix('.md')} in {results['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
