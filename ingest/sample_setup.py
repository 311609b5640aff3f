"""`make run`'s data step: if the store is empty, generate sample data and ingest it.

The sample goes through the same ingest path as an uploaded file, so what
the dashboard shows on first start has passed the same validation; so do its
monthly targets per branch and per salesperson (`ingest/sample_targets.py`),
which keep the Targets page and the attainment columns alive on a new machine,
its CRM export of deals (`ingest/sample_crm.py`), whose won deals carry the
invoices they became, for the Pipeline page, and those deals' stage history and
activities (`ingest/sample_crm_history.py`), for its stage funnel and activity
tables. Each load is timed and leaves its audit line, as an upload does.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date, datetime
from datetime import time as clock
from zoneinfo import ZoneInfo

import polars as pl

from core.pipeline_store import KeyedStore
from core.settings import load_settings
from core.store import Scope
from core.stores import open_store
from core.stores.pipeline import pipeline_of
from ingest import audit
from ingest.activities import ingest_activities
from ingest.opportunities import ingest_deals
from ingest.pipeline import IngestResult, PreparedFile, ingest_file
from ingest.sample import generate_sales
from ingest.sample_crm import deals_csv, sample_deals
from ingest.sample_crm_history import (
    activities_csv,
    sample_activities,
    sample_stages,
    stages_csv,
)
from ingest.sample_targets import sample_targets, targets_csv
from ingest.stages import ingest_stages
from ingest.targets import PreparedTargets, ingest_targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest.sample_setup")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    settings = load_settings()
    store = open_store(settings)
    if store.date_range(Scope()) is not None:
        print(f"store already has data ({settings.backend}); skipping the sample")
        return 0
    started = time.perf_counter()
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    frame = generate_sales(args.rows, args.seed, today)
    path = settings.data_dir / "sample" / f"sample_{args.rows}_seed{args.seed}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path)
    print(
        f"generated {frame.height:,} sample lines in {time.perf_counter() - started:.1f} s: {path}"
    )
    result = ingest_file(path, store, timezone=settings.timezone)
    if not _audited(result.prepared, result.ok, result.seconds, "sample data", "sales"):
        return 1
    print(f"ingested in {result.seconds:.1f} s ({result.timings})")
    return _load_targets(frame, today, args.seed) or _load_deals(frame, today, args.seed)


def _audited(
    prepared: PreparedFile | PreparedTargets, ok: bool, seconds: float, what: str, dataset: str
) -> bool:
    """Write the load's audit line (`what` for a new store); print its first problems and
    return False if it was refused."""
    audit.append(
        load_settings().data_dir,
        audit.cli_record(
            prepared.filename,
            prepared.size_bytes,
            prepared.sha256,
            "append",
            "loaded" if ok else "rejected",
            seconds,
            accepted=prepared.rows if ok else 0,
            rejected=prepared.rejected_rows,
            detail=f"{what} for a new store",
            dataset=dataset,
        ),
    )
    if not ok:
        print(prepared.failures.head(10))
    return ok


def _load_targets(lines: pl.DataFrame, today: date, seed: int) -> int:
    """The sample's targets, written as a sheet and loaded like an uploaded one."""
    settings = load_settings()
    started = time.perf_counter()
    path = settings.data_dir / "sample" / f"sample_targets_seed{seed}.csv"
    path.write_bytes(targets_csv(sample_targets(lines, today, seed)))
    result = ingest_targets(path, open_store(settings), "sample")
    seconds = time.perf_counter() - started
    if not _audited(result.prepared, result.ok, seconds, "sample targets", "targets"):
        return 1
    print(f"loaded {result.prepared.rows:,} sample targets per branch and salesperson: {path}")
    return 0


def _load_deals(lines: pl.DataFrame, today: date, seed: int) -> int:
    """The sample's CRM export of deals, loaded like an uploaded one, then their stage
    history and activities."""
    settings = load_settings()
    path = settings.data_dir / "sample" / f"sample_crm_seed{seed}.csv"
    deals = sample_deals(lines, today, seed)
    path.write_bytes(deals_csv(deals))
    result = ingest_deals(path, pipeline_of(open_store(settings)), timezone=settings.timezone)
    if not _audited(
        result.prepared, result.ok, result.seconds, "sample CRM deals", "opportunities"
    ):
        return 1
    print(f"loaded {result.prepared.rows:,} sample deals in {result.seconds:.1f} s: {path}")
    return _load_history(deals, today, seed)


def _load_history(deals: pl.DataFrame, today: date, seed: int) -> int:
    """The deals' stage history, then their activities, each loaded like an uploaded export."""
    pipeline = pipeline_of(open_store(load_settings()))
    as_of = datetime.combine(today, clock())  # the export is taken this morning
    started = time.perf_counter()
    stages = stages_csv(sample_stages(deals, seed, as_of))
    made = time.perf_counter() - started
    if not _load_export("stages", stages, made, ingest_stages, pipeline.stages, seed):
        return 1
    started = time.perf_counter()
    activities = activities_csv(sample_activities(deals, seed, as_of))
    made = time.perf_counter() - started
    loaded = _load_export(
        "activities", activities, made, ingest_activities, pipeline.activities, seed
    )
    return 0 if loaded else 1


def _load_export(
    dataset: str,
    data: bytes,
    generated: float,
    ingest: Callable[..., IngestResult],
    store: KeyedStore,
    seed: int,
) -> bool:
    """Write one CRM export of the sample and load it through `ingest`, audited."""
    settings = load_settings()
    path = settings.data_dir / "sample" / f"sample_crm_{dataset}_seed{seed}.csv"
    path.write_bytes(data)
    result = ingest(path, store, timezone=settings.timezone)
    if not _audited(result.prepared, result.ok, result.seconds, f"sample CRM {dataset}", dataset):
        return False
    print(
        f"loaded {result.prepared.rows:,} sample {dataset} (generated in {generated:.1f} s, "
        f"ingested in {result.seconds:.1f} s): {path}"
    )
    return True


if __name__ == "__main__":
    raise SystemExit(main())
