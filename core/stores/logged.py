"""A `SalesStore` that logs every call of the store it wraps, and the same for the
datasets beside it (`LoggedDataset`: opportunities).

`open_store` wraps whichever store the settings pick, so each query of either
backend writes one log line: the store, the operation, how long it took and
how many rows it returned (failures too, at WARNING, with the error).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import polars as pl

from core.store import (
    MEASURES,
    Grain,
    Progress,
    SalesStore,
    Scope,
    StoreHealth,
    TargetWriteResult,
    Window,
    WriteMode,
    WriteResult,
)

log = logging.getLogger("core.store")
T = TypeVar("T")


def _rows(value: object) -> int | None:
    if isinstance(value, pl.DataFrame):
        return value.height
    if isinstance(value, list):
        return len(value)
    if isinstance(value, WriteResult | TargetWriteResult):
        return value.inserted + value.updated
    if isinstance(value, int) and not isinstance(value, bool):
        return 1
    if value is None or isinstance(value, Window):
        return 0 if value is None else 1
    return None


def logged_call(
    store: str, operation: str, call: Callable[[], T], level: int = logging.INFO, **fields: Any
) -> T:
    """`call()`, logged as one store operation (see the module docstring)."""
    started = time.perf_counter()
    try:
        value = call()
    except Exception as exc:
        log.warning(
            "store %s failed: %s",
            operation,
            exc,
            extra={
                "store": store,
                "operation": operation,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "error": f"{type(exc).__name__}: {exc}",
                **fields,
            },
        )
        raise
    if log.isEnabledFor(level):
        log.log(
            level,
            "store %s",
            operation,
            extra={
                "store": store,
                "operation": operation,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "rows": _rows(value),
                **fields,
            },
        )
    return value


class LoggedDataset:
    """Delegates to the store of a dataset beside the sales (`dataset`, such as
    "opportunities") and logs each method call with the dataset's name."""

    def __init__(self, inner: Any, dataset: str) -> None:
        self.inner = inner
        self.name = inner.name
        self.dataset = dataset

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(self.inner, attribute)
        if attribute.startswith("_") or not callable(value):
            return value
        # Asked on every page run to key the caches: DEBUG, or it drowns the queries.
        level = logging.DEBUG if attribute == "data_version" else logging.INFO

        def logged(*args: Any, **kwargs: Any) -> Any:
            return logged_call(
                self.name, attribute, lambda: value(*args, **kwargs), level, dataset=self.dataset
            )

        return logged

    def __repr__(self) -> str:
        return f"LoggedDataset({self.inner!r}, {self.dataset!r})"


class LoggedStore:
    """Delegates to `inner` and logs each call (see the module docstring)."""

    def __init__(self, inner: SalesStore) -> None:
        self.inner = inner
        self.name = inner.name

    def __getattr__(self, attribute: str) -> Any:
        # Extras of one implementation (`latest_sale`, `path`) pass straight through.
        return getattr(self.inner, attribute)

    def __repr__(self) -> str:
        return f"LoggedStore({self.inner!r})"

    def _call(
        self,
        operation: str,
        call: Callable[[], T],
        level: int = logging.INFO,
        **fields: Any,
    ) -> T:
        return logged_call(self.name, operation, call, level, **fields)

    def aggregate(
        self,
        scope: Scope,
        window: Window | None,
        by: tuple[str, ...] = (),
        grain: Grain | None = None,
        measures: tuple[str, ...] = MEASURES,
        latest: tuple[str, ...] = (),
    ) -> pl.DataFrame:
        return self._call(
            "aggregate",
            lambda: self.inner.aggregate(scope, window, by, grain, measures, latest),
            by=list(by),
            grain=grain,
            window=None if window is None else f"{window.start}..{window.end}",
        )

    def active_months(self, scope: Scope, window: Window) -> pl.DataFrame:
        return self._call(
            "active_months",
            lambda: self.inner.active_months(scope, window),
            window=f"{window.start}..{window.end}",
        )

    def distinct_values(self, column: str, scope: Scope) -> list[str]:
        return self._call(
            "distinct_values", lambda: self.inner.distinct_values(column, scope), column=column
        )

    def date_range(self, scope: Scope) -> Window | None:
        return self._call("date_range", lambda: self.inner.date_range(scope))

    def count_lines(self, scope: Scope, window: Window | None) -> int:
        return self._call("count_lines", lambda: self.inner.count_lines(scope, window))

    def write(
        self,
        lines: pl.DataFrame,
        mode: WriteMode,
        replace_window: Window | None = None,
        progress: Progress | None = None,
    ) -> WriteResult:
        return self._call(
            "write",
            lambda: self.inner.write(lines, mode, replace_window, progress),
            mode=mode,
            lines=lines.height,
        )

    def read_targets(self) -> pl.DataFrame:
        return self._call("read_targets", self.inner.read_targets)

    def write_targets(
        self, targets: pl.DataFrame, removed: pl.DataFrame | None = None
    ) -> TargetWriteResult:
        return self._call(
            "write_targets",
            lambda: self.inner.write_targets(targets, removed),
            targets=targets.height,
            removed=0 if removed is None else removed.height,
        )

    def health(self) -> StoreHealth:
        return self._call("health", self.inner.health)

    def data_version(self) -> str:
        # Asked on every page run to key the caches: DEBUG, or it drowns the queries.
        return self._call("data_version", self.inner.data_version, level=logging.DEBUG)
