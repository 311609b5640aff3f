"""Every hostile file gives a precise error or a correct load; never a traceback or a partial write.

Each case goes through `ingest.pipeline.ingest_file` in process and through
`python -m ingest` in a subprocess, each against its own copy of a store that
already holds three lines; a refused or rejected file must leave that store's
row count and data version exactly as they were.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core.store import Scope
from core.stores.embedded import EmbeddedStore
from ingest.pipeline import IngestError, ingest_file
from tests.conftest import ROOT, app_env
from tests.ingest.hostile.corpus import CASES, GOOD, Case, Load, Refuse, Reject

FAST = [c for c in CASES if not c.slow]
SLOW = [c for c in CASES if c.slow]
# Subprocesses at once: the CLI spends most of its ~1 s importing, so more than cores helps.
WORKERS = 4


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 25
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory whose store holds three lines (other invoice numbers than the cases)."""
    data_dir = tmp_path_factory.mktemp("template")
    base = data_dir / "base.csv"
    base.write_text(GOOD.replace("INV-", "BASE-"))
    assert ingest_file(base, EmbeddedStore(data_dir / "sales")).ok
    base.unlink()
    return data_dir


def _copy(template: Path, where: Path) -> Path:
    shutil.copytree(template, where)
    return where


def _state(data_dir: Path) -> tuple[int, str]:
    store = EmbeddedStore(data_dir / "sales")
    return store.count_lines(Scope(), None), store.data_version()


def _build(case: Case, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / case.filename
    case.build(path)
    return path


def check_pipeline(case: Case, template: Path, tmp_path: Path) -> None:
    data_dir = _copy(template, tmp_path / "data")
    store = EmbeddedStore(data_dir / "sales")
    path = _build(case, tmp_path / "in")
    before = _state(data_dir)
    expect = case.expect
    if isinstance(expect, Refuse):
        with pytest.raises(IngestError) as raised:
            ingest_file(path, store)
        assert expect.message in str(raised.value)
        assert _state(data_dir) == before
        return
    result = ingest_file(path, store)
    if isinstance(expect, Reject):
        assert not result.ok
        found = {(f["row"], f["column"]): f["rule"] for f in result.prepared.failures.to_dicts()}
        for row, column, rule in expect.failures:
            assert rule in found.get((row, column), ""), (row, column, found)
        assert _state(data_dir) == before
        return
    assert result.ok, result.prepared.failures
    assert isinstance(expect, Load)
    count, version = _state(data_dir)
    assert (count, version != before[1]) == (before[0] + expect.rows, True)
    if expect.note:
        assert any(expect.note in n for n in result.prepared.notes), result.prepared.notes
    if expect.check:
        expect.check(store)
    # Loading the same file again changes nothing: no line is ever counted twice.
    assert ingest_file(path, store).ok
    assert _state(data_dir)[0] == count


def run_cli(
    case: Case, template: Path, folder: Path
) -> tuple[subprocess.CompletedProcess[str], tuple[int, str], tuple[int, str]]:
    data_dir = _copy(template, folder / "data")
    path = _build(case, folder / "in")
    before = _state(data_dir)
    result = subprocess.run(
        [sys.executable, "-m", "ingest", str(path), "--quiet"], cwd=ROOT,
        env=app_env(data_dir), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return result, before, _state(data_dir)


def check_cli(
    case: Case,
    result: subprocess.CompletedProcess[str],
    before: tuple[int, str],
    after: tuple[int, str],
) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    expect = case.expect
    if isinstance(expect, Refuse):
        assert result.returncode == 2, result.stderr
        assert expect.message in result.stderr
        assert after == before
    elif isinstance(expect, Reject):
        assert result.returncode == 1, result.stderr
        for row, column, rule in expect.failures:
            assert any(
                line.strip().startswith(f"row {row}: {column} = ") and rule in line
                for line in result.stderr.splitlines()
            ), (row, column, rule, result.stderr)
        assert "nothing was written" in result.stderr
        assert after == before
    else:
        assert result.returncode == 0, result.stderr
        assert after[0] == before[0] + expect.rows


@pytest.fixture(scope="module")
def cli_runs(template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    folder = tmp_path_factory.mktemp("cli")
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {c.name: pool.submit(run_cli, c, template, folder / c.name) for c in FAST}
    return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("case", FAST, ids=lambda c: c.name)
def test_pipeline(case: Case, template: Path, tmp_path: Path) -> None:
    check_pipeline(case, template, tmp_path)


@pytest.mark.parametrize("case", FAST, ids=lambda c: c.name)
def test_cli(case: Case, cli_runs: dict[str, tuple]) -> None:
    check_cli(case, *cli_runs[case.name])


@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW, ids=lambda c: c.name)
def test_slow_case(case: Case, template: Path, tmp_path: Path) -> None:
    check_pipeline(case, template, tmp_path / "pipeline")
    check_cli(case, *run_cli(case, template, tmp_path / "cli"))
