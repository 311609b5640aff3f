"""Ingest timings: file to queryable store, CSV and Parquet, each run in a child process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.data import ROOT, sample_file
from bench.queries import Stat


def ingest_once(source: Path, store_dir: Path) -> dict[str, Any]:
    if store_dir.exists():
        shutil.rmtree(store_dir)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bench.ingest_child", str(source), str(store_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    shutil.rmtree(store_dir, ignore_errors=True)
    if done.returncode != 0:
        reason = done.stderr[-2000:] or done.stdout
        if done.returncode < 0:  # killed by a signal: SIGKILL is usually the OOM killer
            reason = f"killed by signal {-done.returncode} (out of memory?) {reason}"
        raise RuntimeError(f"ingest of {source.name} failed: {reason}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_ingest(
    work_dir: Path,
    rows: int,
    runs: int,
    formats: tuple[str, ...] = (".parquet", ".csv"),
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """One record per input format: seconds, rows/s and peak memory over `runs` ingests."""
    records = []
    for suffix in formats:
        source = sample_file(work_dir, rows, suffix)
        results, failures = [], []
        for _ in range(runs):
            try:
                results.append(ingest_once(source, work_dir / "tmp-ingest" / "sales"))
            except RuntimeError as exc:  # e.g. the child killed for memory: report, go on
                failures.append(str(exc)[:300])
        if not results:
            log(f"  ingest {rows:>11,} {suffix.lstrip('.')}: failed ({failures[0]})")
            records.append({"rows": rows, "format": suffix.lstrip("."), "failed": failures})
            continue
        seconds = Stat.of([r["seconds"] for r in results])
        record = {
            "rows": rows,
            "format": suffix.lstrip("."),
            "file_mb": source.stat().st_size / 2**20,
            "seconds": seconds.as_dict(),
            "rows_per_s": rows / seconds.median,
            "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
            "failed": failures,
            "stages": {
                stage: Stat.of([r["timings"][stage] for r in results]).median
                for stage in results[0]["timings"]
            },
        }
        log(
            f"  ingest {rows:>11,} {record['format']:<8} {seconds.median:7.2f} s "
            f"({record['rows_per_s']:,.0f} rows/s, peak {record['peak_rss_mb']:,.0f} MB) "
            + " ".join(f"{k} {v:.2f}" for k, v in record["stages"].items())
        )
        records.append(record)
    return records
