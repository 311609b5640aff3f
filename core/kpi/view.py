"""A resolved view: the scope, window and comparison window every area works on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from core.filters import Compare, Filters, resolve_window
from core.periods import comparison_window
from core.store import Grain, Scope, Window


class Dated(Protocol):
    """A store that knows its data's first and last day in a scope (sales or deals)."""

    def date_range(self, scope: Scope) -> Window | None: ...


@dataclass(frozen=True)
class View:
    """Filters made concrete against the data: what each area computes over."""

    scope: Scope
    window: Window | None  # None: nothing matches (no data in scope)
    comparison: Window | None  # None: no comparison asked, or no window
    grain: Grain
    compare: Compare


def resolve_view(
    store: Dated, filters: Filters, allowed_branches: tuple[str, ...] | None = None
) -> View:
    """Resolve open date ends to the data's range and compute the comparison window."""
    scope = filters.scope(allowed_branches)
    data_range = store.date_range(scope) if filters.start is None or filters.end is None else None
    window = resolve_window(filters, data_range)
    comparison = comparison_window(window, filters.compare) if window else None
    return View(scope, window, comparison, filters.grain, filters.compare)
