"""The pipeline store beside a sales store: the same backend, its own table or datasource."""

from __future__ import annotations

import threading
import weakref

from core.pipeline_store import PipelineStore
from core.settings import Settings
from core.store import SalesStore
from core.stores.logged import LoggedDataset

# Directory (embedded) and datasource suffix (Druid) of the opportunities dataset.
DATASET = "opportunities"

_PAIRED: weakref.WeakKeyDictionary[object, PipelineStore] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def pipeline_of(store: SalesStore) -> PipelineStore:
    """The opportunities store of the same backend and place as `store` (one per store).

    Embedded: the Delta table `opportunities/` beside the sales table. Druid:
    the datasource `<datasource>_opportunities` on the same cluster.
    """
    inner: object = getattr(store, "inner", store)  # a LoggedStore wraps the backend
    with _LOCK:
        paired = _PAIRED.get(inner)
        if paired is None:
            paired = _pair(inner)
            _PAIRED[inner] = paired
    if inner is store:
        return paired
    # A logged sales store's deals are logged too, beside its queries.
    return LoggedDataset(paired, DATASET)


def _pair(inner: object) -> PipelineStore:
    from core.stores.druid import DruidStore
    from core.stores.embedded import EmbeddedStore

    if isinstance(inner, EmbeddedStore):
        from core.stores.pipeline_embedded import EmbeddedPipelineStore

        return EmbeddedPipelineStore(inner.path.parent / DATASET, inner.timezone)
    if isinstance(inner, DruidStore):
        from core.stores.pipeline_druid import DruidPipelineStore

        return DruidPipelineStore(
            inner.client, f"{inner.datasource}_{DATASET}", inner.timezone, inner.staging_dir
        )
    raise TypeError(f"no pipeline store pairs with {type(inner).__name__}")


def open_pipeline_store(settings: Settings) -> PipelineStore:
    """The opportunities store `SALES_BACKEND` names, beside its sales store."""
    from core.stores import open_store

    return pipeline_of(open_store(settings))
