"""Pipeline KPIs on the hand-computed deals (tests/fixtures/pipeline_fixture.py) and
against an independent DuckDB implementation of the same definitions."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.kpi import pipeline
from core.kpi.view import View
from core.store import Scope, Window
from core.stores.pipeline_embedded import EmbeddedPipelineStore
from tests.fixtures.pipeline_fixture import Q2_SUMMARY, WINDOW, hand_deals

Q2 = Window(*WINDOW)
Q1 = Window(date(2026, 1, 1), date(2026, 3, 31))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedPipelineStore:
    made = EmbeddedPipelineStore(tmp_path_factory.mktemp("pipeline") / "opportunities")
    made.write(hand_deals(), "append")
    return made


def _view(scope: Scope | None = None, compare: str = "none") -> View:
    scope = scope or Scope()
    return View(scope, Q2, Q1 if compare != "none" else None, "month", compare)  # type: ignore[arg-type]


def test_summary_matches_the_hand_computed_values(store: EmbeddedPipelineStore) -> None:
    row = pipeline.summary(store, _view()).row(0, named=True)
    assert row == pytest.approx(Q2_SUMMARY)


def test_comparison_window_is_asked_for_each_column(store: EmbeddedPipelineStore) -> None:
    row = pipeline.summary(store, _view(compare="previous")).row(0, named=True)
    assert row["win_rate_prev"] == 0.0
    assert row["lost_deals_prev"] == 1
    assert row["won_amount_prev"] == 0.0
    assert row["avg_won_amount_prev"] is None
    # Open at 03-31: O1 (won 04-09), O2? no: created 04-01. O7 (created 02-01).
    assert row["open_deals_prev"] == 2


def test_salespeople_and_zero_lost_amount(store: EmbeddedPipelineStore) -> None:
    table = pipeline.salespeople(store, _view())
    expected = pl.DataFrame(
        {
            "salesperson": ["Amina", "Brian"],
            "open_deals": [2, 2],
            "open_amount": [50_000.0, 130_000.0],
            "won_deals": [2, 1],
            "won_amount": [150_000.0, 30_000.0],
            "lost_deals": [1, 1],
            "lost_amount": [0.0, 80_000.0],
            "win_rate": [2 / 3, 0.5],
            "value_win_rate": [None, 30_000 / 110_000],  # Amina lost only 0 KES: empty
            "avg_won_amount": [75_000.0, 30_000.0],
            "median_cycle_days": [25.0, 40.0],
            "p75_cycle_days": [27.5, 40.0],
            "velocity_per_day": [4_000.0, 750.0],
        }
    )
    assert_frame_equal(table, expected)


def test_branch_restricted_user_sees_only_that_branch(store: EmbeddedPipelineStore) -> None:
    restricted = _view(Scope(allowed_branches=("Mombasa",)))
    row = pipeline.summary(store, restricted).row(0, named=True)
    assert (row["won_deals"], row["lost_deals"], row["open_deals"]) == (1, 1, 2)
    assert pipeline.branches(store, restricted)["branch"].to_list() == ["Mombasa"]
    nothing = pipeline.summary(store, _view(Scope(allowed_branches=()))).row(0, named=True)
    assert (nothing["won_deals"], nothing["win_rate"]) == (0, None)


def test_lead_sources_lost_reasons_ageing_funnel(store: EmbeddedPipelineStore) -> None:
    sources = pipeline.lead_sources(store, _view()).select(
        "lead_source", "won_deals", "won_amount", "lost_deals", "open_deals", "win_rate"
    )
    assert sources.rows() == [
        ("Referral", 2, 130_000.0, 0, 2, 1.0),
        ("Website", 1, 50_000.0, 1, 2, 0.5),
        ("Walk-in", 0, 0.0, 1, 0, 0.0),
    ]
    assert pipeline.lost_reasons(store, _view()).rows() == [
        ("Price", 1, 80_000.0, 0.5),
        ("No budget", 1, 0.0, 0.5),
    ]
    assert pipeline.ageing(store, _view()).rows() == [
        ("0-30", 2, 80_000.0),
        ("31-60", 1, 40_000.0),
        ("61-90", 0, 0.0),
        ("90+", 1, 60_000.0),
    ]
    assert pipeline.funnel(store, _view()).rows() == [
        ("Qualification", 7, 4, 4 / 7),
        ("Proposal", 4, 3, 0.75),
        ("Won", 3, None, None),
    ]
    stuck = pipeline.stuck_deals(store, _view())
    assert stuck.select("opportunity_id", "age_days").rows() == [
        ("O7", 149),
        ("O6", 41),
        ("O11", 29),
        ("O8", 20),
    ]


def test_stage_ranks_follow_the_crm_defaults() -> None:
    order = ["Appointment Scheduled", "Needs Analysis", "Proposal/Price Quote", "Negotiation"]
    assert sorted(order, key=pipeline.stage_rank) == order
    assert pipeline.stage_rank("Lead In") < pipeline.stage_rank("Contact Made")


def test_empty_store_gives_one_row_of_zeros(tmp_path: Path) -> None:
    empty = EmbeddedPipelineStore(tmp_path / "opportunities")
    row = pipeline.summary(empty, _view()).row(0, named=True)
    assert (row["open_deals"], row["won_amount"], row["win_rate"]) == (0, 0.0, None)
    assert pipeline.funnel(empty, _view()).is_empty()


DUCKDB_SUMMARY = """
WITH d AS (
  SELECT *,
    CASE WHEN status IN ('won', 'lost') AND closed_date BETWEEN $s AND $e THEN status
         WHEN created_date <= $e AND (status = 'open' OR closed_date > $e) THEN 'open' END AS o
  FROM deals
)
SELECT
  salesperson,
  count(*) FILTER (o = 'open') AS open_deals,
  coalesce(sum(amount) FILTER (o = 'open'), 0) AS open_amount,
  count(*) FILTER (o = 'won') AS won_deals,
  coalesce(sum(amount) FILTER (o = 'won'), 0) AS won_amount,
  count(*) FILTER (o = 'lost') AS lost_deals,
  coalesce(sum(amount) FILTER (o = 'lost'), 0) AS lost_amount,
  quantile_cont(date_diff('day', created_date, closed_date), 0.5) FILTER (o = 'won') AS med,
  quantile_cont(date_diff('day', created_date, closed_date), 0.75) FILTER (o = 'won') AS p75
FROM d WHERE o IS NOT NULL GROUP BY salesperson ORDER BY salesperson
"""


@pytest.mark.parametrize(
    "window",
    [
        Q2,
        Q1,
        Window(date(2026, 1, 1), date(2026, 12, 31)),
        Window(date(2026, 4, 9), date(2026, 4, 9)),
    ],
)
def test_agrees_with_duckdb(store: EmbeddedPipelineStore, window: Window) -> None:
    deals = hand_deals()  # noqa: F841  (read by DuckDB by name)
    expected = duckdb.sql(
        DUCKDB_SUMMARY.replace("$s", f"DATE '{window.start}'").replace("$e", f"DATE '{window.end}'")
    ).pl()
    view = View(Scope(), window, None, "month", "none")
    got = pipeline.salespeople(store, view).sort("salesperson")
    got = got.join(expected.select("salesperson"), on="salesperson", how="right")
    for column in ("open_deals", "won_deals", "lost_deals"):
        assert got[column].fill_null(0).to_list() == expected[column].to_list(), column
    for column in ("open_amount", "won_amount", "lost_amount"):
        assert got[column].fill_null(0).to_list() == pytest.approx(expected[column].to_list())
    assert got["median_cycle_days"].to_list() == expected["med"].to_list()
    assert got["p75_cycle_days"].to_list() == expected["p75"].to_list()
