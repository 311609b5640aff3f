"""Sessions at once, server side: the Overview's queries for many managers together.

The browser figure for concurrent sessions (bench/pages.py) runs ten Chromium
tabs on the same two cores as the app, so it mostly measures Chromium drawing
charts. This one is the app's share: each session computes what the Overview
page asks the store for (`OVERVIEW_AREAS` and `OVERVIEW_PANELS`), on a
12-month window no other session asked for, through one shared store object
as the app's process has; first one session alone, then `SESSIONS` at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.queries import LAST_12_MONTHS, Stat, p95
from core.exports import AREAS
from core.filters import Filters
from core.kpi.panels import PANELS
from core.kpi.view import resolve_view
from core.store import SalesStore
from core.stores.embedded import EmbeddedStore

SESSIONS = 10
# The areas and panels views/overview.py reads (tests/bench checks they agree).
OVERVIEW_AREAS = ("overview",)
OVERVIEW_PANELS = ("leaders", "sales_trend", "trend_comparison", "segments")


def overview_session(store: SalesStore, shift_days: int) -> float:
    """Seconds to compute one Overview page's tables on a window shifted back `shift_days`."""
    start, end = LAST_12_MONTHS
    shift = timedelta(days=shift_days)
    filters = Filters(start=start - shift, end=end - shift, grain="month", compare="previous")
    started = time.perf_counter()
    view = resolve_view(store, filters)
    for area in OVERVIEW_AREAS:
        AREAS[area](store, view)
    for panel in OVERVIEW_PANELS:
        PANELS[panel](store, view)
    return time.perf_counter() - started


def run_sessions(
    data_dir: Path, rows: int, sessions: int = SESSIONS, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """One Overview alone, then `sessions` at once: each session's seconds."""
    store = EmbeddedStore(data_dir / "sales")
    overview_session(store, 600)  # the process's first queries pay for imports and JIT
    alone = overview_session(store, 601)
    ready = threading.Barrier(sessions)

    def session(index: int) -> float:
        ready.wait()
        return overview_session(store, 602 + index)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=sessions) as pool:
        together = list(pool.map(session, range(sessions)))
    wall = time.perf_counter() - started
    stat = Stat.of(together).as_dict()
    stat["p95"] = p95(together)
    result = {"rows": rows, "sessions": sessions, "alone_s": alone, "together": stat,
              "wall_s": wall}  # fmt: skip
    log(
        f"  {sessions} Overview sessions {rows:>11,} server side: alone {alone:.2f} s; "
        f"together median {stat['median']:.2f} s, p95 {stat['p95']:.2f} s, all done {wall:.2f} s"
    )
    return result
