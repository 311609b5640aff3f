"""Faults during writes to the embedded store, on real filesystems.

Tests run as root here, and root ignores directory permissions, so `chmod`
cannot make a directory read-only for them. A real small filesystem can: a
tmpfs mounted for the test, remounted read-only, or filled to its size limit.
Both need `mount` (root, or a container that allows it); elsewhere the tests
skip and say why.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from core.schema import CANONICAL_COLUMNS, with_derived_measures
from core.store import Scope, StoreError
from core.stores.embedded import EmbeddedStore
from ingest.sample import generate_sales
from tests.conftest import ROOT, app_env, to_stored

END = date(2026, 6, 30)


@contextmanager
def small_filesystem(mountpoint: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` at `mountpoint`, unmounted afterwards whatever happens."""
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}): needs root")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def _state(store: EmbeddedStore) -> tuple[int, str, float]:
    net = store.aggregate(Scope(), None, measures=("net_sales",)).item()
    return store.count_lines(Scope(), None), store.data_version(), net


def _lines(rows: int, seed: int, prefix: str) -> pl.DataFrame:
    lines = to_stored(generate_sales(rows, seed=seed, end=END, years=1))
    return with_derived_measures(
        lines.select(CANONICAL_COLUMNS).with_columns(
            invoice_id=pl.lit(prefix) + pl.col("invoice_id")
        )
    )


def test_read_only_filesystem_during_write(tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "fs", "4m") as fs:
        store = EmbeddedStore(fs / "sales")
        store.write(_lines(100, 1, "A-"), "append")
        before = _state(store)
        subprocess.run(["mount", "-o", "remount,ro", str(fs)], check=True)
        with pytest.raises(StoreError, match=r"could not write to .*Read-only file system"):
            store.write(_lines(100, 2, "B-"), "append")
        assert _state(store) == before
        assert store.health().ok
        subprocess.run(["mount", "-o", "remount,rw", str(fs)], check=True)
        store.write(_lines(100, 2, "B-"), "append")
        assert store.count_lines(Scope(), None) == 200


def test_disk_full_during_write(tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "fs", "1m") as fs:
        store = EmbeddedStore(fs / "sales")
        store.write(_lines(100, 1, "A-"), "append")
        before = _state(store)
        files_before = sorted(p.name for p in (fs / "sales").iterdir())
        # ~30k lines compress to well over the ~1 MB left.
        with pytest.raises(StoreError, match="is full: nothing was written"):
            store.write(_lines(30_000, 2, "B-"), "append")
        assert _state(store) == before
        assert store.health().ok
        # No half-written data file is left behind to fill the disk further.
        assert sorted(p.name for p in (fs / "sales").iterdir()) == files_before
        # A write that fits still succeeds afterwards.
        store.write(_lines(50, 3, "C-"), "append")
        assert store.count_lines(Scope(), None) == 150


def test_disk_full_at_the_commit(tmp_path: Path) -> None:
    """The data file lands but the commit cannot: the file is removed, nothing changes.

    tmpfs counts inodes as well as bytes: remounted with exactly one inode free,
    the new data file takes it and the commit file finds none (ENOSPC).
    """
    with small_filesystem(tmp_path / "fs", "16m") as fs:
        store = EmbeddedStore(fs / "sales")
        store.write(_lines(100, 1, "A-"), "append")
        before = _state(store)
        files_before = sorted(p.name for p in (fs / "sales").iterdir())
        used = subprocess.run(
            ["df", "--output=iused", str(fs)], capture_output=True, text=True, check=True
        ).stdout.split()[-1]
        subprocess.run(["mount", "-o", f"remount,nr_inodes={int(used) + 1}", str(fs)], check=True)
        with pytest.raises(StoreError, match="is full: nothing was written"):
            store.write(_lines(100, 2, "B-"), "append")
        assert sorted(p.name for p in (fs / "sales").iterdir()) == files_before
        subprocess.run(["mount", "-o", "remount,nr_inodes=4096", str(fs)], check=True)
        assert _state(store) == before
        store.write(_lines(100, 2, "B-"), "append")
        assert store.count_lines(Scope(), None) == 200


def test_disk_full_during_update_merge(tmp_path: Path) -> None:
    """Re-loading stored lines goes through a Delta merge: that path must fail cleanly too."""
    with small_filesystem(tmp_path / "fs", "1m") as fs:
        store = EmbeddedStore(fs / "sales")
        first = _lines(2_000, 1, "A-")
        store.write(first, "append")
        before = _state(store)
        filler = fs / "filler"
        free = subprocess.run(
            ["df", "--output=avail", "-B1", str(fs)], capture_output=True, text=True, check=True
        ).stdout.split()[-1]
        filler.write_bytes(b"\0" * max(int(free) - 4096, 0))
        with pytest.raises(StoreError):
            store.write(pl.concat([first, _lines(2_000, 2, "B-")]), "append")
        filler.unlink()
        assert _state(store) == before


def _csv(frame: pl.DataFrame, path: Path) -> Path:
    frame.select(CANONICAL_COLUMNS).write_csv(path)
    return path


def test_two_ingest_processes_at_once(tmp_path: Path) -> None:
    """Both land, in turn; lines both files carry are stored once, nothing is lost."""
    shared = _lines(5_000, 31, "S-")
    only_a = _lines(15_000, 32, "A-")
    only_b = _lines(15_000, 33, "B-")
    file_a = _csv(pl.concat([only_a, shared]), tmp_path / "a.csv")
    file_b = _csv(pl.concat([shared, only_b]), tmp_path / "b.csv")
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "ingest", str(f), "--quiet"],
            cwd=ROOT,
            env=app_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in (file_a, file_b)
    ]
    outputs = [p.communicate(timeout=240) for p in processes]
    for process, (_out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
    store = EmbeddedStore(tmp_path / "sales")
    expected = pl.concat([only_a, shared, only_b])
    lines, _version, net = _state(store)
    assert lines == len(expected) == 35_000
    assert net == pytest.approx(expected["net_sales"].sum(), abs=0.05)
    # One of the two saw the other's shared lines already stored: updated, not inserted.
    assert sum("5,000 updated" in out for out, _err in outputs) == 1
