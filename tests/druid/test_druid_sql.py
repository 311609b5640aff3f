"""The Druid SQL text never carries a user value; Druid being down is a clear StoreError.

These run without Druid (no `druid` marker): they check the text the store
sends and how it fails when nothing answers.
"""

from __future__ import annotations

import socket
import time
from datetime import date

import pytest

from core.store import DIMENSIONS, GRAINS, MEASURES, Scope, StoreError, Window
from core.stores import druid_sql
from core.stores.druid import DruidStore
from core.stores.druid_chunks import Chunk, chunk_condition
from core.stores.druid_ingest import replace_sql

HOSTILE = "x' OR '1'='1\"; DROP TABLE t; --"


@pytest.mark.parametrize("grain", [None, *GRAINS])
def test_member_values_and_dates_become_typed_parameters(grain: str | None) -> None:
    scope = Scope(
        branches=(HOSTILE, "Mombasa"), product_lines=("Dairy",), allowed_branches=(HOSTILE,)
    )
    window = Window(date(2026, 1, 1), date(2026, 1, 31))
    sql, params = druid_sql.aggregate("sales", scope, window, ("branch",), grain, MEASURES)  # type: ignore[arg-type]
    assert HOSTILE not in sql and "Mombasa" not in sql and "2026" not in sql
    assert sql.count("?") == len(params) == 2 + 2 + 1 + 1
    assert {"type": "VARCHAR", "value": HOSTILE} in params
    assert params[:2] == [
        {"type": "TIMESTAMP", "value": "2026-01-01 00:00:00"},
        {"type": "TIMESTAMP", "value": "2026-02-01 00:00:00"},  # half-open: midnight after the 31st
    ]


def test_active_months_mask_counts_months_from_the_window_start() -> None:
    scope = Scope(branches=(HOSTILE,))
    window = Window(date(2025, 11, 15), date(2026, 10, 31))
    sql, params = druid_sql.active_months("sales", scope, window)
    assert HOSTILE not in sql and "2025" not in sql
    assert sql.count("?") == len(params) == 1 + 2 + 1
    # Bit 0 is November 2025: months are numbered from year 0, the window's first subtracted.
    assert params[0] == {"type": "BIGINT", "value": 2025 * 12 + 11}
    assert params[1] == {"type": "TIMESTAMP", "value": "2025-11-15 00:00:00"}
    longest = Window(date(2020, 1, 1), date(2025, 2, 28))  # 62 months: bits 0..61
    druid_sql.active_months("sales", Scope(), longest)
    with pytest.raises(ValueError, match="no mask"):
        druid_sql.active_months("sales", Scope(), Window(date(2020, 1, 1), date(2025, 3, 1)))


def test_only_known_columns_reach_the_text() -> None:
    with pytest.raises(ValueError, match="unknown column"):
        druid_sql.aggregate("sales", Scope(), None, ('branch" FROM x; --',), None, ("lines",))
    with pytest.raises(ValueError, match="unknown measures"):
        druid_sql.aggregate("sales", Scope(), None, (), None, ("SUM(1)",))
    for column in DIMENSIONS:
        assert f'"{column}"' in druid_sql.distinct_values("sales", column, Scope())[0]


def test_exact_counts_and_business_time_zone_in_every_read() -> None:
    context = druid_sql.query_context("Africa/Nairobi")
    assert context["useApproximateCountDistinct"] is False
    assert context["useApproximateTopN"] is False
    assert context["sqlTimeZone"] == "Africa/Nairobi"


def test_an_empty_allowed_list_matches_nothing_without_a_query() -> None:
    assert druid_sql.matches_nothing(Scope(allowed_branches=()))
    assert not druid_sql.matches_nothing(Scope(allowed_branches=None))
    store = DruidStore("http://127.0.0.1:9")  # nothing listens: a query would fail
    assert store.count_lines(Scope(allowed_branches=()), None) == 0
    assert store.distinct_values("branch", Scope(allowed_branches=())) == []


def test_replace_statement_overwrites_whole_utc_months() -> None:
    chunks = [Chunk(date(2025, 1, 1)), Chunk(date(2025, 2, 1)), Chunk(date(2025, 6, 1))]
    condition = chunk_condition(chunks)
    t = '"__time"'
    assert condition == (
        f"(({t} >= TIMESTAMP '2025-01-01 00:00:00' AND {t} < TIMESTAMP '2025-03-01 00:00:00')"
        f" OR ({t} >= TIMESTAMP '2025-06-01 00:00:00' AND {t} < TIMESTAMP '2025-07-01 00:00:00'))"
    )
    sql = replace_sql("sales", chunks, "w1", None, keep_existing=True)
    assert sql.startswith(f'REPLACE INTO "sales" OVERWRITE WHERE {condition}')
    assert sql.endswith('PARTITIONED BY MONTH\nCLUSTERED BY "branch"')


def test_first_sales_with_druid_down_is_the_same_clear_error() -> None:
    store = DruidStore(f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(StoreError, match="Druid is not reachable"):
        store.aggregate(Scope(), None, ("customer_id",), None, ("first_sale",))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_druid_down_is_a_user_fit_store_error_quickly() -> None:
    store = DruidStore(f"http://127.0.0.1:{_closed_port()}")
    started = time.monotonic()
    with pytest.raises(StoreError, match=r"Druid is not reachable at .*make druid-up.*DRUID_URL"):
        store.aggregate(Scope(), None)
    assert time.monotonic() - started < 10  # three tries with back-off, not a hang
    health = store.health()
    assert not health.ok and "not reachable" in health.detail
