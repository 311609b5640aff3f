"""Each customer's first sale over the whole history, grouped once per data version.

Cohorts, the Customers table and new-versus-returning all ask for every
customer's first purchase over all stored lines, unfiltered
(`core.store.asks_first_sales`): a group-by of every line (10M lines: 0.2 s
embedded, 0.4 s on Druid) whose answer changes only when lines are written.
Each store keeps the last answer in memory beside the data version it was
grouped from, and groups again when the version it reads is another. The
warm-up after a write asks it, so the pages rarely wait for it; nothing is
written beside the lines, so no write waits for it either, and there is no
record to fall behind the lines.

Only the unfiltered question is kept: a filter (a branch, a salesperson) or a
role's branches change who bought first, and those group their lines.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import polars as pl


class FirstSales:
    """The last grouped answer and the version it describes; safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: tuple[str, pl.DataFrame] | None = None

    def of(self, version: str, group: Callable[[], pl.DataFrame]) -> pl.DataFrame:
        """The first sales of `version`: kept, or grouped now by `group` (once, however
        many threads ask at the same time)."""
        with self._lock:
            if self._kept is None or self._kept[0] != version:
                self._kept = (version, group())
            return self._kept[1]
