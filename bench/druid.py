"""The bench's Druid: the bench store's lines in a datasource of their own.

The datasource is named for the size and for the layout version of what Druid
holds (`bench_10M_v2`, `core.stores.druid_ingest.LAYOUT_VERSION`), so a run
reuses what an earlier run loaded (a 10M-line load takes minutes) and a
layout change loads again. Without a Druid at `DRUID_URL`, `running_druid` starts the
local one and stops it afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from bench.data import ROOT, label
from core.schema import STORED_COLUMNS
from core.store import Scope
from core.stores.druid import DruidStore
from core.stores.druid_ingest import LAYOUT_VERSION
from core.stores.embedded import EmbeddedStore

DRUID_LOCAL = ROOT / "scripts" / "druid" / "druid-local"
# DRUID_URL values that mean the local Druid `druid-local` starts.
LOCAL_HOSTS = ("localhost:8888", "127.0.0.1:8888")


def druid_url() -> str:
    return os.environ.get("DRUID_URL", "http://localhost:8888").rstrip("/")


def reachable(url: str) -> str | None:
    """None if a Druid answers at `url`, else why not."""
    try:
        with urllib.request.urlopen(f"{url}/status/health", timeout=3) as response:
            return None if response.status == 200 else f"{url} answered {response.status}"
    except OSError as exc:
        return f"no Druid at {url} ({exc})"


@contextmanager
def running_druid(log: Callable[[str], None] = print) -> Iterator[str | None]:
    """A Druid for the bench: the one at `DRUID_URL`, else a local one started (and stopped).

    Yields None (Druid not measured) when `DRUID_URL` points elsewhere and does not
    answer, or the local Druid cannot start.
    """
    url = druid_url()
    if reachable(url) is None:
        settle(url, log)
        yield url
        return
    if url.split("://")[-1] not in LOCAL_HOSTS:
        log(f"  Druid not measured: {reachable(url)}")
        yield None
        return
    log(f"  starting a local Druid ({DRUID_LOCAL.relative_to(ROOT)} up) ...")
    started = subprocess.run([str(DRUID_LOCAL), "up"], capture_output=True, text=True)
    if started.returncode != 0:
        log(f"  local Druid did not start: {started.stdout[-500:]}{started.stderr[-500:]}")
        yield None
        return
    try:
        settle(url, log)
        yield url
    finally:
        subprocess.run([str(DRUID_LOCAL), "down"], capture_output=True, check=False)


# A Druid just started keeps both cores busy loading segments and warming its JVMs
# for a minute or more: the first ingest and query figures would pay for it.
SETTLE_TIMEOUT_S = 600
QUIET_LOAD = 1.0


def settle(url: str, log: Callable[[str], None] = print) -> None:
    """Wait until every segment is loaded and the 1-minute load average is quiet."""
    started = time.monotonic()
    while time.monotonic() - started < SETTLE_TIMEOUT_S:
        try:
            with urllib.request.urlopen(
                f"{url}/druid/coordinator/v1/loadstatus", timeout=5
            ) as response:
                loaded = json.loads(response.read())
        except (OSError, ValueError):
            loaded = {"?": 0.0}
        if all(pct >= 100.0 for pct in loaded.values()) and os.getloadavg()[0] < QUIET_LOAD:
            log(f"  Druid settled after {time.monotonic() - started:.0f} s")
            return
        time.sleep(5)
    log(f"  Druid still busy after {SETTLE_TIMEOUT_S} s: timing anyway")


def bench_druid(
    data_dir: Path, rows: int, work_dir: Path, log: Callable[[str], None] = print
) -> tuple[DruidStore | None, str, float | None]:
    """(store, note, load seconds): Druid holding the bench store's lines, loaded if needed."""
    url = druid_url()
    why_not = reachable(url)
    if why_not:
        return None, f"not run: {why_not}", None
    datasource = f"bench_{label(rows)}_v{LAYOUT_VERSION}"
    store = DruidStore(url, datasource, staging_dir=work_dir / "druid-staging")
    embedded = EmbeddedStore(data_dir / "sales")
    wanted = embedded.count_lines(Scope(), None)
    held = store.count_lines(Scope(), None)
    if held == wanted:
        return store, f"{url} {datasource}", None
    if held:  # an interrupted load: start again from nothing
        store.client.request("DELETE", f"/druid/coordinator/v1/datasources/{datasource}")
    log(f"  loading {wanted:,} lines into Druid datasource {datasource} ...")
    started = time.perf_counter()
    lines = pl.read_delta(str(data_dir / "sales")).select(STORED_COLUMNS)
    store.write(lines, "append")
    seconds = time.perf_counter() - started
    log(f"  Druid load: {seconds:.0f} s")
    return store, f"{url} {datasource}", seconds
