"""The forecast's rolling-origin backtest on the bench sample and on AirPassengers.

The sample is the bench's (seed 7, ending 2026-10-31, loaded through the real
ingest into an embedded store); its daily net sales per branch and in total are
read back through `SalesStore.aggregate`, as the pages read them.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.data import label, store_data_dir


def run_forecast(work_dir: Path, rows: int) -> list[dict[str, Any]]:
    """Scores of the model and of seasonal naive, one dict per data set and model."""
    from core.forecast import backtest
    from core.stores.embedded import EmbeddedStore

    data_dir = store_data_dir(work_dir, rows)
    sample = f"sample {label(rows)} lines, seed 7"
    found = []
    for name, run in (
        (sample, lambda: backtest.backtest_store(EmbeddedStore(data_dir / "sales"), sample)),
        ("AirPassengers", backtest.backtest_air_passengers),
    ):
        started = time.perf_counter()
        scores = run()
        seconds = time.perf_counter() - started
        print(f"  forecast backtest, {name}: {seconds:.1f} s", flush=True)
        found += [{**asdict(s), "rows": rows, "seconds": seconds} for s in scores]
    started = time.perf_counter()
    series = backtest.store_series(EmbeddedStore(data_dir / "sales"))
    months = backtest.month_totals(series, sample)
    seconds = time.perf_counter() - started
    print(f"  forecast month totals, {sample}: {seconds:.1f} s", flush=True)
    found.append({**asdict(months), "model": "month totals", "rows": rows, "seconds": seconds})
    return found


def markdown(results: list[dict[str, Any]]) -> list[str]:
    """The Markdown lines of the forecast part of bench/results.md."""
    from core.forecast.backtest import HORIZON, WINDOWS

    out = [
        "## Forecast backtest (rolling origin)",
        "",
        f"Daily sample: {WINDOWS} origins, {HORIZON} days ahead from each; AirPassengers: "
        "3 origins, 12 months ahead. MASE < 1 beats the in-sample seasonal-naive step.",
        "",
        "| data | model | MAPE | MASE | 80% covers | 95% covers | seconds |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if r["model"] == "month totals":
            continue
        out.append(
            f"| {r['data']} | {r['model']} | {r['mape_pct']:.1f}% | {r['mase']:.3f} | "
            f"{r['coverage_80']:.0%} | {r['coverage_95']:.0%} | {r['seconds']:.1f} |"
        )
    for r in results:
        if r["model"] == "month totals":
            out += [
                "",
                f"Month totals ({r['data']}, the next whole month from each of the last "
                f"{WINDOWS} month ends, "
                f"{r['months']} totals): MAPE {r['mape_pct']:.1f}%, inside the 80% interval "
                f"{r['coverage_80']:.0%}, inside the 95% interval {r['coverage_95']:.0%} "
                f"({r['seconds']:.1f} s).",
            ]
    return [*out, ""]
