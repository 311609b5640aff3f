"""Invariants of the KPI tables on random small data in a real embedded store (hypothesis).

Each example writes a few dozen random lines (returns, discounts, walk-ins,
several branches, reps, lines and products) to a fresh Delta table, then checks
what must hold whatever the data: shares sum to 1, per-member totals add up to
the total, a filter never increases counts, ABC classes partition the products
in Pareto order, the Pareto share rises to 1, ranks are permutations.
"""

from __future__ import annotations

import itertools
import math
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.filters import Filters
from core.kpi import customers as ck
from core.kpi import members as mk
from core.kpi import overview as ok
from core.kpi import products as pk
from core.kpi.view import resolve_view
from core.schema import CANONICAL_COLUMNS, with_derived_measures
from core.stores.embedded import EmbeddedStore

BRANCHES = ("Eldoret", "Kisumu", "Mombasa", "Nairobi")
REPS = ("Amina", "Baraka", "Chebet")
PRODUCTS = {"P1": "Dairy", "P2": "Dairy", "P3": "Bakery", "P4": "Bakery", "P5": "Drinks"}
CUSTOMERS = (None, "C1", "C2", "C3", "C4", "C5", "C6")
FIRST_DAY = date(2025, 1, 1)
DAYS = 120  # four months: windows, comparisons and 90-day slow movers all bite
TOL = 1e-9

line_strategy = st.tuples(
    st.integers(0, 11),  # invoice number (an invoice keeps its first line's branch/rep)
    st.sampled_from(BRANCHES),
    st.sampled_from(REPS),
    st.sampled_from(CUSTOMERS),
    st.sampled_from(sorted(PRODUCTS)),
    st.integers(-3, 12).filter(lambda q: q != 0),
    st.integers(0, 900),  # unit price, whole KES
    st.integers(0, 900),  # unit cost
    st.floats(0, 1),  # discount as a fraction of the line value
    st.integers(0, DAYS - 1),
    st.integers(0, 23),
)


def _frame(rows: list[tuple]) -> pl.DataFrame:  # type: ignore[type-arg]
    records = []
    heads: dict[int, tuple[str, str, str | None, int]] = {}
    counts: dict[int, int] = {}
    for invoice, branch, rep, customer, product, qty, price, cost, disc, day, hour in rows:
        branch, rep, customer, day = heads.setdefault(invoice, (branch, rep, customer, day))
        counts[invoice] = counts.get(invoice, 0) + 1
        local = datetime.combine(FIRST_DAY + timedelta(days=day), datetime.min.time())
        records.append(
            {
                "invoice_id": f"INV-{invoice}",
                "line_no": counts[invoice],
                "sold_at": local + timedelta(hours=hour, minutes=30),
                "branch": branch,
                "salesperson": rep,
                "customer_id": customer,
                "customer_name": customer,
                "customer_type": None if customer is None else "Retail",
                "product_id": product,
                "product_name": product,
                "product_line": PRODUCTS[product],
                "quantity": float(qty),
                "unit_price": float(price),
                "unit_cost": float(cost),
                "discount": float(round(disc * abs(qty * price))),
                "payment_method": "Cash",
            }
        )
    schema = {c: pl.String for c in CANONICAL_COLUMNS} | {
        "line_no": pl.Int64,
        "sold_at": pl.Datetime("us"),
        "quantity": pl.Float64,
        "unit_price": pl.Float64,
        "unit_cost": pl.Float64,
        "discount": pl.Float64,
    }
    frame = pl.DataFrame(records, schema=schema).with_columns(
        pl.col("sold_at").dt.replace_time_zone("Africa/Nairobi").dt.convert_time_zone("UTC")
    )
    return with_derived_measures(frame)


def _store(rows: list[tuple], directory: str) -> EmbeddedStore:  # type: ignore[type-arg]
    store = EmbeddedStore(Path(directory) / "sales")
    store.write(_frame(rows), "append")
    return store


windows = st.tuples(st.integers(0, DAYS - 1), st.integers(0, DAYS - 1)).map(
    lambda pair: (FIRST_DAY + timedelta(days=min(pair)), FIRST_DAY + timedelta(days=max(pair)))
)
compares = st.sampled_from(["previous", "yoy", "none"])
examples = settings(
    max_examples=25,  # each example writes a Delta table: keep the suite quick on 2 cores
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=TOL, abs_tol=0.005)


@examples
@given(rows=st.lists(line_strategy, min_size=1, max_size=40), window=windows, compare=compares)
def test_member_tables_add_up_and_rank(
    rows: list[tuple],
    window: tuple[date, date],
    compare: str,  # type: ignore[type-arg]
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        store = _store(rows, directory)
        view = resolve_view(store, Filters(*window, compare=compare))  # type: ignore[arg-type]
        total = ok.overview(store, view).row(0, named=True)
        for key, table in (
            ("branch", mk.branches(store, view)),
            ("salesperson", mk.salespeople(store, view)),
            ("product_line", mk.product_lines(store, view)),
        ):
            # per-member totals add up to the total
            for measure in ("net_sales", "cogs", "gross_profit", "units"):
                assert _close(table[measure].sum(), total[measure]), (key, measure)
            if key != "product_line":  # an invoice has one branch and one rep
                assert table["orders"].sum() == total["orders"]
            # shares sum to 1 (all empty when the total is 0)
            if total["net_sales"] != 0:
                assert _close(table["share_of_net_sales"].sum(), 1.0)
            else:
                assert table["share_of_net_sales"].null_count() == table.height
            # rank is a permutation of 1..n, and rank_prev of 1..m over ranked members
            assert sorted(table["rank"].to_list()) == list(range(1, table.height + 1))
            if "rank_prev" in table.columns:
                ranked = sorted(table["rank_prev"].drop_nulls().to_list())
                assert ranked == list(range(1, len(ranked) + 1))
            assert table[key].n_unique() == table.height
        mix = mk.branch_line_mix(store, view)
        assert _close(mix["net_sales"].sum() if mix.height else 0.0, total["net_sales"])
        trend = ok.trend(store, view)
        assert _close(trend["net_sales"].sum(), total["net_sales"])


@examples
@given(rows=st.lists(line_strategy, min_size=1, max_size=40), window=windows)
def test_products_pareto_and_abc(rows: list[tuple], window: tuple[date, date]) -> None:  # type: ignore[type-arg]
    with tempfile.TemporaryDirectory() as directory:
        store = _store(rows, directory)
        table = pk.products(store, resolve_view(store, Filters(*window)))
        total = table["net_sales"].sum()
        assert table["product_id"].n_unique() == table.height
        if total == 0:
            assert table["abc_class"].null_count() == table.height
            return
        classes = table["abc_class"].to_list()
        # ABC classes partition the products, in Pareto order (A..., B..., C...)
        assert all(c in ("A", "B", "C") for c in classes)
        assert classes == sorted(classes)
        assert classes[0] == "A"
        shares = table["cumulative_share"].to_list()
        assert _close(shares[-1], 1.0)  # the Pareto share ends at 1
        if (table["net_sales"] >= 0).all():
            assert all(b >= a - TOL for a, b in itertools.pairwise(shares))
            assert all(-TOL <= s <= 1 + TOL for s in shares)
            # the item crossing 80% is still A: the A items hold at least 80%
            a_share = table.filter(pl.col("abc_class") == "A")["net_sales"].sum() / total
            assert a_share >= 0.8 - TOL


@examples
@given(
    rows=st.lists(line_strategy, min_size=1, max_size=40),
    window=windows,
    branches=st.lists(st.sampled_from(BRANCHES), min_size=1, max_size=3, unique=True),
    lines=st.lists(st.sampled_from(sorted(set(PRODUCTS.values()))), min_size=1, unique=True),
    reps=st.lists(st.sampled_from(REPS), min_size=1, max_size=2, unique=True),
)
def test_adding_a_filter_never_increases_totals(
    rows: list[tuple],  # type: ignore[type-arg]
    window: tuple[date, date],
    branches: list[str],
    lines: list[str],
    reps: list[str],
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        store = _store(rows, directory)
        positive = all(row[5] > 0 for row in rows)
        filters = Filters(*window, compare="none")
        previous = ok.overview(store, resolve_view(store, filters)).row(0, named=True)
        for extra in ({"branches": branches}, {"product_lines": lines}, {"salespeople": reps}):
            filters = filters.with_members(**extra)
            current = ok.overview(store, resolve_view(store, filters)).row(0, named=True)
            for count in ("orders", "active_customers"):
                assert current[count] <= previous[count], (extra, count)
            if positive:  # with returns, removing lines can raise a money total
                for measure in ("net_sales", "units", "cogs"):
                    assert current[measure] <= previous[measure] + 0.005, (extra, measure)
            previous = current


@examples
@given(rows=st.lists(line_strategy, min_size=1, max_size=40), window=windows)
def test_customer_tables(rows: list[tuple], window: tuple[date, date]) -> None:  # type: ignore[type-arg]
    with tempfile.TemporaryDirectory() as directory:
        store = _store(rows, directory)
        view = resolve_view(store, Filters(*window))
        customers = ck.rfm(store, view)
        n = customers.height
        for score, value, best_high in (
            ("r_score", "recency_days", False),
            ("f_score", "frequency", True),
            ("m_score", "monetary", True),
        ):
            # w = the customers strictly worse: min(5, 1 + floor(5 w / n)), the best
            # value 5, and a value every customer shares 3.
            values = customers[value].to_list()
            best = (max(values) if best_high else min(values)) if values else None
            for mine, scored in zip(values, customers[score], strict=True):
                w = sum(1 for other in values if (other < mine if best_high else other > mine))
                if len(set(values)) == 1:
                    assert scored == 3, (score, values)
                elif mine == best:
                    assert scored == 5, (score, mine, values)
                else:
                    assert scored == min(5, 1 + 5 * w // n), (score, mine, values)
        assert customers["segment"].null_count() == 0
        split = ck.new_vs_returning(store, view, customers)
        if n:
            assert split["customers"].sum() == n
            assert _close(split["net_sales"].sum(), customers["monetary"].sum())
        top = ck.concentration(customers)
        assert top["customers"].to_list() == [math.ceil(0.1 * n), math.ceil(0.2 * n)]
        cohorts = ck.cohorts(store, view)
        # The Customers page reads the first purchases from its customers table instead.
        assert ck.cohorts(store, view, customers).equals(cohorts)
        assert (cohorts["customers"] <= cohorts["cohort_size"]).all()
        month0 = cohorts.filter(pl.col("months_since") == 0)
        assert (month0["retention_pct"] == 1.0).all()
        assert (
            month0["customers"].sum() == split.filter(pl.col("status") == "new")["customers"].sum()
            or not n
        )
