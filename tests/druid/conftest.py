"""A real Druid for the Druid tests: one already answering, or a local one started once.

`DRUID_URL` (default the local router, http://127.0.0.1:8888) is used as is
when it answers SQL; otherwise `scripts/druid/druid-local up` assembles (first
time: Maven fetch) and starts a local Druid, and the session stops exactly
that Druid at the end. Each session writes to its own datasources and drops
them afterwards, so a developer's `sales_analytics` is never touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest
import requests

from core.stores import druid_targets
from core.stores.druid import DruidStore
from core.stores.druid_chunks import ETERNITY
from core.stores.druid_http import DruidClient
from tests.conftest import ROOT, to_stored

DRUID_LOCAL = ROOT / "scripts" / "druid" / "druid-local"
LOCAL_URL = f"http://127.0.0.1:{os.environ.get('DRUID_PORT_ROUTER', '8888')}"
# First use fetches ~200 MB with Maven, then starts six JVMs: allow for a slow mirror.
UP_TIMEOUT_SECONDS = 1800
# Written once in the summary so CI logs show what the Druid session cost.
TIMINGS: dict[str, float] = {}


def sql_answers(url: str) -> bool:
    try:
        response = requests.post(f"{url}/druid/v2/sql", json={"query": "SELECT 1"}, timeout=5)
    except requests.RequestException:
        return False
    return response.status_code == 200


@pytest.fixture(scope="session")
def druid_url() -> Iterator[str]:
    """The router URL of a Druid that answers SQL for the whole session."""
    url = os.environ.get("DRUID_URL", LOCAL_URL).rstrip("/")
    if sql_answers(url):
        TIMINGS["druid_start_seconds"] = 0.0
        yield url
        return
    if url != LOCAL_URL:
        pytest.fail(f"DRUID_URL={url} does not answer SQL; unset it to start a local Druid")
    started = time.monotonic()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"druid-local-up-{os.getpid()}.log"
    with open(log, "w") as handle:
        result = subprocess.run(
            [str(DRUID_LOCAL), "up"],
            stdout=handle,
            stderr=subprocess.STDOUT,
            timeout=UP_TIMEOUT_SECONDS,
            check=False,
        )
    TIMINGS["druid_start_seconds"] = time.monotonic() - started
    try:
        if result.returncode != 0:
            pytest.fail(f"druid-local up failed:\n{log.read_text()[-3000:]}")
        yield LOCAL_URL
    finally:
        subprocess.run([str(DRUID_LOCAL), "down"], capture_output=True, timeout=120, check=False)


def drop_datasource(client: DruidClient, datasource: str) -> None:
    """Mark every segment unused and submit a kill task (not awaited) for the files,
    of the lines and of their targets."""
    for name in (
        datasource,
        druid_targets.datasource_of(datasource),
    ):
        try:
            client.request("DELETE", f"/druid/coordinator/v1/datasources/{name}", idempotent=False)
            client.request(
                "POST",
                "/druid/indexer/v1/task",
                {"type": "kill", "dataSource": name, "interval": ETERNITY},
                idempotent=False,
            )
        except Exception as exc:  # cleanup must not hide a test's own result
            print(f"could not drop {name}: {exc}", file=sys.stderr)


@pytest.fixture(scope="session")
def datasource_factory(druid_url: str) -> Iterator[Callable[[str], DruidStore]]:
    """New, empty datasources named for the test session; all dropped at the end."""
    session = uuid.uuid4().hex[:8]
    made: list[DruidStore] = []

    def make(purpose: str) -> DruidStore:
        store = DruidStore(druid_url, f"test_{purpose}_{session}")
        made.append(store)
        return store

    yield make
    for store in made:
        drop_datasource(store.client, store.datasource)


@pytest.fixture(scope="session")
def druid_sample_store(
    datasource_factory: Callable[[str], DruidStore], sample_lines: pl.DataFrame
) -> DruidStore:
    """The session's generated sample (the embedded `sample_store`'s lines) in Druid."""
    store = datasource_factory("sample")
    started = time.monotonic()
    store.write(to_stored(sample_lines), "append")
    TIMINGS["druid_sample_ingest_seconds"] = time.monotonic() - started
    return store


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TIMINGS:
        text = ", ".join(f"{k}={v:.1f}" for k, v in TIMINGS.items())
        terminalreporter.write_line(f"druid timings: {text}")
