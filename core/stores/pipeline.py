"""The CRM stores beside a sales store: the same backend, tables or datasources of their own.

`pipeline_of` gives what the pipeline KPIs read (deals, and through them
their stage history and activities); `stages_of` and `activities_of` the
writers of those two datasets, which ingest loads.

Branch restrictions: stage entries and activities carry no branch. Every
read goes through the deals, so a user restricted to some branches sees a
stage entry only when its deal is in those branches, and an activity only
when the one deal it counts on is (the deal it names, else its customer's
deal open when it was done: `core.pipeline_store.attributed`). The writers
are unscoped: loading a CRM export is an administrator's job.
"""

from __future__ import annotations

import threading
import weakref

from core.pipeline_datasets import ACTIVITIES, OPPORTUNITIES, STAGES
from core.pipeline_store import KeyedStore, PipelineStore
from core.settings import Settings
from core.store import SalesStore
from core.stores.logged import LoggedDataset

# Directory (embedded) and datasource suffix (Druid) of the opportunities dataset.
DATASET = OPPORTUNITIES.name

_PAIRED: weakref.WeakKeyDictionary[object, PipelineStore] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _paired(store: SalesStore) -> tuple[PipelineStore, bool]:
    """The one pipeline store of `store`'s backend and place, and whether `store` is logged."""
    inner: object = getattr(store, "inner", store)  # a LoggedStore wraps the backend
    with _LOCK:
        paired = _PAIRED.get(inner)
        if paired is None:
            paired = _pair(inner)
            _PAIRED[inner] = paired
    return paired, inner is not store


def pipeline_of(store: SalesStore) -> PipelineStore:
    """The opportunities store of the same backend and place as `store` (one per store).

    Embedded: the Delta table `opportunities/` beside the sales table. Druid:
    the datasource `<datasource>_opportunities` on the same cluster.
    """
    paired, logged = _paired(store)
    # A logged sales store's deals are logged too, beside its queries.
    return LoggedDataset(paired, DATASET) if logged else paired


def stages_of(store: SalesStore) -> KeyedStore:
    """The stage history beside `store`: the Delta table `stages/` (embedded) or the
    datasource `<datasource>_stages` (Druid)."""
    paired, logged = _paired(store)
    return LoggedDataset(paired.stages, STAGES.name) if logged else paired.stages


def activities_of(store: SalesStore) -> KeyedStore:
    """The activities beside `store`: the Delta table `activities/` (embedded) or the
    datasource `<datasource>_activities` (Druid)."""
    paired, logged = _paired(store)
    return LoggedDataset(paired.activities, ACTIVITIES.name) if logged else paired.activities


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
