"""What the API keeps per server process: its settings and its store."""

from __future__ import annotations

import functools

from core.logs import configure_logging
from core.settings import Settings, load_settings
from core.store import SalesStore
from core.stores import open_store


@functools.cache
def settings() -> Settings:
    """Read once, on the first API request; logging is set up with them (JSON lines)."""
    loaded = load_settings()
    configure_logging(loaded.log_level)
    return loaded


@functools.cache
def store() -> SalesStore:
    """One store for every API request; both implementations are safe across threads.

    Not the pages' (`core.cache.get_store`): that one lives in Streamlit's cache,
    which the API does not import; the API's answers are the command line's,
    computed without a cache.
    """
    return open_store(settings())
