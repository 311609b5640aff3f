"""`python -m ingest FILE [--dataset sales|targets|opportunities|stages|activities]
[--mode append|replace] [--map "Header=column" ...] [--decimal .|,] [--rejects PATH]`.

Every run that reaches the store's settings is written to the audit log the
upload page shows (source `cli`, the operating system user as who).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from core.logs import configure_logging, new_request_id
from core.settings import SettingsError, load_settings
from core.store import StoreError, Window
from core.stores import open_store
from core.stores.pipeline import activities_of, pipeline_of, stages_of
from ingest import audit
from ingest.activities import ingest_activities
from ingest.crm import PreparedExport
from ingest.mapping import MappingError, parse_explicit
from ingest.numbers import DECIMALS
from ingest.opportunities import ingest_deals
from ingest.pipeline import IngestError, IngestResult, PreparedFile, ingest_file
from ingest.rejects import write_rejects
from ingest.stages import ingest_stages
from ingest.targets import PreparedTargets, TargetsResult, ingest_targets

# Failing rows printed on the terminal; the rejects file has all of them.
SHOWN_FAILURES = 10
CRM_DATASETS = ("opportunities", "stages", "activities")
DATASETS = ("sales", "targets", *CRM_DATASETS)
# The CRM datasets beside the deals: how each is ingested, and where it is kept.
STAGE_AND_ACTIVITY_LOADERS = {
    "stages": (ingest_stages, stages_of),
    "activities": (ingest_activities, activities_of),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Validate a sales file or a CRM export and load it into the store.",
    )
    parser.add_argument("file", type=Path, help="CSV, Excel (.xlsx) or Parquet file")
    parser.add_argument(
        "--dataset",
        choices=DATASETS,
        default="sales",
        help="sales (default: invoice lines), targets (monthly targets per branch, "
        "salesperson and/or product line), or a CRM export: opportunities (deals), stages "
        "(each deal's stage history) or activities (calls, visits, meetings...). A CRM "
        "export's re-loaded rows replace their old version; --mode replace replaces the "
        "whole dataset",
    )
    parser.add_argument(
        "--mode",
        choices=("append", "replace"),
        default="append",
        help="append (default; re-loaded lines or targets replace their old version) or "
        "replace every stored line in the date range (targets: every target of the "
        "file's months)",
    )
    parser.add_argument("--start", type=str, help="first day of the range to replace (YYYY-MM-DD)")
    parser.add_argument("--end", type=str, help="last day of the range to replace (YYYY-MM-DD)")
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="HEADER=COLUMN",
        help="map a file header to a canonical column (repeatable)",
    )
    parser.add_argument(
        "--decimal",
        choices=DECIMALS,
        help="the decimal mark of the file's numbers; by default each number column's "
        "values decide, and a column that reads both ways (every value like 1.500) stops "
        "the load until this says which",
    )
    parser.add_argument("--rejects", type=Path, help="write every failing row here (CSV)")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    return parser


def _window(args: argparse.Namespace) -> Window | None:
    from datetime import date

    if args.start is None and args.end is None:
        return None
    if args.start is None or args.end is None or args.mode != "replace":
        raise ValueError("--start and --end go together, with --mode replace")
    return Window(date.fromisoformat(args.start), date.fromisoformat(args.end))


def _audit(
    data_dir: Path,
    args: argparse.Namespace,
    started: float,
    result: IngestResult | None = None,
    error: Exception | None = None,
) -> None:
    """Write the run's audit line: loaded, rejected, or failed with its reason."""
    seconds = time.perf_counter() - started
    if result is None:
        record = audit.cli_record(
            args.file.name,
            0,
            "",
            args.mode,
            "failed",
            seconds,
            detail=str(error),
            dataset=args.dataset,
        )
    else:
        prepared = result.prepared
        written = result.written
        record = audit.cli_record(
            prepared.filename,
            prepared.size_bytes,
            prepared.sha256,
            args.mode,
            "loaded" if written else "rejected",
            seconds,
            accepted=prepared.rows if written else 0,
            rejected=prepared.rejected_rows,
            detail=(
                f"inserted {written.inserted}, updated {written.updated}, "
                f"replaced {written.replaced}"
                if written
                else f"{prepared.failures.height} problems"
            ),
            dataset=args.dataset,
        )
    _append(data_dir, record)


def _append(data_dir: Path, record: audit.UploadRecord) -> None:
    try:
        audit.append(data_dir, record)
    except OSError as exc:  # the load itself stands; say that its trace is missing
        print(f"warning: the audit log could not be written: {exc}", file=sys.stderr)


def _print_rejected(prepared: PreparedFile | PreparedTargets, rejects: Path | None) -> None:
    failures = prepared.failures
    what = (
        prepared.noun
        if isinstance(prepared, PreparedExport)
        else "targets"
        if isinstance(prepared, PreparedTargets)
        else "rows"
    )
    print(
        f"rejected: {prepared.filename}: {prepared.rejected_rows} of {prepared.rows} {what} "
        f"failed validation ({len(failures)} problems); nothing was written",
        file=sys.stderr,
    )
    for rule in prepared.rule_counts().iter_rows(named=True):
        print(f"  {rule['rows']:>7} x {rule['column']}: {rule['rule']}", file=sys.stderr)
    for failure in failures.head(SHOWN_FAILURES).iter_rows(named=True):
        print(
            f"  row {failure['row']}: {failure['column']} = {failure['value']!r}: "
            f"{failure['rule']}",
            file=sys.stderr,
        )
    if rejects:
        write_rejects(prepared, rejects)
        print(f"  all failures written to {rejects}", file=sys.stderr)


def _targets_main(args: argparse.Namespace, data_dir: Path, started: float) -> int:
    """`--dataset targets`: validate the file, then write every target or none."""
    who = audit.os_user()

    def record(
        outcome: str, prepared: PreparedTargets | None = None, detail: str = ""
    ) -> audit.UploadRecord:
        return audit.cli_record(
            prepared.filename if prepared else args.file.name,
            prepared.size_bytes if prepared else 0,
            prepared.sha256 if prepared else "",
            args.mode,
            outcome,
            time.perf_counter() - started,
            accepted=prepared.rows if prepared and outcome == "loaded" else 0,
            rejected=prepared.rejected_rows if prepared else 0,
            detail=detail,
            dataset="targets",
        )

    try:
        if args.start or args.end:
            raise ValueError("--start and --end are for sales lines; targets replace by month")
        settings = load_settings()
        store = open_store(settings)
        result: TargetsResult = ingest_targets(
            args.file,
            store,
            who,
            mode=args.mode,
            explicit_map=parse_explicit(args.map),
            decimal=args.decimal,
        )
    except (IngestError, MappingError, StoreError, ValueError) as exc:
        _append(data_dir, record("failed", detail=str(exc)))
        print(f"error: {exc}", file=sys.stderr)
        return 2
    prepared = result.prepared
    if result.written is None:
        _append(data_dir, record("rejected", prepared, f"{prepared.failures.height} problems"))
        _print_rejected(prepared, args.rejects)
        return 1
    written = result.written
    detail = f"inserted {written.inserted}, updated {written.updated}, removed {written.removed}"
    _append(data_dir, record("loaded", prepared, detail))
    months = prepared.months()
    print(
        f"loaded {prepared.filename}: {prepared.rows:,} targets ({detail}), "
        f"{months[0]:%Y-%m} to {months[-1]:%Y-%m}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    new_request_id(page="cli:ingest")
    if args.dataset == "targets":
        return _targets_main(args, settings.data_dir, started)
    try:
        window = _window(args)
        explicit = parse_explicit(args.map)
        store = open_store(settings)
        if args.dataset in CRM_DATASETS and window is not None:
            raise ValueError("--start and --end replace a date range of sales lines only")
        last_stage = [""]

        def progress(stage: str, fraction: float) -> None:
            if not args.quiet and stage != last_stage[0]:
                print(f"  {stage}...", file=sys.stderr)
                last_stage[0] = stage

        if args.dataset == "opportunities":
            result = ingest_deals(
                args.file,
                pipeline_of(store),
                mode=args.mode,
                explicit_map=explicit,
                timezone=settings.timezone,
                progress=progress,
                decimal=args.decimal,
            )
        elif args.dataset in STAGE_AND_ACTIVITY_LOADERS:
            ingest, dataset_of = STAGE_AND_ACTIVITY_LOADERS[args.dataset]
            result = ingest(
                args.file,
                dataset_of(store),
                mode=args.mode,
                explicit_map=explicit,
                timezone=settings.timezone,
                progress=progress,
            )
        else:
            result = ingest_file(
                args.file,
                store,
                mode=args.mode,
                replace_window=window,
                explicit_map=explicit,
                timezone=settings.timezone,
                progress=progress,
                decimal=args.decimal,
            )
    except (IngestError, MappingError, StoreError, ValueError) as exc:
        _audit(settings.data_dir, args, started, error=exc)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _audit(settings.data_dir, args, started, result)
    prepared = result.prepared
    for note in prepared.notes:
        print(f"note: {note}", file=sys.stderr)
    if not result.ok:
        _print_rejected(prepared, args.rejects)
        return 1
    written = result.written
    assert written is not None
    span = prepared.date_range()
    # A CRM export's rows may differ from the file's (left-out rows, HubSpot's stage columns).
    rows, noun = (
        (prepared.lines.height, prepared.noun)
        if isinstance(prepared, PreparedExport)
        else (prepared.rows, "rows")
    )
    print(
        f"loaded {prepared.filename}: {rows:,} {noun} "
        f"({written.inserted:,} new, {written.updated:,} updated, {written.replaced:,} replaced), "
        f"{span.start if span else '-'} to {span.end if span else '-'}, "
        f"in {result.seconds:.2f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
