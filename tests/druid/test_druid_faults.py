"""Druid faults mid-session: it goes away and comes back, it stalls, it times a query out.

The app and the store talk to the real Druid through `DruidProxy`, which can
refuse connections (Druid down), forward again (Druid back) or hold them
unanswered (Druid stalled), all without restarting the app process.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import polars as pl
import pytest

from core import cache
from core.store import Scope, StoreError
from core.stores.druid import DruidStore
from core.stores.druid_http import DruidClient, DruidTimeout
from tests.druid.parity import assert_same
from tests.druid.proxy import DruidProxy
from tests.druid.test_druid_pages import _use, run_page

pytestmark = pytest.mark.druid

UNREACHABLE = "Druid is not reachable"


@pytest.fixture()
def proxy(druid_sample_store: DruidStore) -> Iterator[DruidProxy]:
    target = urlparse(druid_sample_store.url)
    with DruidProxy(target.hostname or "127.0.0.1", target.port or 8888) as running:
        yield running


@pytest.fixture()
def app_through_proxy(
    proxy: DruidProxy,
    druid_sample_store: DruidStore,
    sample_data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[DruidProxy]:
    _use(monkeypatch, sample_data_dir, proxy.url, druid_sample_store.datasource)
    yield proxy
    cache.get_store.clear()
    cache.clear()


def shown_errors(app: object) -> str:
    return " ".join(str(e.value) for e in app.error)  # type: ignore[attr-defined]


def test_druid_goes_away_and_comes_back_without_an_app_restart(
    app_through_proxy: DruidProxy,
) -> None:
    proxy = app_through_proxy
    first = run_page("overview")
    assert not first.exception and not first.error, shown_errors(first)
    served = [m.value for m in first.metric]

    proxy.down()
    down = run_page("branches")
    assert not down.exception
    assert UNREACHABLE in shown_errors(down), shown_errors(down)
    assert "make druid-up" in shown_errors(down), "the banner says what to do"
    assert not down.metric, "no stale numbers beside the banner"

    proxy.up()
    back = run_page("overview")
    assert not back.exception and not back.error, shown_errors(back)
    assert [m.value for m in back.metric] == served, "the same numbers as before the outage"


def test_druid_lost_in_the_middle_of_a_page_is_a_banner(
    app_through_proxy: DruidProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Druid answers the filter bar's queries, then goes away before the page's panels."""
    proxy = app_through_proxy
    original = cache.area

    def area_after_outage(name: str, view: object, version: str) -> object:
        proxy.down()
        return original(name, view, version)  # type: ignore[arg-type]

    monkeypatch.setattr(cache, "area", area_after_outage)
    app = run_page("salespeople")
    assert not app.exception
    errors = shown_errors(app)
    assert UNREACHABLE in errors and "Something went wrong" not in errors, errors


def test_a_stalled_druid_is_a_timeout_message_after_one_try(proxy: DruidProxy) -> None:
    proxy.stall()
    store = DruidStore(proxy.url, "sales_analytics", client=DruidClient(proxy.url, read_timeout=1))
    started = time.monotonic()
    with pytest.raises(StoreError, match=r"did not answer within 1 s"):
        store.count_lines(Scope(), None)
    assert time.monotonic() - started < 5, "a read timeout is not retried"
    assert proxy.connections == 1


def test_druids_own_query_timeout_is_reported_and_not_retried(
    druid_sample_store: DruidStore, proxy: DruidProxy
) -> None:
    client = DruidClient(proxy.url)
    heavy = (
        f'SELECT "customer_id", "product_id", COUNT(DISTINCT "invoice_id") '
        f'FROM "{druid_sample_store.datasource}" GROUP BY 1, 2'
    )
    with pytest.raises(DruidTimeout, match="time limit") as raised:
        client.sql(heavy, [], {"timeout": 1, "useApproximateCountDistinct": False})
    assert "timed out" in raised.value.druid_message
    assert proxy.connections == 1, "Druid's timeout is final: no second try"


class Counting(DruidClient):
    """The real client, counting the SQL queries it sends."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.asked: list[str] = []

    def sql(self, query: str, *args: Any, **kwargs: Any) -> tuple[list[str], list[list[Any]]]:
        self.asked.append(query)
        return super().sql(query, *args, **kwargs)

    def sql_frame(self, query: str, *args: Any, **kwargs: Any) -> pl.DataFrame:
        self.asked.append(query)
        return super().sql_frame(query, *args, **kwargs)


FIRST_SALES = (Scope(), None, ("customer_id",), None, ("first_sale",))


def test_first_sales_are_grouped_once_per_version(druid_sample_store: DruidStore) -> None:
    """A second ask of the same lines sends only the look at the published segments."""
    client = Counting(druid_sample_store.client.url)
    store = DruidStore(client.url, druid_sample_store.datasource, client=client)
    first = store.aggregate(*FIRST_SALES)
    grouped = len(client.asked)
    assert grouped >= 2, "the segments, then the lines grouped"
    again = store.aggregate(*FIRST_SALES)
    assert again is first
    assert len(client.asked) == grouped + 1, client.asked[grouped:]
    assert_same(first, druid_sample_store.aggregate(*FIRST_SALES), "kept against grouped")
