"""Bench data: generated samples and built stores, cached in the bench work dir.

Samples are keyed by (rows, seed, end): re-runs reuse them. A built store is
keyed as well by a hash of the code that decides the stored layout (schema,
keys, embedded store, ingest), so a layout change rebuilds it and an
unchanged tree reuses it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from datetime import date
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORK_DIR = ROOT / ".bench-data"
SEED = 7
# A fixed last day keeps every run's data (and its answers) identical.
END = date(2026, 10, 31)
# Files whose content decides what a built store holds and how it is laid out.
LAYOUT_FILES = (
    "core/schema.py",
    "core/keys.py",
    "core/stores/embedded_writes.py",
    "core/stores/customer_ids.py",
    "core/stores/invoice_heads.py",
    "ingest/parse.py",
    "ingest/read.py",
    "ingest/pipeline.py",
)


def label(rows: int) -> str:
    """1000000 -> '1M', 200000 -> '200k'."""
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}M"
    if rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)


def layout_hash() -> str:
    digest = hashlib.sha256()
    for name in LAYOUT_FILES:
        path = ROOT / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:12]


def sample_file(work_dir: Path, rows: int, suffix: str) -> Path:
    """The cached sample of `rows` lines as `.parquet` or `.csv`, generated if missing."""
    base = work_dir / "samples" / f"sales_{label(rows)}_seed{SEED}_{END.isoformat()}"
    parquet = base.with_suffix(".parquet")
    if not parquet.exists():
        from ingest.sample import generate_sales

        started = time.perf_counter()
        frame = generate_sales(rows, SEED, END)
        parquet.parent.mkdir(parents=True, exist_ok=True)
        partial = parquet.with_suffix(".parquet.partial")
        frame.write_parquet(partial)
        partial.rename(parquet)
        print(f"  generated {label(rows)} sample in {time.perf_counter() - started:.1f} s")
    if suffix == ".parquet":
        return parquet
    csv = base.with_suffix(".csv")
    if not csv.exists():
        partial = csv.with_suffix(".csv.partial")
        pl.scan_parquet(parquet).sink_csv(partial)
        partial.rename(csv)
    return csv


# Largest sample ingested as one file: ingest holds about 0.6 GB per million Parquet
# lines at its peak, so 50M lines at once would not fit in this machine's 24 GB.
ONE_FILE_MAX_ROWS = 10_000_000


def _slices(source: Path, rows: int, work_dir: Path) -> list[Path]:
    """The sample as one file, or cut into whole quarters of sales when it is too large
    to ingest at once, as an admin uploads each quarter's export. The sample is sorted
    by time and an invoice's lines share their time, so no invoice is cut in two."""
    if rows <= ONE_FILE_MAX_ROWS:
        return [source]
    lines = pl.scan_parquet(source)
    quarter = pl.col("sold_at").dt.truncate("1q")
    starts = lines.select(quarter.unique().sort()).collect().to_series().to_list()
    directory = work_dir / "tmp-slices"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    paths = []
    for start in starts:
        path = directory / f"{start:%Y-%m}.parquet"
        lines.filter(quarter == start).sink_parquet(path)
        paths.append(path)
    return paths


def store_data_dir(work_dir: Path, rows: int) -> Path:
    """A data dir (SALES_DATA_DIR) whose embedded store holds the `rows` sample.

    Built through the real ingest pipeline from the Parquet sample, so the
    store is laid out exactly as an upload would leave it; above
    `ONE_FILE_MAX_ROWS`, one quarter's file after another.
    """
    import ingest.pipeline
    from core.stores.embedded import EmbeddedStore
    from ingest.pipeline import ingest_file

    data_dir = work_dir / "stores" / f"{label(rows)}-{layout_hash()}"
    marker = data_dir / "bench-built.json"
    if marker.exists():
        return data_dir
    source = sample_file(work_dir, rows, ".parquet")
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    started = time.perf_counter()
    slices = _slices(source, rows, work_dir)
    # The upload limit guards the app's memory; the bench builds its stores beyond it.
    largest = max(path.stat().st_size for path in slices)
    ingest.pipeline.MAX_FILE_BYTES = max(ingest.pipeline.MAX_FILE_BYTES, largest)
    for path in slices:
        result = ingest_file(path, EmbeddedStore(data_dir / "sales"))
        if not result.ok:
            failures = result.prepared.failures.head(5)
            raise RuntimeError(f"bench sample failed validation: {failures}")
    if slices != [source]:
        shutil.rmtree(slices[0].parent, ignore_errors=True)
    seconds = time.perf_counter() - started
    marker.write_text(
        json.dumps(
            {"rows": rows, "seconds": seconds, "files": len(slices), "layout": layout_hash()}
        )
    )
    print(f"  built the {label(rows)} store from {len(slices)} file(s) in {seconds:.1f} s")
    # Stores of older layouts only take disk space.
    for old in data_dir.parent.glob(f"{label(rows)}-*"):
        if old != data_dir:
            shutil.rmtree(old, ignore_errors=True)
    return data_dir
