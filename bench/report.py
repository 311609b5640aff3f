"""Machine facts, the Markdown results table, and the comparison with an older run."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from bench.data import ROOT, label

# Targets from issue 7 (10M rows, embedded store, this 2-core machine).
TARGET_COLD_S = 1.0
TARGET_RATIO = 1.5
TARGET_WARM_S = 0.05
TARGET_PAGE_S = 2.0
TARGET_PARQUET_ROWS_S = 1_000_000
TARGET_CSV_ROWS_S = 500_000
TARGET_DRUID_S = 1.0  # every area on Druid at 10M rows
# Targets of the pipeline areas at 100k deals, 500k stage rows, 1M activities: cold on the
# embedded store, no slower than DuckDB on the same Parquet, on Druid; the Pipeline page's
# first visit as every page's.
TARGET_PIPELINE_COLD_S = 0.5
TARGET_PIPELINE_RATIO = 1.0
TARGET_PIPELINE_DRUID_S = 1.0
# A page's timings, as bench/pages.py records them.
PAGE_KINDS = (
    "cold", "warm", "tab_cold", "tab_warm", "tab_default", "switch_cold", "switch_warm"
)  # fmt: skip


def machine() -> dict[str, Any]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    model, mem_kb = "", 0
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
        model = next(
            (x.split(":", 1)[1].strip() for x in cpuinfo if x.startswith("model name")), ""
        )
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        mem_kb = next((int(x.split()[1]) for x in meminfo if x.startswith("MemTotal")), 0)
    except OSError:
        pass
    import duckdb
    import polars

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "polars": polars.__version__,
        "duckdb": duckdb.__version__,
        "platform": platform.platform(),
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--", "core", "ingest", "bench")),
    }


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _ms(stat: Any) -> str:
    if not isinstance(stat, dict):
        return "not run"
    if "min" not in stat:  # a median kept without its spread (a run's log)
        return f"{stat['median'] * 1000:,.0f}"
    return f"{stat['median'] * 1000:,.0f} ({stat['min'] * 1000:,.0f}-{stat['max'] * 1000:,.0f})"


def _s(stat: Any) -> str:
    if not isinstance(stat, dict) or "median" not in stat:
        return "not run"
    return f"{stat['median']:.2f} ({stat['min']:.2f}-{stat['max']:.2f})"


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    out = [
        "# Benchmark results",
        "",
        f"Command: `{results['command']}`  ",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; Python {m['python']}, "
        f"Polars {m['polars']}, DuckDB {m['duckdb']}  ",
        f"Commit: {m['git_commit'][:10]}{' (with uncommitted changes)' if m['git_dirty'] else ''}"
        f"; started {results['started']}  ",
        f"Load average (1, 5, 15 min) at start {results['load_start']}, "
        f"at end {results['load_end']}: above {m['cores']} the machine was shared and the "
        "times are inflated.",
        "",
        "Times are the median of the runs with (min-max). cold = a new store object, no "
        "cache; warm = `core.cache.area` (Streamlit's `st.cache_data`, used in process); "
        "ratio = cold / DuckDB on the same Parquet files; Druid = the same area function "
        "on the Druid store holding the same lines (no app cache).",
        "",
    ]
    if results.get("ingest"):
        out += [
            "## Ingest (file to queryable store, validation included)",
            "",
            "| rows | format | file MB | seconds | rows/s | target | peak MB | stages (s) |",
            "|---:|---|---:|---|---:|---:|---:|---|",
        ]
        for r in results["ingest"]:
            if "seconds" not in r:
                out.append(f"| {label(r['rows'])} | {r['format']} | | failed | | | | "
                           f"{r['failed'][0][:120]} |")  # fmt: skip
                continue
            target = TARGET_PARQUET_ROWS_S if r["format"] == "parquet" else TARGET_CSV_ROWS_S
            stages = ", ".join(f"{k} {v:.2f}" for k, v in r["stages"].items())
            out.append(
                f"| {label(r['rows'])} | {r['format']} | {r['file_mb']:,.0f} | {_s(r['seconds'])} "
                f"| {r['rows_per_s']:,.0f} | {'met' if r['rows_per_s'] >= target else 'MISSED'} "
                f"({target:,}) | {r['peak_rss_mb']:,.0f} | {stages} |"
            )
        out.append("")
    if results.get("queries"):
        out += [
            "## KPI areas (ms)",
            "",
            "| rows | filter | area | cold | CPU | warm | DuckDB | ratio | Druid |",
            "|---:|---|---|---|---:|---|---|---:|---|",
        ]
        for r in results["queries"]:
            ratio = f"{r['ratio']:.2f}" if "ratio" in r else ""
            flag = ""
            if r["rows"] >= 10_000_000 and (
                r["cold"]["median"] > TARGET_COLD_S or r.get("ratio", 0) > TARGET_RATIO
            ):
                flag = " **MISSED**"
            cpu = f"{r['cold_cpu_s'] * 1000:,.0f}" if "cold_cpu_s" in r else ""
            druid = r["druid"]
            if isinstance(druid, dict):
                missed = r["rows"] >= 10_000_000 and druid["median"] > TARGET_DRUID_S
                druid = _ms(druid) + (" **MISSED**" if missed else "")
            out.append(
                f"| {label(r['rows'])} | {r['scenario']} | {r['area']} | {_ms(r['cold'])}{flag} "
                f"| {cpu} | {_ms(r.get('warm'))} | {_ms(r.get('duckdb'))} | {ratio} "
                f"| {druid} |"
            )
        out.append("")
        for load in results.get("druid_loads", []):
            out.append(
                f"Druid load of the {label(load['rows'])} bench store (staging, MSQ task, "
                f"segments queryable): {load['seconds']:.0f} s.  "
            )
        out.append("")
    if results.get("scaling"):
        out += [
            "## Scaling (cold median, larger / smaller)",
            "",
            "| area | filter | from | to | time x | rows x |",
            "|---|---|---|---|---:|---:|",
        ]
        for s in results["scaling"]:
            out.append(
                f"| {s['area']} | {s['scenario']} | {label(s['from'])} | {label(s['to'])} "
                f"| {s['time_factor']:.1f} | {s['rows_factor']:.0f} |"
            )
        out.append("")
    out += pipeline_markdown(results)
    for p in results.get("pages", []):
        out += [
            f"## Pages in Chromium, {label(p['rows'])} rows (s, navigation to last chart drawn)",
            "",
            "open = the page's link in a new browser (first visit: app load, every bundle "
            "downloaded, sign-in cookie); tab = the link in a new tab of a browser that has "
            "shown the app before (bundles cached); tab default = that tab on the page's "
            "plain link once the app has warmed its default views; switch = a sidebar click "
            "in a tab already showing another page.",
            "",
            "| page | open cold | open warm | tab cold | tab warm | tab default | switch cold "
            "| switch warm |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for page in p["pages"]:
            out.append(
                f"| {page['page']} | {_s(page['cold'])} | {_s(page['warm'])} "
                f"| {_s(page.get('tab_cold'))} | {_s(page.get('tab_warm'))} "
                f"| {_s(page.get('tab_default'))} | {_s(page.get('switch_cold'))} "
                f"| {_s(page.get('switch_warm'))} |"
            )
        c = p.get("concurrency")
        if c:
            out += [
                "",
                f"{c['sessions']} sessions at once: cold median "
                f"{c['cold'].get('median', 0):.2f} s, "
                f"p95 {c['cold'].get('p95', 0):.2f} s; warm median "
                f"{c['warm'].get('median', 0):.2f} s, p95 {c['warm'].get('p95', 0):.2f} s.",
            ]
        out += ["", f"App process peak memory: {p.get('app_peak_rss_mb') or 0:,.0f} MB", ""]
    for c in results.get("sessions", []):
        out += [
            f"## {c['sessions']} Overview sessions at once, server side, {label(c['rows'])} rows",
            "",
            f"One alone: {c['alone_s']:.2f} s. Together: median {_s(c['together'])} s, "
            f"p95 {c['together']['p95']:.2f} s; all done in {c['wall_s']:.2f} s.",
            "",
        ]
    if results.get("forecast"):
        from bench.forecast import markdown as forecast_markdown

        out += forecast_markdown(results["forecast"])
    if results.get("notes"):
        out += ["## Notes", "", *[f"- {n}" for n in results["notes"]], ""]
    return "\n".join(out)


def _missed(missed: bool) -> str:
    return " **MISSED**" if missed else ""


def _tally(name: str, flags: list[bool]) -> str:
    met = flags.count(False)
    verdict = "met" if met == len(flags) else f"MISSED in {len(flags) - met}"
    return f"{name}: {verdict} ({met} of {len(flags)} met)"


def pipeline_markdown(results: dict[str, Any]) -> list[str]:
    """The "Pipeline areas" table, the targets' tally and the Pipeline page's visit."""
    records = results.get("pipeline") or []
    if not records:
        return []
    first = records[0]
    out = [
        f"## Pipeline areas (ms), {first['deals']:,} deals, {first['stages']:,} stage rows, "
        f"{first['activities']:,} activities beside {label(first['rows'])} sales lines",
        "",
        "cold = a new store object, no cache; ratio = cold / DuckDB "
        "(bench/pipeline_reference.py) on the same Parquet files; agrees = the store's "
        "table holds DuckDB's figures on every column (DuckDB / Druid). Targets: cold "
        f"under {TARGET_PIPELINE_COLD_S} s, ratio at most {TARGET_PIPELINE_RATIO:.0f} "
        f"(no slower than DuckDB), Druid under {TARGET_PIPELINE_DRUID_S:.0f} s.",
        "",
        "| filter | area | cold | CPU | DuckDB | ratio | agrees | Druid |",
        "|---|---|---|---:|---|---:|---|---|",
    ]
    cold_missed, ratio_missed, druid_missed = [], [], []
    for r in records:
        slow = r["cold"]["median"] > TARGET_PIPELINE_COLD_S
        cold_missed.append(slow)
        ratio = ""
        if "ratio" in r:
            ratio_missed.append(r["ratio"] > TARGET_PIPELINE_RATIO)
            ratio = f"{r['ratio']:.2f}{_missed(ratio_missed[-1])}"
        agrees = "yes" if r.get("duckdb_agrees") else ("**no**" if "duckdb_agrees" in r else "")
        if "druid_agrees" in r:
            agrees += " / " + ("yes" if r["druid_agrees"] else "**no**")
        druid = r["druid"]
        if isinstance(druid, dict):
            druid_missed.append(druid["median"] > TARGET_PIPELINE_DRUID_S)
            druid = _ms(druid) + _missed(druid_missed[-1])
            if r.get("druid_failures"):
                druid += f", {len(r['druid_failures'])} more run(s) failed **MISSED**"
                druid_missed[-1] = True
        elif druid.startswith("failed"):
            druid_missed.append(True)
            druid = f"{druid[:80]} **MISSED**"
        out.append(
            f"| {r['scenario']} | {r['area']} | {_ms(r['cold'])}{_missed(slow)} "
            f"| {r['cold_cpu_s'] * 1000:,.0f} | {_ms(r.get('duckdb'))} | {ratio} | {agrees} "
            f"| {druid} |"
        )
    tallies = [_tally(f"cold under {TARGET_PIPELINE_COLD_S} s", cold_missed)]
    if ratio_missed:
        tallies.append(_tally("no slower than DuckDB", ratio_missed))
    if druid_missed:
        tallies.append(_tally(f"Druid under {TARGET_PIPELINE_DRUID_S:.0f} s", druid_missed))
    out += ["", "Targets, of the areas under the three filters: " + "; ".join(tallies) + "."]
    page = pipeline_page(results)
    if page is not None:
        cold = page["cold"]
        missed = "median" not in cold or cold["median"] > TARGET_PAGE_S
        out += [
            "",
            f"Pipeline page in Chromium, {label(page['rows'])} rows (s, navigation to last chart "
            f"drawn): open cold (first visit) {_s(cold)}, "
            f"{'MISSED' if missed else 'met'} ({TARGET_PAGE_S:.0f} s); open warm "
            f"{_s(page.get('warm'))}; new tab cold {_s(page.get('tab_cold'))}, warm "
            f"{_s(page.get('tab_warm'))}.",
        ]
    for load in results.get("pipeline_loads", []):
        out += ["", f"Druid load of the bench CRM: {load['seconds']:.0f} s."]
    return [*out, ""]


def pipeline_page(results: dict[str, Any]) -> dict[str, Any] | None:
    """The Pipeline page's timings: the pipeline part's own, else the pages part's row."""
    if results.get("pipeline_page"):
        return dict(results["pipeline_page"][-1])
    for p in results.get("pages", []):
        for page in p["pages"]:
            if page["page"] == "Pipeline":
                return {"rows": p["rows"], **page}
    return None


def scaling(queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each (scenario, area): cold median at the largest size / at the smallest."""
    sizes = sorted({r["rows"] for r in queries})
    if len(sizes) < 2:
        return []
    by = {(r["rows"], r["scenario"], r["area"]): r for r in queries}
    out = []
    for r in queries:
        if r["rows"] != sizes[0]:
            continue
        for bigger in sizes[1:]:
            other = by.get((bigger, r["scenario"], r["area"]))
            if other:
                out.append(
                    {
                        "area": r["area"],
                        "scenario": r["scenario"],
                        "from": sizes[0],
                        "to": bigger,
                        "rows_factor": bigger / sizes[0],
                        "time_factor": other["cold"]["median"] / r["cold"]["median"],
                    }
                )
    return out


def compare(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Per measured figure: old median, new median, change."""
    lines = [f"{'figure':<58} {'old':>10} {'new':>10} {'change':>8}"]

    def row(name: str, a: float | None, b: float | None, unit: str) -> None:
        if a is None or b is None:
            return
        change = (b - a) / a * 100 if a else 0.0
        lines.append(f"{name:<58} {a:>9.3f}{unit} {b:>9.3f}{unit} {change:>+7.1f}%")

    def index(records: list[dict[str, Any]], *keys: str) -> dict[tuple[Any, ...], Any]:
        return {tuple(r[k] for k in keys): r for r in records}

    old_i = index(old.get("ingest", []), "rows", "format")
    for key, r in index(new.get("ingest", []), "rows", "format").items():
        if key in old_i and "seconds" in r and "seconds" in old_i[key]:
            row(f"ingest {label(key[0])} {key[1]} s", old_i[key]["seconds"]["median"],
                r["seconds"]["median"], "s")  # fmt: skip
    old_q = index(old.get("queries", []), "rows", "scenario", "area")
    for key, r in index(new.get("queries", []), "rows", "scenario", "area").items():
        if key in old_q:
            for kind in ("cold", "warm", "duckdb"):
                a, b = old_q[key].get(kind), r.get(kind)
                if isinstance(a, dict) and isinstance(b, dict):
                    row(
                        f"{label(key[0])} {key[1]} {key[2]} {kind} s", a["median"], b["median"], "s"
                    )
    old_l = index(old.get("pipeline", []), "rows", "scenario", "area")
    for key, r in index(new.get("pipeline", []), "rows", "scenario", "area").items():
        if key in old_l:
            for kind in ("cold", "duckdb", "druid"):
                a, b = old_l[key].get(kind), r.get(kind)
                if isinstance(a, dict) and isinstance(b, dict):
                    row(f"pipeline {key[1]} {key[2]} {kind} s", a["median"], b["median"], "s")
    old_p = {(p["rows"], x["page"]): x for p in old.get("pages", []) for x in p["pages"]}
    for p in new.get("pages", []):
        for x in p["pages"]:
            y = old_p.get((p["rows"], x["page"]))
            if y:
                for kind in PAGE_KINDS:
                    if kind in x and kind in y:
                        row(f"page {label(p['rows'])} {x['page']} {kind} s",
                            y[kind].get("median"), x[kind].get("median"), "s")  # fmt: skip
    lines.append(f"load at start: old {old.get('load_start')} new {new.get('load_start')}")
    return "\n".join(lines)
