"""KPI rules at their edges, each on a few lines loaded through real ingest.

Boundaries a sample rarely hits: a product whose share before it is exactly
80%, a handful of customers scored by quintile, a window with nothing in it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from core.filters import Filters
from core.kpi import customers as ck
from core.kpi import members as mk
from core.kpi import overview as ok
from core.kpi import products as pk
from core.kpi.catalogue import HEADLINE
from core.kpi.view import resolve_view
from core.store import Window
from core.stores.embedded import EmbeddedStore
from ingest.pipeline import ingest_file

HEADER = (
    "invoice_id,sold_at,branch,salesperson,customer_id,product_id,product_line,"
    "quantity,unit_price,unit_cost\n"
)


def _store(tmp_path: Path, rows: str) -> EmbeddedStore:
    store = EmbeddedStore(tmp_path / "sales")
    result = ingest_file((HEADER + rows).encode(), store, filename="edges.csv")
    assert result.ok, result.prepared.failures
    return store


@pytest.mark.parametrize(
    "prices",
    [
        # 1975.20 of 2469.00 is exactly 80%: P1 crosses the line (A); the share before P2 is
        # 80%, not under it (B); before P3 it is 2369.37 / 2469 = 96% (C). Subtracting P2
        # from its running sum gives 0.7999999..., which had made P2 an A.
        ("1975.20", "394.17", "99.63"),
        # 80, 15 and 5 of 100: 80% before P2 (B), 95% before P3 (C).
        ("80", "15", "5"),
    ],
)
def test_the_item_after_a_line_is_in_the_next_class(
    tmp_path: Path, prices: tuple[str, str, str]
) -> None:
    rows = "".join(
        f"D{n},2024-03-0{n} 10:00,N,A,C1,P{n},L1,1,{price},0\n"
        for n, price in enumerate(prices, start=1)
    )
    store = _store(tmp_path, rows)
    table = pk.products(store, resolve_view(store, Filters()))
    assert table["product_id"].to_list() == ["P1", "P2", "P3"]
    assert table["abc_class"].to_list() == ["A", "B", "C"]


def test_few_customers_the_best_scores_five(tmp_path: Path) -> None:
    # Three customers as of 31 March: C3 bought that day, C2 on the 20th, C1 on the 1st.
    # w = 0, 1, 2 customers strictly worse score 1 + floor(5 w / 3) = 1, 2, 4, and the
    # best block always scores 5: 1, 2, 5.
    store = _store(
        tmp_path,
        "D1,2024-03-01 10:00,N,A,C1,P1,L1,1,100,50\n"
        "D2,2024-03-20 10:00,N,A,C2,P1,L1,2,100,50\n"
        "D3,2024-03-31 10:00,N,A,C3,P1,L1,3,100,50\n",
    )
    view = resolve_view(store, Filters(date(2024, 3, 1), date(2024, 3, 31)))
    table = ck.rfm(store, view).sort("customer_id")
    assert table["r_score"].to_list() == [1, 2, 5]
    assert table["m_score"].to_list() == [1, 2, 5]
    # All bought once: a frequency every customer shares says nothing and scores 3.
    assert table["f_score"].to_list() == [3, 3, 3]
    assert set(table["rfm_note"]) == {"Same for every customer, so scored 3 for all: frequency."}


def test_one_days_customers_are_not_told_apart_by_their_id(tmp_path: Path) -> None:
    # Ten customers each buy once, for the same amount, on 31 March: equal on R, F and M,
    # so every score is 3 and every segment the same (ordering ties by id would make the
    # alphabetically last ones "Lost").
    rows = "".join(f"D{i},2024-03-31 10:00,N,A,C{i:02d},P1,L1,1,100,50\n" for i in range(10))
    store = _store(tmp_path, rows)
    view = resolve_view(store, Filters(date(2024, 3, 31), date(2024, 3, 31)))
    table = ck.rfm(store, view)
    assert set(table.select("r_score", "f_score", "m_score").rows()) == {(3, 3, 3)}
    assert set(table["segment"]) == {"Needs attention"}


@pytest.mark.parametrize("compare", ["previous", "yoy", "none"])
def test_the_overview_is_one_row_even_with_nothing_to_show(tmp_path: Path, compare: str) -> None:
    store = EmbeddedStore(tmp_path / "sales")  # no data at all
    view = resolve_view(store, Filters(compare=compare))  # type: ignore[arg-type]
    assert view.window is None
    table = ok.overview(store, view)
    assert table.height == 1
    row = table.row(0, named=True)
    assert (row["net_sales"], row["orders"], row["active_customers"]) == (0.0, 0, 0)
    assert row["gross_margin_pct"] is None and row["aov"] is None
    expected = list(HEADLINE)
    if compare != "none":
        expected += [f"{k}_prev" for k in HEADLINE] + [f"{k}_growth_pct" for k in HEADLINE]
        assert row["net_sales_prev"] == 0.0 and row["net_sales_growth_pct"] is None
    assert table.columns == expected


def test_a_member_new_this_period_sold_nothing_before(tmp_path: Path) -> None:
    # B sold only in March: in February's comparison it has 0, no rank, no growth.
    store = _store(
        tmp_path,
        "D1,2024-02-10 10:00,N,A,C1,P1,L1,1,100,50\n"
        "D2,2024-03-10 10:00,N,A,C1,P1,L1,1,300,50\n"
        "D3,2024-03-11 10:00,N,B,C2,P1,L1,1,200,50\n",
    )
    view = resolve_view(store, Filters(date(2024, 3, 1), date(2024, 3, 31)))
    table = mk.salespeople(store, view).sort("salesperson")
    assert table["net_sales_prev"].to_list() == [100.0, 0.0]
    assert table["rank_prev"].to_list() == [1, None]
    assert table["growth_pct"].to_list() == [2.0, None]


def test_leaderboards_keep_their_comparison_columns_when_nothing_matches(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "sales")
    table = mk.branches(store, resolve_view(store, Filters()))
    assert {"net_sales_prev", "growth_pct", "rank_prev", "rank_change"} <= set(table.columns)


@pytest.mark.parametrize(
    ("start", "end", "grain", "partial"),
    [
        # all data from 3 Dec 2023 to 2 Dec 2026: two days short at the start, two days in
        (date(2023, 12, 3), date(2026, 12, 2), "month", [date(2023, 12, 1), date(2026, 12, 1)]),
        (date(2023, 12, 3), date(2026, 12, 2), "year", [date(2023, 1, 1), date(2026, 1, 1)]),
        # whole quarters, a whole leap February, days: nothing partial
        (date(2024, 1, 1), date(2024, 12, 31), "quarter", []),
        (date(2024, 2, 1), date(2024, 2, 29), "month", []),
        (date(2024, 2, 1), date(2024, 2, 29), "day", []),
        # weeks start on Monday: Wed 3 Jan's week and the week of Mon 26 Feb are cut
        (date(2024, 1, 3), date(2024, 2, 29), "week", [date(2024, 1, 1), date(2024, 2, 26)]),
    ],
)
def test_partial_periods(start: date, end: date, grain: str, partial: list[date]) -> None:
    assert ok.partial_periods(Window(start, end), grain) == partial  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("grain", "partial"),
    [
        # Wednesday 2 Dec 2026 is still in progress: its day, and its week and month
        ("day", [date(2026, 12, 2)]),
        ("week", [date(2026, 11, 30)]),
        ("month", [date(2026, 12, 1)]),
    ],
)
def test_the_bucket_holding_today_is_partial(grain: str, partial: list[date]) -> None:
    today = date(2026, 12, 2)
    this_month = Window(date(2026, 12, 1), today)
    assert ok.partial_periods(this_month, grain, today) == partial  # type: ignore[arg-type]
    # a whole week ending on a Sunday that is today
    week = Window(date(2026, 11, 23), date(2026, 11, 29))
    assert ok.partial_periods(week, "week", date(2026, 11, 29)) == [date(2026, 11, 23)]  # type: ignore[arg-type]
    assert ok.partial_periods(week, "week", date(2026, 12, 2)) == []  # type: ignore[arg-type]
    assert ok.partial_periods(week, "day", date(2026, 11, 29)) == [date(2026, 11, 29)]  # type: ignore[arg-type]


def test_standing_of_a_member_without_sales_and_of_peers_without_net_sales() -> None:
    peers = pl.DataFrame(
        {
            "branch": ["Kisumu", "Mombasa", "Thika"],
            "orders": [2, 1, 0],
            "net_sales": [300.0, 100.0, 0.0],
            "gross_profit": [90.0, 10.0, 0.0],
            "gross_margin_pct": [0.3, 0.1, None],
            "share_of_net_sales": [0.75, 0.25, 0.0],
            "rank": [1, 2, 3],
        }
    )
    mombasa = mk.standing(peers, "branch", "Mombasa")
    # By hand: 2nd of the 2 selling; everyone's margin (90 + 10) / (300 + 100) = 0.25.
    assert (mombasa.rank, mombasa.selling, mombasa.share_of_net_sales) == (2, 2, 0.25)
    assert (mombasa.gross_margin_pct, mombasa.peers_margin_pct) == (0.1, 0.25)
    assert mombasa.rank_change is None  # no comparison columns
    idle = mk.standing(peers, "branch", "Thika")
    assert (idle.rank, idle.share_of_net_sales, idle.gross_margin_pct) == (None, None, None)
    unknown = mk.standing(peers, "branch", "Atlantis")
    assert unknown.rank is None and unknown.peers_margin_pct == 0.25
    nothing = mk.standing(peers.with_columns(pl.lit(0.0).alias("net_sales")), "branch", "Kisumu")
    assert nothing.peers_margin_pct is None  # no net sales at all: no margin, not a division by 0
