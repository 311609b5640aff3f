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
    "core/stores/embedded.py",
    "core/stores/customer_ids.py",
    "core/stores/first_sales.py",
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


def store_data_dir(work_dir: Path, rows: int) -> Path:
    """A data dir (SALES_DATA_DIR) whose embedded store holds the `rows` sample.

    Built through the real ingest pipeline from the Parquet sample, so the
    store is laid out exactly as an upload would leave it.
    """
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
    result = ingest_file(source, EmbeddedStore(data_dir / "sales"))
    if not result.ok:
        raise RuntimeError(f"bench sample failed validation: {result.prepared.failures.head(5)}")
    seconds = time.perf_counter() - started
    marker.write_text(json.dumps({"rows": rows, "seconds": seconds, "layout": layout_hash()}))
    print(f"  built the {label(rows)} store in {seconds:.1f} s: {data_dir}")
    # Stores of older layouts only take disk space.
    for old in data_dir.parent.glob(f"{label(rows)}-*"):
        if old != data_dir:
            shutil.rmtree(old, ignore_errors=True)
    return data_dir
