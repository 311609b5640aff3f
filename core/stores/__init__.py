"""Store implementations and the one switch that picks between them."""

from __future__ import annotations

from core.settings import Settings
from core.store import SalesStore
from core.stores.logged import LoggedStore


def open_store(settings: Settings) -> SalesStore:
    """The store named by `SALES_BACKEND`, logging each query it answers."""
    return LoggedStore(_open_backend(settings))


def _open_backend(settings: Settings) -> SalesStore:
    if settings.backend == "druid":
        from core.stores.druid import DruidStore

        return DruidStore(
            settings.druid_url,
            settings.druid_datasource,
            settings.timezone,
            # Ingest stages files for Druid's task runner here: share this path with it.
            staging_dir=settings.data_dir.resolve() / "druid-staging",
        )
    from core.stores.embedded import EmbeddedStore

    return EmbeddedStore(settings.store_dir, settings.timezone)
