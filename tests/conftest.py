"""Shared fixtures: a real embedded store with generated data, a running app, Chromium."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime
from datetime import time as clock
from pathlib import Path

import polars as pl
import pytest

from core.logs import PROJECT_LOGGERS
from core.schema import with_derived_measures
from core.stores.embedded import EmbeddedStore
from core.stores.pipeline_embedded import EmbeddedPipelineStore
from core.users import UserFile
from ingest.activities import prepare_activities
from ingest.opportunities import prepare_deals
from ingest.sample import generate_sales
from ingest.sample_crm import deals_csv, sample_deals
from ingest.sample_crm_history import (
    activities_csv,
    sample_activities,
    sample_stages,
    stages_csv,
)
from ingest.stages import prepare_stages

ROOT = Path(__file__).resolve().parent.parent
# Generated data ends here so expected values do not move with the calendar.
SAMPLE_END = date(2026, 10, 31)
# Big enough for every area to be interesting, small enough to build in seconds.
SAMPLE_ROWS = 60_000
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Test users, created in every test data directory's users file.
ADMIN = ("admin", "admin-password-1")
VIEWER = ("viewer", "viewer-password-1")
MOMBASA_VIEWER = ("mombasa", "mombasa-password-1")


@pytest.fixture()
def caplog(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """pytest's log capture, hearing the project's loggers whatever the app did to them.

    Once the app has run in this process (a page in AppTest), its logging setup
    (core/logs.py) stops the project's records at their top logger ("core", "ui"),
    before the root logger where pytest listens: a test that the app logged nothing
    would then pass whatever it logged. The handler sits on those loggers instead.
    """
    loggers = [logging.getLogger(name) for name in PROJECT_LOGGERS]
    propagates = [logger.propagate for logger in loggers]
    for logger in loggers:
        logger.propagate = False  # to the handler on it, not also to the root's
        logger.addHandler(caplog.handler)
    yield caplog
    for logger, propagate in zip(loggers, propagates, strict=True):
        logger.removeHandler(caplog.handler)
        logger.propagate = propagate


def add_test_users(data_dir: Path) -> None:
    users = UserFile(data_dir / "users.yaml")
    users.add(*ADMIN, role="admin")
    users.add(*VIEWER, role="viewer")
    users.add(*MOMBASA_VIEWER, role="viewer", branches=("Mombasa",))


def to_stored(frame: pl.DataFrame) -> pl.DataFrame:
    """Generated canonical lines (naive Nairobi time) as the store keeps them."""
    utc = frame.with_columns(
        pl.col("sold_at").dt.replace_time_zone("Africa/Nairobi").dt.convert_time_zone("UTC")
    )
    return with_derived_measures(utc)


@pytest.fixture(scope="session")
def sample_lines() -> pl.DataFrame:
    return generate_sales(SAMPLE_ROWS, seed=11, end=SAMPLE_END)


@pytest.fixture(scope="session")
def sample_data_dir(tmp_path_factory: pytest.TempPathFactory, sample_lines: pl.DataFrame) -> Path:
    """A data directory whose embedded store holds the sample lines and, beside them, the
    sample CRM's deals (won deals carry the invoices they became), their stage history and
    activities, each prepared as an upload of its export is."""
    data_dir = tmp_path_factory.mktemp("data")
    EmbeddedStore(data_dir / "sales").write(to_stored(sample_lines), "append")
    generated = sample_deals(sample_lines, SAMPLE_END)
    deals = prepare_deals(deals_csv(generated), "sample-crm.csv")
    assert deals.ok, deals.failures
    pipeline = EmbeddedPipelineStore(data_dir / "opportunities")
    pipeline.write(deals.lines, "append")
    as_of = datetime.combine(SAMPLE_END, clock())  # the export is taken that morning
    stages = prepare_stages(stages_csv(sample_stages(generated, as_of=as_of)), "stages.csv")
    assert stages.ok, stages.failures
    pipeline.stages.write(stages.lines, "append")
    done = sample_activities(generated, as_of=as_of)
    activities = prepare_activities(activities_csv(done), "activities.csv")
    assert activities.ok, activities.failures
    pipeline.activities.write(activities.lines, "append")
    add_test_users(data_dir)
    return data_dir


def own_data_dir(
    tmp_path_factory: pytest.TempPathFactory, name: str, lines: int, seed: int
) -> Path:
    """A data directory with a store of its own, for tests that write to it."""
    data_dir = tmp_path_factory.mktemp(name)
    generated = generate_sales(lines, seed=seed, end=SAMPLE_END)
    EmbeddedStore(data_dir / "sales").write(to_stored(generated), "append")
    add_test_users(data_dir)
    return data_dir


@pytest.fixture(scope="session")
def sample_store(sample_data_dir: Path) -> EmbeddedStore:
    return EmbeddedStore(sample_data_dir / "sales")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def app_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "SALES_DATA_DIR": str(data_dir),
            "SALES_BACKEND": "embedded",
            "SALES_AUTH_FILE": str(data_dir / "users.yaml"),
            "SALES_ENV": "development",
        }
    )
    return env


@pytest.fixture(scope="session")
def app_url(sample_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Streamlit server over the sample store; stopped by its process id."""
    yield from serve_app(sample_data_dir, tmp_path_factory)


def serve_app(
    data_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    pids: list[int] | None = None,
    log: Path | None = None,
    base_path: str = "",
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Start Streamlit on a free loopback port over `data_dir`; stop it afterwards.

    The server's process id is appended to `pids` when given (memory checks);
    its output goes to `log` when given. With `base_path` ("sales") the app is
    served under it, as behind a proxy; the URL yielded is still the server's root.
    `env` overrides the app's environment (`SALES_BACKEND=druid`, say).
    """
    sample_data_dir = data_dir
    port = _free_port()
    log = log or tmp_path_factory.mktemp("app") / "streamlit.log"
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(ROOT / "server.py"),
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
                "--server.baseUrlPath",
                base_path,
            ],
            cwd=ROOT,
            env={**app_env(sample_data_dir), **(env or {})},
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    health = f"{url}/{base_path}/_stcore/health" if base_path else f"{url}/_stcore/health"
    try:
        deadline = time.monotonic() + 60  # a cold start imports Polars, Delta
        while True:
            try:
                with urllib.request.urlopen(health, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Streamlit did not start: {log.read_text()[-2000:]}")
            time.sleep(0.3)
        if pids is not None:
            pids.append(process.pid)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium, with the flags that keep it off networks it cannot reach."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


def run_cli(args: list[str], data_dir: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run `python -m ...` in a fresh process against `data_dir`."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        env=app_env(data_dir),
        capture_output=True,
        text=True,
        timeout=300,
        **kwargs,  # type: ignore[call-overload]
    )
