"""Every KPI and area table on the hand-built fixture, against values worked out by hand.

The fixture (tests/fixtures/hand_fixture.py, whose docstring has the per-line
table) is loaded through the real ingest pipeline (a CSV export with naive
Nairobi times, day-first dates, blank walk-ins) into a real embedded Delta
store. Every expected value below is a literal or literal arithmetic, with
the working in a comment; none is computed by the code under test.

Main window W = Q1 2025 (2025-01-01..03-31). Its lines (net / cogs / units):

    Jan  101/1 2000/1200/4   101/2 1100/900/10  102 600/450/3 (walk-in)
         103 1250/800/2      104 1000/750/5 (23:30 on 31 Jan)
    Feb  105 1500/1000/2     106/1 2400/1800/20  106/2 1800/1500/10
         107 500/300/1 (walk-in)  108 -500/-300/-1 (return)  109 -625/-400/-1 (return)
    Mar  110 1000/600/2 (00:30 on 1 Mar = 28 Feb 21:30 UTC)  111/1 2500/1600/4
         111/2 800/500/1     112 800/600/4   113 600/450/5   114 650/400/1 (walk-in)
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.filters import Filters
from core.kpi import customers as ck
from core.kpi import members as mk
from core.kpi import overview as ok
from core.kpi import products as pk
from core.kpi.catalogue import HEADLINE, KPIS
from core.kpi.view import View, resolve_view
from core.store import Scope, Window
from core.stores.embedded import EmbeddedStore
from ingest.pipeline import ingest_file
from tests.fixtures.hand_fixture import build_store, write_csv

Q1 = {"start": date(2025, 1, 1), "end": date(2025, 3, 31)}
# Floats here come from sums of whole shillings; 1e-9 only absorbs division rounding.
TOL = {"rel_tol": 1e-12, "abs_tol": 1e-9}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    """The fixture ingested from its CSV export into a real embedded store."""
    base = tmp_path_factory.mktemp("hand")
    store = EmbeddedStore(base / "sales")
    result = ingest_file(write_csv(base / "export.csv"), store)
    assert result.prepared.ok and result.written is not None
    assert result.written.inserted == 23
    return store


def view_of(store: EmbeddedStore, **kwargs: object) -> View:
    return resolve_view(store, Filters(**kwargs))  # type: ignore[arg-type]


def expect(actual: pl.DataFrame, expected: dict[str, list[object]]) -> None:
    """`actual`'s columns named in `expected` equal it, row order included."""
    frame = pl.DataFrame(expected, strict=False)
    got = actual.select(frame.columns)
    frame = frame.cast(dict(got.schema))  # type: ignore[arg-type]
    assert_frame_equal(got, frame, **TOL)


def test_ingested_store_equals_direct_write(store: EmbeddedStore, tmp_path: Path) -> None:
    """CSV with naive local times through ingest == canonical UTC lines written directly."""
    direct = build_store(tmp_path / "direct")
    by = ("customer_id", "product_id")
    a = store.aggregate(Scope(), None, by=by, grain="day").sort((*by, "period"), nulls_last=True)
    b = direct.aggregate(Scope(), None, by=by, grain="day").sort((*by, "period"), nulls_last=True)
    assert_frame_equal(a, b)


# ------------------------------------------------------------------------ business day


def test_sales_near_midnight_fall_on_their_nairobi_day(store: EmbeddedStore) -> None:
    def net_on(day: date) -> float:
        return store.aggregate(Scope(), Window(day, day), measures=("net_sales",)).item()

    # INV-104 at 23:30 local on 31 Jan (20:30 UTC) is 31 January's.
    assert net_on(date(2025, 1, 31)) == 1000.0
    # INV-110 at 00:30 local on 1 Mar is 28 Feb 21:30 UTC, but 1 March's.
    assert net_on(date(2025, 3, 1)) == 1000.0
    assert net_on(date(2025, 2, 28)) == 0.0
    assert store.date_range(Scope()) == Window(date(2024, 1, 20), date(2025, 3, 31))


def test_day_trend_across_month_ends(store: EmbeddedStore) -> None:
    view = view_of(store, start=date(2025, 2, 27), end=date(2025, 3, 1), grain="day")
    expect(
        ok.trend(store, view),
        {
            "period": [date(2025, 2, 27), date(2025, 2, 28), date(2025, 3, 1)],
            "net_sales": [0.0, 0.0, 1000.0],  # INV-110 only, on 1 March
            "orders": [0, 0, 1],
            "gross_margin_pct": [None, None, 400 / 1000],  # empty day: null, not 0
        },
    )


# ------------------------------------------------------------------------ overview

# Q1 2025: net 2000+1100+600+1250+1000+1500+2400+1800+500-500-625+1000+2500+800+800
# +600+650 = 17375; cogs 1200+900+450+800+750+1000+1800+1500+300-300-400+600+1600+500
# +600+450+400 = 12150; gp 5225; 14 invoices (101..114); units 4+10+3+2+5+2+20+10+1-1
# -1+2+4+1+4+5+1 = 72; customers K01 K02 K03 K04 K05 K06 K08 = 7 (three walk-in
# invoices left out); discounts 100+50+100+200+25+100 = 575 over gross sales
# (qty x price) 17900 (net = 17900 - (575 - 2 x 25 returned) = 17375, consistent).
Q1_2025 = {
    "net_sales": 17375.0,
    "cogs": 12150.0,
    "gross_profit": 5225.0,
    "gross_margin_pct": 5225 / 17375,
    "orders": 14,
    "units": 72.0,
    "aov": 17375 / 14,
    "upt": 72 / 14,
    "active_customers": 7,
    "discount_rate": 575 / 17900,
}
# Q4 2024 (previous period of Q1 2025): INV-090 2000/1600/2 K08, INV-091 1000/600/2 K01,
# INV-092 1200/900/10 K05, no discounts.
Q4_2024 = {
    "net_sales": 4200.0,
    "cogs": 3100.0,
    "gross_profit": 1100.0,
    "gross_margin_pct": 1100 / 4200,
    "orders": 3,
    "units": 14.0,
    "aov": 4200 / 3,
    "upt": 14 / 3,
    "active_customers": 3,
    "discount_rate": 0 / 4200,
}
# Q1 2024 (same period last year): INV-001 1500/900/3 K01, INV-002 1000/800/1 K07,
# INV-003 1000/750/5 K05.
Q1_2024 = {
    "net_sales": 3500.0,
    "cogs": 2450.0,
    "gross_profit": 1050.0,
    "gross_margin_pct": 1050 / 3500,
    "orders": 3,
    "units": 9.0,
    "aov": 3500 / 3,
    "upt": 9 / 3,
    "active_customers": 3,
    "discount_rate": 0 / 3500,
}


def _with_comparison(
    current: dict[str, float], previous: dict[str, float]
) -> dict[str, list[object]]:
    row: dict[str, list[object]] = {k: [v] for k, v in current.items()}
    row |= {f"{k}_prev": [v] for k, v in previous.items()}
    # growth = (current - previous) / previous, empty when previous is 0
    row |= {
        f"{k}_growth_pct": [(current[k] - previous[k]) / previous[k] if previous[k] else None]
        for k in current
    }
    return row


def test_catalogue_is_what_this_file_checks() -> None:
    assert [k.name for k in KPIS] == list(Q1_2025)
    assert tuple(Q1_2025) == HEADLINE


def test_overview_previous_period(store: EmbeddedStore) -> None:
    view = view_of(store, **Q1)
    assert view.comparison == Window(date(2024, 10, 1), date(2024, 12, 31))
    table = ok.overview(store, view)
    assert table.height == 1
    expect(table, _with_comparison(Q1_2025, Q4_2024))
    # spelled out: net 13175/4200, gp 4125/1100 = 3.75, orders 11/3, customers 4/3;
    # discount rate growth is empty because the previous rate is 0.
    row = table.row(0, named=True)
    assert row["net_sales_growth_pct"] == pytest.approx(13175 / 4200)
    assert row["gross_profit_growth_pct"] == 3.75
    assert row["discount_rate_growth_pct"] is None


def test_overview_same_period_last_year(store: EmbeddedStore) -> None:
    view = view_of(store, **Q1, compare="yoy")
    assert view.comparison == Window(date(2024, 1, 1), date(2024, 3, 31))
    expect(ok.overview(store, view), _with_comparison(Q1_2025, Q1_2024))


def test_overview_without_comparison_has_only_headline(store: EmbeddedStore) -> None:
    table = ok.overview(store, view_of(store, **Q1, compare="none"))
    assert table.columns == list(HEADLINE)
    expect(table, {k: [v] for k, v in Q1_2025.items()})


def test_overview_filtered_to_a_branch(store: EmbeddedStore) -> None:
    # Nairobi = Alice + Brian lines: net 4700 + 6050 = 10750, cogs 3300 + 3950 = 7250,
    # invoices 101 104 107 108 113 + 102 105 111 114 = 9, units 24 + 11 = 35,
    # customers K01 K03 K06 = 3, discount 100 + 200 = 300 over gross 4800 + 6250 = 11050.
    view = view_of(store, **Q1, compare="none", branches=("Nairobi",))
    expect(
        ok.overview(store, view),
        {
            "net_sales": [10750.0],
            "cogs": [7250.0],
            "gross_profit": [3500.0],
            "gross_margin_pct": [3500 / 10750],
            "orders": [9],
            "units": [35.0],
            "aov": [10750 / 9],
            "upt": [35 / 9],
            "active_customers": [2 + 1],
            "discount_rate": [300 / 11050],
        },
    )


def test_overview_filtered_to_line_and_salesperson(store: EmbeddedStore) -> None:
    # Dairy by Carol: 103 1250/800/2 (disc 50), 106/1 2400/1800/20, 109 -625/-400/-1
    # (a return carrying back 25 of discount): net 3025, cogs 2200, 3 invoices, 21 units,
    # customers K02 K05; discount 50 + 25 = 75 over gross 1300 + 2400 - 650 = 3050.
    view = view_of(store, **Q1, compare="none", product_lines=("Dairy",), salespeople=("Carol",))
    expect(
        ok.overview(store, view),
        {
            "net_sales": [3025.0],
            "cogs": [2200.0],
            "gross_profit": [825.0],
            "gross_margin_pct": [825 / 3025],
            "orders": [3],
            "units": [21.0],
            "aov": [3025 / 3],
            "upt": [21 / 3],
            "active_customers": [2],
            "discount_rate": [75 / 3050],
        },
    )


def test_overview_window_cut_mid_month(store: EmbeddedStore) -> None:
    # 31 Jan..1 Mar (30 days, not a calendar period): 104 1000, 105 1500, 106 2400+1800,
    # 107 500, 108 -500, 109 -625, 110 1000 = 7075 over 7 invoices. Previous = the 30
    # days before, 1..30 Jan: 101 2000+1100, 102 600, 103 1250 = 4950 over 3 invoices.
    view = view_of(store, start=date(2025, 1, 31), end=date(2025, 3, 1))
    assert view.comparison == Window(date(2025, 1, 1), date(2025, 1, 30))
    expect(
        ok.overview(store, view),
        {
            "net_sales": [7075.0],
            "orders": [7],
            "net_sales_prev": [4950.0],
            "orders_prev": [3],
            "net_sales_growth_pct": [2125 / 4950],
            "orders_growth_pct": [4 / 3],
        },
    )


def test_month_to_date_compares_like_for_like(store: EmbeddedStore) -> None:
    # 1..12 Feb: 105 1500 + 106 4200 = 5700; compared with 1..12 Jan: 101 3100 + 102 600.
    view = view_of(store, start=date(2025, 2, 1), end=date(2025, 2, 12))
    assert view.comparison == Window(date(2025, 1, 1), date(2025, 1, 12))
    expect(
        ok.overview(store, view),
        {
            "net_sales": [5700.0],
            "net_sales_prev": [3700.0],
            "net_sales_growth_pct": [2000 / 3700],
        },
    )
    # 1..5 Mar: 110 1000 + 111 3300 = 4300 against 1..5 Feb, which has no sale: growth empty.
    view = view_of(store, start=date(2025, 3, 1), end=date(2025, 3, 5))
    assert view.comparison == Window(date(2025, 2, 1), date(2025, 2, 5))
    expect(
        ok.overview(store, view),
        {
            "net_sales": [4300.0],
            "net_sales_prev": [0.0],
            "net_sales_growth_pct": [None],
            "aov_prev": [None],
            "orders_growth_pct": [None],
        },
    )


def test_window_without_sales_gives_zeros_and_empty_ratios(store: EmbeddedStore) -> None:
    view = view_of(store, start=date(2024, 6, 1), end=date(2024, 6, 30))
    expect(
        ok.overview(store, view),
        {
            "net_sales": [0.0],
            "cogs": [0.0],
            "gross_profit": [0.0],
            "gross_margin_pct": [None],
            "orders": [0],
            "units": [0.0],
            "aov": [None],
            "upt": [None],
            "active_customers": [0],
            "discount_rate": [None],
            "net_sales_growth_pct": [None],
        },
    )
    products = pk.products(store, view)
    assert products["cumulative_share"].null_count() == products.height == 6
    assert products["abc_class"].null_count() == 6
    branches = mk.branches(store, view)
    assert branches["share_of_net_sales"].null_count() == 3  # 0 / 0
    assert ck.rfm(store, view).is_empty()
    expect(
        ck.concentration(ck.rfm(store, view)),
        {
            "top_pct": [0.10, 0.20],
            "customers": [0, 0],
            "share_of_net_sales": [None, None],
        },
    )


def test_trend_by_month(store: EmbeddedStore) -> None:
    # Jan: 101/1 101/2 102 103 104; Feb: 105 106/1 106/2 107 108 109; Mar: 110..114.
    expect(
        ok.trend(store, view_of(store, **Q1)),
        {
            "period": [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)],
            "net_sales": [5950.0, 5075.0, 6350.0],  # 2000+1100+600+1250+1000; ...; ...
            "cogs": [4100.0, 3900.0, 4150.0],
            "gross_profit": [1850.0, 1175.0, 2200.0],
            "gross_margin_pct": [1850 / 5950, 1175 / 5075, 2200 / 6350],
            "orders": [4, 5, 5],
            "units": [24.0, 31.0, 17.0],  # 4+10+3+2+5; 2+20+10+1-1-1; 2+4+1+4+5+1
            "aov": [5950 / 4, 5075 / 5, 6350 / 5],
            "upt": [24 / 4, 31 / 5, 17 / 5],
            "active_customers": [3, 3, 4],  # K01 K02 K03; K01 K02 K05; K01 K04 K06 K08
            "discount_rate": [150 / 6100, 325 / 5350, 100 / 6450],
        },
    )


class MeasureLog(EmbeddedStore):
    """The real store, noting the measures each aggregate asks for."""

    asked: list[tuple[str, ...]]

    def aggregate(self, *args: object, **kwargs: object) -> pl.DataFrame:
        self.asked.append(tuple(kwargs.get("measures", ())))  # type: ignore[arg-type]
        return super().aggregate(*args, **kwargs)  # type: ignore[arg-type]


def test_sales_trend_is_the_trend_without_asking_for_customers(store: EmbeddedStore) -> None:
    logged = MeasureLog(store.path)
    for filters in (
        {**Q1, "compare": "previous"},
        {"start": date(2024, 10, 1), "end": date(2025, 3, 31), "grain": "week"},
        {**Q1, "branches": ("Nairobi",), "grain": "day", "compare": "yoy"},
    ):
        view = view_of(store, **filters)
        for comparison in (False, True):
            logged.asked = []
            lean = ok.trend(logged, view, comparison=comparison, kpis=ok.SALES_TREND)
            full = ok.trend(store, view, comparison=comparison)
            assert lean.columns == ["period", *ok.SALES_TREND]
            assert_frame_equal(lean, full.select(lean.columns))
            assert all("customers" not in measures for measures in logged.asked)
    # By hand, Q1 by month (see test_trend_by_month).
    expect(
        ok.trend(store, view_of(store, **Q1), kpis=ok.SALES_TREND),
        {"net_sales": [5950.0, 5075.0, 6350.0], "orders": [4, 5, 5]},
    )


def test_trend_by_quarter_and_week_buckets(store: EmbeddedStore) -> None:
    view = view_of(store, start=date(2024, 10, 1), end=date(2025, 3, 31), grain="quarter")
    expect(
        ok.trend(store, view),
        {
            "period": [date(2024, 10, 1), date(2025, 1, 1)],
            "net_sales": [4200.0, 17375.0],
        },
    )
    # Weeks start on Monday: 31 Jan 2025 (Fri) is in the week of 27 Jan, 1 Mar (Sat) in
    # the week of 24 Feb, together with 109 (25 Feb, -625).
    view = view_of(store, start=date(2025, 1, 27), end=date(2025, 3, 2), grain="week")
    table = ok.trend(store, view)
    expect(
        table.filter(pl.col("period").is_in([date(2025, 1, 27), date(2025, 2, 24)])),
        {
            "period": [date(2025, 1, 27), date(2025, 2, 24)],
            "net_sales": [1000.0, -625 + 1000.0],
        },
    )


# ------------------------------------------------------------------------ salespeople

# Q1 2025 per salesperson (net / cogs / invoices / units / customers / discount / gross):
# Alice 2000+1100+1000+500-500+600 = 4700 / 3300 / 101 104 107 108 113 = 5 / 24 /
#       K01 K03 = 2 / 100 / 4800
# Brian 600+1500+2500+800+650 = 6050 / 3950 / 102 105 111 114 = 4 / 11 / K01 K06 = 2 /
#       200 / 6250
# Carol 1250+2400+1800-625+1000+800 = 6625 / 4900 / 103 106 109 110 112 = 5 / 37 /
#       K02 K04 K05 K08 = 4 / 275 / 6850
# David nothing in Q1 2025, 2000 in Q4 2024 (INV-090): listed because he sold in the
#       comparison window, with zeros and empty ratios.
# Q4 2024: David 2000 (rank 1), Carol 1200 (2), Alice 1000 (3); Brian none.


def test_salespeople_with_rank_change(store: EmbeddedStore) -> None:
    expect(
        mk.salespeople(store, view_of(store, **Q1)),
        {
            "salesperson": ["Carol", "Brian", "Alice", "David"],
            "net_sales": [6625.0, 6050.0, 4700.0, 0.0],
            "gross_profit": [1725.0, 2100.0, 1400.0, 0.0],
            "gross_margin_pct": [1725 / 6625, 2100 / 6050, 1400 / 4700, None],
            "orders": [5, 4, 5, 0],
            "units": [37.0, 11.0, 24.0, 0.0],
            "aov": [6625 / 5, 6050 / 4, 4700 / 5, None],
            "upt": [37 / 5, 11 / 4, 24 / 5, None],
            "active_customers": [4, 2, 2, 0],
            "discount_rate": [275 / 6850, 200 / 6250, 100 / 4800, None],
            "share_of_net_sales": [6625 / 17375, 6050 / 17375, 4700 / 17375, 0.0],
            "rank": [1, 2, 3, 4],
            # Brian sold nothing in Q4 2024: 0 there, unranked, growth undefined
            "net_sales_prev": [1200.0, 0.0, 1000.0, 2000.0],
            "rank_prev": [2, None, 3, 1],
            "rank_change": [1, None, 0, -3],  # rank_prev - rank: Carol up 1, David down 3
            "growth_pct": [5425 / 1200, None, 3700 / 1000, -1.0],
        },
    )


def test_salespeople_year_on_year_rank_ties(store: EmbeddedStore) -> None:
    # Q1 2024: Alice 1500; Carol 1000 and David 1000 tie -> the smaller name ranks first.
    expect(
        mk.salespeople(store, view_of(store, **Q1, compare="yoy")),
        {
            "salesperson": ["Carol", "Brian", "Alice", "David"],
            "rank": [1, 2, 3, 4],
            "net_sales_prev": [1000.0, 0.0, 1500.0, 1000.0],
            "rank_prev": [2, None, 1, 3],
            "rank_change": [1, None, -2, -1],
            "growth_pct": [5625 / 1000, None, 3200 / 1500, -1.0],
        },
    )


def test_salespeople_in_a_branch_without_comparison(store: EmbeddedStore) -> None:
    table = mk.salespeople(store, view_of(store, **Q1, compare="none", branches=("Nairobi",)))
    expect(
        table,
        {
            "salesperson": ["Brian", "Alice"],
            "net_sales": [6050.0, 4700.0],
            "share_of_net_sales": [6050 / 10750, 4700 / 10750],
            "rank": [1, 2],
        },
    )
    assert "rank_prev" not in table.columns


# ------------------------------------------------------------------------ branches


def test_branches_with_share_growth_and_a_branch_without_sales(store: EmbeddedStore) -> None:
    # Nairobi = Alice + Brian, Mombasa = Carol, Kisumu (David) sold only in 2024.
    expect(
        mk.branches(store, view_of(store, **Q1)),
        {
            "branch": ["Nairobi", "Mombasa", "Kisumu"],
            "net_sales": [10750.0, 6625.0, 0.0],
            "cogs": [7250.0, 4900.0, 0.0],
            "gross_profit": [3500.0, 1725.0, 0.0],
            "gross_margin_pct": [3500 / 10750, 1725 / 6625, None],
            "orders": [9, 5, 0],
            "units": [35.0, 37.0, 0.0],
            "aov": [10750 / 9, 6625 / 5, None],
            "upt": [35 / 9, 37 / 5, None],
            "active_customers": [3, 4, 0],  # K01 K03 K06; K02 K04 K05 K08
            "discount_rate": [300 / 11050, 275 / 6850, None],
            "share_of_net_sales": [10750 / 17375, 6625 / 17375, 0.0],
            "net_sales_prev": [1000.0, 1200.0, 2000.0],
            "growth_pct": [9750 / 1000, 5425 / 1200, -1.0],
            "rank": [1, 2, 3],
            "rank_prev": [3, 2, 1],
            "rank_change": [2, 0, -2],
        },
    )


def test_branch_without_sales_is_listed_even_without_comparison(store: EmbeddedStore) -> None:
    expect(
        mk.branches(store, view_of(store, **Q1, compare="none")),
        {
            "branch": ["Nairobi", "Mombasa", "Kisumu"],
            "net_sales": [10750.0, 6625.0, 0.0],
            "orders": [9, 5, 0],
        },
    )


def test_branch_line_mix(store: EmbeddedStore) -> None:
    # Nairobi: Beverages 2000+1500+500-500+800 = 4300 (gp 800+500+200-200+300 = 1600),
    #   Cereals 600+1000 = 1600 (gp 150+250), Dairy 1100+2500+600+650 = 4850
    #   (gp 200+900+150+250 = 1500). Mombasa: Beverages 1000 (gp 400), Cereals
    #   1800+800 = 2600 (gp 300+200), Dairy 1250+2400-625 = 3025 (gp 450+600-225 = 825).
    table = mk.branch_line_mix(store, view_of(store, **Q1)).sort("branch", "product_line")
    expect(
        table,
        {
            "branch": ["Mombasa"] * 3 + ["Nairobi"] * 3,
            "product_line": ["Beverages", "Cereals", "Dairy"] * 2,
            "net_sales": [1000.0, 2600.0, 3025.0, 4300.0, 1600.0, 4850.0],
            "gross_profit": [400.0, 500.0, 825.0, 1600.0, 400.0, 1500.0],
            "gross_margin_pct": [0.4, 500 / 2600, 825 / 3025, 1600 / 4300, 0.25, 1500 / 4850],
            "share_of_branch": [
                1000 / 6625,
                2600 / 6625,
                3025 / 6625,
                0.4,
                1600 / 10750,
                4850 / 10750,
            ],
        },
    )


def test_leaders_name_who_earns_most_and_the_leading_branch(store: EmbeddedStore) -> None:
    # Salespeople by gross profit: Brian 2100 (on 6050) beats Carol 1725, who sells more.
    # Product lines by gross profit (from the mix above): Dairy 1500 + 825 = 2325 on
    # 4850 + 3025 = 7875; Beverages 2000, Cereals 900. Branches by net sales: Nairobi.
    expect(
        mk.leaders(store, view_of(store, **Q1)),
        {
            "dimension": ["salesperson", "product_line", "branch"],
            "member": ["Brian", "Dairy", "Nairobi"],
            "net_sales": [6050.0, 7875.0, 10750.0],
            "gross_profit": [2100.0, 2325.0, 3500.0],
            "gross_margin_pct": [2100 / 6050, 2325 / 7875, 3500 / 10750],
            "share_of_net_sales": [6050 / 17375, 7875 / 17375, 10750 / 17375],
        },
    )


def test_no_leaders_where_nothing_sold(store: EmbeddedStore) -> None:
    # Kisumu sold only in 2024: in Q1 2025 it has no member with positive net sales.
    assert mk.leaders(store, view_of(store, **Q1, branches=("Kisumu",))).height == 0


def test_branch_month(store: EmbeddedStore) -> None:
    # Mombasa: Jan 103 1250 (gp 450); Feb 2400+1800-625 = 3575 (gp 600+300-225 = 675);
    #   Mar 110 1000 + 112 800 = 1800 (gp 400+200). Nairobi: Jan 2000+1100+600+1000 = 4700
    #   (gp 800+200+150+250); Feb 1500+500-500 = 1500 (gp 500); Mar 2500+800+600+650 = 4550
    #   (gp 900+300+150+250).
    table = mk.branch_month(store, view_of(store, **Q1)).sort("branch", "period")
    months = [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)]
    expect(
        table,
        {
            "branch": ["Mombasa"] * 3 + ["Nairobi"] * 3,
            "period": months * 2,
            "net_sales": [1250.0, 3575.0, 1800.0, 4700.0, 1500.0, 4550.0],
            "gross_profit": [450.0, 675.0, 600.0, 1400.0, 500.0, 1600.0],
        },
    )


def test_branch_trend(store: EmbeddedStore) -> None:
    table = mk.member_trend(store, view_of(store, **Q1), "branch").sort("branch", "period")
    nairobi = table.filter(pl.col("branch") == "Nairobi")
    expect(
        nairobi,
        {
            "period": [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)],
            "net_sales": [4700.0, 1500.0, 4550.0],
            "orders": [3, 3, 3],  # 101 102 104; 105 107 108; 111 113 114
            "gross_margin_pct": [1400 / 4700, 500 / 1500, 1600 / 4550],
        },
    )


# ------------------------------------------------------------------------ products


def test_product_lines(store: EmbeddedStore) -> None:
    # Beverages 2000+1500+500-500+1000+800 = 5300 (cogs 1200+1000+300-300+600+500 = 3300,
    #   invoices 101 105 107 108 110 111, units 4+2+1-1+2+1 = 9, K01 K04 K06, disc 100,
    #   gross 5400); Dairy 1100+1250+2400-625+2500+600+650 = 7875 (cogs 5550, invoices
    #   101 103 106 109 111 113 114, units 10+2+20-1+4+5+1 = 41, K01 K02 K05 K06, disc 275,
    #   gross 8100); Cereals 600+1000+1800+800 = 4200 (cogs 3300, 4 invoices, 22 units,
    #   K03 K05 K08, disc 200, gross 4400). Q4 2024: Cereals 2000, Dairy 1200, Beverages 1000.
    expect(
        mk.product_lines(store, view_of(store, **Q1)),
        {
            "product_line": ["Dairy", "Beverages", "Cereals"],
            "net_sales": [7875.0, 5300.0, 4200.0],
            "cogs": [5550.0, 3300.0, 3300.0],
            "gross_profit": [2325.0, 2000.0, 900.0],
            "gross_margin_pct": [2325 / 7875, 2000 / 5300, 900 / 4200],
            "orders": [7, 6, 4],
            "units": [41.0, 9.0, 22.0],
            "aov": [7875 / 7, 5300 / 6, 4200 / 4],
            "upt": [41 / 7, 9 / 6, 22 / 4],
            "active_customers": [4, 3, 3],
            "discount_rate": [275 / 8100, 100 / 5400, 200 / 4400],
            "avg_selling_price": [7875 / 41, 5300 / 9, 4200 / 22],
            "share_of_net_sales": [7875 / 17375, 5300 / 17375, 4200 / 17375],
            "net_sales_prev": [1200.0, 1000.0, 2000.0],
            "growth_pct": [6675 / 1200, 4300 / 1000, 2200 / 2000],
            "rank": [1, 2, 3],
            "rank_prev": [2, 3, 1],
        },
    )


# Products in Q1 2025, sorted by net sales desc (ties by product_id):
#   C1 600+1000+1800+800 = 4200   cumulative 4200   share before 0        -> A
#   D1 1100+2400+600     = 4100   cumulative 8300   before 4200/17375 .24 -> A
#   D2 1250-625+2500+650 = 3775   cumulative 12075  before .478           -> A
#   B1 2000+500-500+1000 = 3000   cumulative 15075  before .695 (crosses 80%) -> A
#   B2 1500+800          = 2300   cumulative 17375  before .868           -> B
#   C2 no sale           = 0      cumulative 17375  before 1.0            -> C
def test_products_pareto_abc_and_slow_movers(store: EmbeddedStore) -> None:
    expect(
        pk.products(store, view_of(store, **Q1)),
        {
            "product_id": ["C1", "D1", "D2", "B1", "B2", "C2"],
            "product_name": [
                "Maize flour 2kg",
                "Milk 1L",
                "Cheese 200g",
                "Tea 500g",
                "Coffee 250g",
                "Rice 5kg",
            ],
            "product_line": ["Cereals", "Dairy", "Dairy", "Beverages", "Beverages", "Cereals"],
            "net_sales": [4200.0, 4100.0, 3775.0, 3000.0, 2300.0, 0.0],
            # cogs: C1 450+750+1500+600; D1 900+1800+450; D2 800-400+1600+400; B1 1200+300-300
            # +600; B2 1000+500
            "gross_profit": [900.0, 950.0, 1375.0, 1200.0, 800.0, 0.0],
            "gross_margin_pct": [900 / 4200, 950 / 4100, 1375 / 3775, 0.4, 800 / 2300, None],
            "units": [22.0, 35.0, 6.0, 6.0, 3.0, 0.0],  # 3+5+10+4; 10+20+5; 2-1+4+1; 4+1-1+2; 2+1
            "avg_selling_price": [4200 / 22, 4100 / 35, 3775 / 6, 500.0, 2300 / 3, None],
            "cumulative_share": [
                4200 / 17375,
                8300 / 17375,
                12075 / 17375,
                15075 / 17375,
                1.0,
                1.0,
            ],
            "abc_class": ["A", "A", "A", "A", "B", "C"],
            "orders": [4, 3, 4, 4, 2, 0],
            "last_sale": [
                date(2025, 3, 18),
                date(2025, 3, 28),
                date(2025, 3, 31),
                date(2025, 3, 1),
                date(2025, 3, 5),
                date(2024, 12, 5),  # C2's last sale is before Q1 (INV-090)
            ],
            # Q1 is exactly 90 days: everything sold in it is recent; C2 did not sell in it,
            # its last sale 26 + 31 + 28 + 31 = 116 days before 31 Mar.
            "slow_mover": [False, False, False, False, False, True],
            "days_since_last_sale": [13, 3, 0, 30, 26, 116],
        },
    )


def test_slow_movers_over_a_longer_window(store: EmbeddedStore) -> None:
    # 1 Oct 2024..31 Mar 2025: the last 90 days start 1 Jan 2025 (31 Mar - 89 days).
    # C2 last sold 5 Dec 2024 (INV-090): 26 + 31 + 28 + 31 = 116 days before 31 Mar.
    table = pk.products(store, view_of(store, start=date(2024, 10, 1), end=date(2025, 3, 31)))
    expect(
        table.sort("product_id"),
        {
            "product_id": ["B1", "B2", "C1", "C2", "D1", "D2"],
            "slow_mover": [False, False, False, True, False, False],
            "days_since_last_sale": [30, 26, 13, 116, 3, 0],
        },
    )


def test_slow_movers_over_a_short_window_look_before_it(store: EmbeddedStore) -> None:
    # 10..31 Mar 2025 is 22 days; a slow mover has no sale from 1 Jan 2025 (31 Mar - 89 days).
    # B1 (last sold 1 Mar) and B2 (5 Mar) sold before the window but within the 90 days: no
    # sales in the window, yet not slow movers. C2 (5 Dec 2024, 116 days back) is one.
    table = pk.products(store, view_of(store, start=date(2025, 3, 10), end=date(2025, 3, 31)))
    expect(
        table.sort("product_id"),
        {
            "product_id": ["B1", "B2", "C1", "C2", "D1", "D2"],
            "net_sales": [0.0, 0.0, 800.0, 0.0, 600.0, 650.0],
            "last_sale": [
                date(2025, 3, 1),
                date(2025, 3, 5),
                date(2025, 3, 18),
                date(2024, 12, 5),
                date(2025, 3, 28),
                date(2025, 3, 31),
            ],
            "slow_mover": [False, False, False, True, False, False],
            "days_since_last_sale": [30, 26, 13, 116, 3, 0],
        },
    )


def test_last_sale_of_a_past_window_is_up_to_its_end(store: EmbeddedStore) -> None:
    # Dec 2024, though most products sold again in 2025: by 31 Dec, B1 last sold 12 Dec
    # (19 days), C1 10 Mar 2024 (296 days, 2024 a leap year), C2 5 Dec (26), D1 20 Dec (11);
    # B2 and D2 first sold in 2025, so not by then.
    table = pk.products(store, view_of(store, start=date(2024, 12, 1), end=date(2024, 12, 31)))
    expect(
        table.sort("product_id"),
        {
            "product_id": ["B1", "B2", "C1", "C2", "D1", "D2"],
            "last_sale": [
                date(2024, 12, 12),
                None,
                date(2024, 3, 10),
                date(2024, 12, 5),
                date(2024, 12, 20),
                None,
            ],
            "slow_mover": [False, True, True, False, False, True],
            "days_since_last_sale": [19, None, 296, 26, 11, None],
        },
    )


@pytest.mark.parametrize(
    "filters",
    [
        {"start": date(2024, 12, 1), "end": date(2024, 12, 31)},  # past: last sale up to its end
        Q1,
        {"start": date(2023, 1, 1), "end": date(2023, 12, 31)},  # before any sale
        {"start": date(2025, 1, 1), "end": date(2025, 3, 31), "branches": ("Kisumu",)},
    ],
)
def test_products_from_a_catalogue_given_are_the_products_computed(
    store: EmbeddedStore, filters: dict[str, object]
) -> None:
    # The app caches the all-time catalogue apart from the windows (core.cache): the table
    # built on it must be the one built without it, every column.
    view = view_of(store, **filters)
    catalogue = pk.product_catalogue(store, view.scope)
    assert_frame_equal(pk.products(store, view, catalogue), pk.products(store, view))


def test_abc_summary(store: EmbeddedStore) -> None:
    table = pk.products(store, view_of(store, **Q1))
    expect(
        pk.abc_summary(table),
        {
            "abc_class": ["A", "B", "C"],
            "products": [4, 1, 1],
            "net_sales": [15075.0, 2300.0, 0.0],
            "share_of_net_sales": [15075 / 17375, 2300 / 17375, 0.0],
        },
    )


# ------------------------------------------------------------------------ customers


# Q1 2025 customers, as of 31 Mar (walk-ins 102, 107, 114 left out):
#   id   invoices          freq monetary            gp               last   recency first
#   K01  101 105 108 113   4    3100+1500-500+600   1000+500-200+150 28 Mar  3     2024-01-20
#                               = 4700              = 1450
#   K02  103 109           2    1250-625 = 625      450-225 = 225    25 Feb 34     2025-01-15
#   K03  104               1    1000                250              31 Jan 59     2025-01-31
#   K04  110               1    1000                400               1 Mar 30     2025-03-01
#   K05  106               1    2400+1800 = 4200    600+300 = 900    12 Feb 47     2024-03-10
#   K06  111               1    2500+800 = 3300     900+300 = 1200    5 Mar 26     2025-03-05
#   K08  112               1    800                 200              18 Mar 13     2024-12-05
# Scores: n = 7; w = the customers strictly worse; a score is min(5, 1 + floor(5 w / 7)):
#   w 0..6 -> 1 1 2 3 3 4 5, and the block holding the best value scores 5.
#   R (most days first): K03 59, K05 47, K02 34, K04 30, K06 26, K08 13, K01 3, no ties
#       -> K03 1, K05 1, K02 2, K04 3, K06 3, K08 4, K01 5
#   F: K08 K06 K05 K04 K03 bought once (w = 0 -> 1), K02 twice (w = 5 -> 4),
#       K01 four times (the best -> 5)
#   M (smallest first): K02 625 (w 0 -> 1), K08 800 (w 1 -> 1), K04 and K03 1000 (tied:
#       w = 2 -> 2), K06 3300 (w 4 -> 3), K05 4200 (w 5 -> 4), K01 4700 (the best -> 5)
# Segments (R, FM = (F + M) / 2), first matching row of the table:
#   K01 (5, 5) Champions; K05 (1, 2.5) Lost; K06 (3, 2) About to sleep;
#   K03 (1, 1.5) Lost; K04 (3, 1.5) About to sleep; K08 (4, 1) Promising;
#   K02 (2, 2.5) Hibernating.
def test_customers_rfm_and_segments(store: EmbeddedStore) -> None:
    expect(
        ck.rfm(store, view_of(store, **Q1)),
        {
            "customer_id": ["K01", "K05", "K06", "K03", "K04", "K08", "K02"],
            "customer_name": [
                "Acme Retail",
                "Eldo Traders",
                "Faraja Ltd",
                "Chai Corner",
                "Duka Moja",
                "Hodari Hotel",
                "Baraka Shop",
            ],
            "first_purchase": [
                date(2024, 1, 20),
                date(2024, 3, 10),
                date(2025, 3, 5),
                date(2025, 1, 31),
                date(2025, 3, 1),
                date(2024, 12, 5),
                date(2025, 1, 15),
            ],
            "last_purchase": [
                date(2025, 3, 28),
                date(2025, 2, 12),
                date(2025, 3, 5),
                date(2025, 1, 31),
                date(2025, 3, 1),
                date(2025, 3, 18),
                date(2025, 2, 25),
            ],
            "recency_days": [3, 47, 26, 59, 30, 13, 34],
            "frequency": [4, 1, 1, 1, 1, 1, 2],
            "monetary": [4700.0, 4200.0, 3300.0, 1000.0, 1000.0, 800.0, 625.0],
            "gross_profit": [1450.0, 900.0, 1200.0, 250.0, 400.0, 200.0, 225.0],
            "r_score": [5, 1, 3, 1, 3, 4, 2],
            "f_score": [5, 1, 1, 1, 1, 1, 4],
            "m_score": [5, 4, 3, 2, 2, 1, 1],
            "segment": [
                "Champions",
                "Lost",
                "About to sleep",
                "Lost",
                "About to sleep",
                "Promising",
                "Hibernating",
            ],
            "rfm_note": [None] * 7,
        },
    )


def test_segment_summary(store: EmbeddedStore) -> None:
    table = ck.segment_summary(ck.rfm(store, view_of(store, **Q1))).sort("segment")
    expect(
        table,
        {
            # About to sleep K06 3300 + K04 1000; Lost K05 4200 + K03 1000; one each else.
            "segment": ["About to sleep", "Champions", "Hibernating", "Lost", "Promising"],
            "customers": [2, 1, 1, 2, 1],
            "monetary": [4300.0, 4700.0, 625.0, 5200.0, 800.0],
            "share_of_net_sales": [
                4300 / 15625,
                4700 / 15625,
                625 / 15625,
                5200 / 15625,
                800 / 15625,
            ],
        },
    )


def test_every_r_and_fm_pair_has_a_segment() -> None:
    pairs = pl.DataFrame(
        [(r, f, m) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)],
        schema=["r_score", "f_score", "m_score"],
        orient="row",
    )
    segments = pairs.with_columns(segment=ck.segment_expr())["segment"]
    assert segments.null_count() == 0
    assert set(segments) <= set(ck.SEGMENT_NAMES)


def test_new_vs_returning(store: EmbeddedStore) -> None:
    # New (first purchase in Q1 2025): K02 625, K03 1000, K04 1000, K06 3300 = 5925 over
    # 2+1+1+1 invoices. Returning: K01 4700, K05 4200, K08 800 = 9700 over 4+1+1.
    expect(
        ck.new_vs_returning(store, view_of(store, **Q1)),
        {
            "status": ["new", "returning"],
            "customers": [4, 3],
            "net_sales": [5925.0, 9700.0],
            "orders": [5, 6],
            "share_of_customers": [4 / 7, 3 / 7],
        },
    )


def test_new_vs_returning_is_relative_to_the_filtered_slice(store: EmbeddedStore) -> None:
    # In Nairobi, K01 first bought 2024-01-20 (returning); K03 and K06 are new there.
    view = view_of(store, **Q1, branches=("Nairobi",))
    expect(
        ck.new_vs_returning(store, view),
        {
            "status": ["new", "returning"],
            "customers": [2, 1],
            "net_sales": [1000.0 + 3300.0, 4700.0],
        },
    )


def test_cohorts(store: EmbeddedStore) -> None:
    # First purchases inside Q1 2025: January K02 (15 Jan), K03 (31 Jan); March K04, K06.
    # K02 bought again in February (INV-109, a return invoice); nobody else came back, so
    # January's cohort has a March of 0%, a row like any other.
    view = view_of(store, **Q1)
    expected = {
        "cohort": ["2025-01", "2025-01", "2025-01", "2025-03"],
        "months_since": [0, 1, 2, 0],
        "customers": [2, 1, 0, 2],
        "cohort_size": [2, 2, 2, 2],
        "retention_pct": [1.0, 0.5, 0.0, 1.0],
    }
    expect(ck.cohorts(store, view), expected)
    expect(ck.cohorts(store, view, ck.rfm(store, view)), expected)


def test_concentration(store: EmbeddedStore) -> None:
    # 7 customers, 15625 in total: top 10% = ceil(0.7) = 1 (K01 4700); top 20% =
    # ceil(1.4) = 2 (K01 + K05 = 8900).
    expect(
        ck.concentration(ck.rfm(store, view_of(store, **Q1))),
        {
            "top_pct": [0.10, 0.20],
            "customers": [1, 2],
            "net_sales": [4700.0, 8900.0],
            "share_of_net_sales": [4700 / 15625, 8900 / 15625],
        },
    )


def test_clv(store: EmbeddedStore) -> None:
    # Last year = 1 Apr 2024..31 Mar 2025: customers K01 K02 K03 K04 K05 K06 K08 (7) with
    # gross profit 4625 in Q1 2025 (5225 less walk-ins 150+200+250) plus Dec 2024's
    # 400 (K08) + 400 (K01) + 300 (K05) = 5725: m = 5725 / 7.
    # Prior year = 2 Apr 2023..31 Mar 2024: K01, K07, K05; K01 and K05 came back: r = 2/3.
    # CLV = m r / (1 + 0.1 - r) = (5725/7)(2/3) / (13/30) = 114500 / 91.
    value = ck.clv(store, view_of(store, **Q1))
    assert value.customers_last_year == 7
    assert value.customers_prior_year == 3
    assert value.avg_yearly_gross_profit == pytest.approx(5725 / 7, rel=1e-12)
    assert value.retention == pytest.approx(2 / 3, rel=1e-12)
    assert value.discount_rate == 0.10
    assert value.value == pytest.approx(114500 / 91, rel=1e-12)


def test_clv_takes_the_customers_table_only_when_it_is_the_last_365_days(
    store: EmbeddedStore,
) -> None:
    year = view_of(store, start=date(2024, 4, 1), end=date(2025, 3, 31))  # 365 days
    table = ck.rfm(store, year)
    assert ck.clv(store, year, customers=table) == ck.clv(store, year)
    assert ck.clv(store, year).avg_yearly_gross_profit == pytest.approx(5725 / 7, rel=1e-12)
    # A doubled table doubles m: for the 365-day window the table is what answers ...
    doubled = table.with_columns(pl.col("gross_profit") * 2)
    assert ck.clv(store, year, customers=doubled).avg_yearly_gross_profit == pytest.approx(
        2 * 5725 / 7, rel=1e-12
    )
    # ... and for Q1, whose table holds one quarter, it is left aside.
    quarter = view_of(store, **Q1)
    quarter_doubled = ck.rfm(store, quarter).with_columns(pl.col("gross_profit") * 2)
    assert ck.clv(store, quarter, customers=quarter_doubled) == ck.clv(store, quarter)


def test_clv_without_a_prior_year_is_empty(store: EmbeddedStore) -> None:
    # Window ending 30 Jun 2024: its prior year (Jul 2022..Jun 2023) has no customers.
    value = ck.clv(store, view_of(store, start=date(2024, 1, 1), end=date(2024, 6, 30)))
    assert value.customers_prior_year == 0
    assert value.retention is None and value.value is None
    # m: K01 600, K07 200, K05 250 over three customers.
    assert value.avg_yearly_gross_profit == pytest.approx(1050 / 3)


def test_segments_alone_are_the_segments_of_rfm(store: EmbeddedStore) -> None:
    for filters in (Q1, {}):
        view = view_of(store, **filters)
        full = ck.rfm(store, view).select("customer_id", "monetary", "segment")
        lean = ck.segments(store, view)
        assert lean.sort("customer_id").equals(full.sort("customer_id"))
        assert ck.slipping_away(lean) == ck.slipping_away(full)
    # By hand from the table above: K05 (At risk, 4,200) and K04 (About to sleep, 1,000).
    assert ck.slipping_away(ck.segments(store, view_of(store, **Q1))) == (2, 4300.0)
