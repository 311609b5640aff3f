"""The embedded store's grouping by period, bucket by bucket, against one plain group-by.

`_grouped_by_bucket` splits an unfiltered window into its buckets (here
whatever their size: the store itself splits only large ones). Every
grain, windows cut mid-bucket, a bucket with no line, and groupings with and
without keys must give exactly what Polars gives grouping the stored lines
in one pass, and what the store gives with the split turned off.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.store import GRAINS, Grain, Scope, Window
from core.stores import embedded
from core.stores.buckets import bucket_start
from core.stores.embedded import EmbeddedStore
from ingest.sample import generate_sales
from tests.conftest import to_stored

END = date(2026, 6, 30)
# A mid-month start and end; a window inside one month; the whole year.
WINDOWS = (
    Window(date(2025, 11, 17), date(2026, 5, 9)),
    Window(date(2026, 3, 3), date(2026, 3, 20)),
    Window(date(2025, 7, 1), END),
)
BYS: tuple[tuple[str, ...], ...] = ((), ("customer_id",), ("branch", "payment_method"))
MEASURES = ("net_sales", "gross_profit", "units", "lines", "orders", "customers", "last_sale")


@pytest.fixture(scope="module")
def lines() -> pl.DataFrame:
    generated = to_stored(generate_sales(6_000, seed=5, end=END, years=1))
    # No line in February 2026: a bucket inside the windows with nothing to group.
    return generated.filter(pl.col("sale_date").dt.month() != 2)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, lines: pl.DataFrame) -> EmbeddedStore:
    store = EmbeddedStore(tmp_path_factory.mktemp("by-period") / "sales")
    store.write(lines, "append")
    return store


def _plain(lines: pl.DataFrame, window: Window, by: tuple[str, ...], grain: Grain) -> pl.DataFrame:
    inside = lines.filter(pl.col("sale_date").is_between(window.start, window.end))
    return (
        inside.group_by(*by, bucket_start(pl.col("sale_date"), grain).alias("period"))
        .agg(
            net_sales=pl.col("net_sales").sum(),
            lines=pl.len(),
            orders=pl.col("invoice_id").n_unique(),
            customers=pl.col("customer_id").drop_nulls().n_unique(),
        )
        .sort(*by, "period", nulls_last=True)
    )


@pytest.mark.parametrize("grain", GRAINS)
@pytest.mark.parametrize("window", WINDOWS, ids=lambda w: f"{w.start}..{w.end}")
@pytest.mark.parametrize("by", BYS, ids=lambda by: "+".join(by) or "totals")
def test_bucket_by_bucket_equals_one_pass(
    store: EmbeddedStore,
    lines: pl.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
    grain: Grain,
    window: Window,
    by: tuple[str, ...],
) -> None:
    # The fixture's buckets are far smaller than the store would split by itself.
    monkeypatch.setattr(embedded, "MIN_BUCKET_LINES", 0)
    split = store.aggregate(Scope(), window, by, grain, MEASURES)
    monkeypatch.setattr(embedded, "MAX_SPLIT_BUCKETS", 0)
    whole = store.aggregate(Scope(), window, by, grain, MEASURES)
    assert_frame_equal(split, whole, check_exact=False, abs_tol=1e-6)
    plain = _plain(lines, window, by, grain)
    assert split.select(*by, "period", "lines", "orders", "customers").equals(
        plain.select(*by, "period", "lines", "orders", "customers")
    )
    assert split["net_sales"].to_list() == pytest.approx(plain["net_sales"].to_list(), abs=0.005)
    if grain == "month":  # the empty month gives no row, with or without keys
        assert date(2026, 2, 1) not in split["period"].to_list()


def test_latest_values_come_out_the_same(
    store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    latest = ("customer_name", "customer_type")
    monkeypatch.setattr(embedded, "MIN_BUCKET_LINES", 0)
    split = store.aggregate(Scope(), WINDOWS[0], ("customer_id",), "month", ("lines",), latest)
    monkeypatch.setattr(embedded, "MAX_SPLIT_BUCKETS", 0)
    whole = store.aggregate(Scope(), WINDOWS[0], ("customer_id",), "month", ("lines",), latest)
    assert split.columns == ["customer_id", "period", "lines", *latest]
    assert split.equals(whole)
    assert split["customer_name"].null_count() < split.height
