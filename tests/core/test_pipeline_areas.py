"""The pipeline's export areas through `python -m core export`, on the hand-worked deals
(tests/fixtures/pipeline_fixture.py): the numbers, the filters, the branch restriction,
the output models and the column documentation."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandera.errors
import polars as pl
import pytest

from core.export_query import export_table
from core.exports import PIPELINE_AREA_NAMES, column_doc, column_unit
from core.kpi import schemas
from core.stores.embedded import EmbeddedStore
from core.stores.pipeline_embedded import EmbeddedPipelineStore
from tests.conftest import MOMBASA_VIEWER, own_data_dir, run_cli
from tests.fixtures.pipeline_fixture import Q2_SUMMARY, hand_deals

Q2 = ["--start", "2026-04-01", "--end", "2026-06-30"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    made = own_data_dir(tmp_path_factory, "pipeline-areas", lines=2_000, seed=5)
    EmbeddedPipelineStore(made / "opportunities").write(hand_deals(), "append")
    return made


def export(data_dir: Path, area: str, *args: str) -> list[dict[str, object]]:
    done = run_cli(["core", "export", area, *Q2, "--format", "json", *args], data_dir)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_pipeline_export_is_the_hand_worked_quarter(data_dir: Path) -> None:
    (row,) = export(data_dir, "pipeline", "--compare", "none")
    assert row == pytest.approx(Q2_SUMMARY)


def test_the_comparison_quarter_rides_along(data_dir: Path) -> None:
    (row,) = export(data_dir, "pipeline")
    assert row["lost_deals_prev"] == 1 and row["win_rate_prev"] == 0.0


def test_member_filters_are_the_deals_members(data_dir: Path) -> None:
    # Amina and Brian sell in the CRM only: a pipeline area checks names against the deals.
    rows = export(data_dir, "pipeline-salespeople", "--rep", "brian")
    assert [r["salesperson"] for r in rows] == ["Brian"]
    assert rows[0]["win_rate"] == 0.5 and rows[0]["velocity_per_day"] == 750.0
    refused = run_cli(["core", "export", "pipeline", *Q2, "--rep", "Zawadi"], data_dir)
    assert refused.returncode != 0
    assert "--rep 'Zawadi' is not in the store" in refused.stderr


def test_lead_sources_funnel_and_lost_reasons(data_dir: Path) -> None:
    sources = {r["lead_source"]: r for r in export(data_dir, "pipeline-lead-sources")}
    # Won in Q2: O1 O3 by referral (130,000), O2 from the website (50,000).
    assert sources["Referral"]["won_amount"] == 130_000.0
    assert sources["Website"]["won_amount"] == 50_000.0
    funnel = export(data_dir, "funnel")
    assert [(r["stage"], r["entered"], r["reached_next"]) for r in funnel] == [
        ("Qualification", 7, 4),
        ("Proposal", 4, 3),
        ("Won", 3, None),
    ]
    lost = export(data_dir, "lost-reasons")
    # One each; Price (80,000) before No budget (0) by the amount lost.
    assert [(r["lost_reason"], r["lost_deals"], r["share_of_lost"]) for r in lost] == [
        ("Price", 1, 0.5),
        ("No budget", 1, 0.5),
    ]


def test_a_restricted_user_sees_only_their_branches_deals(data_dir: Path) -> None:
    rows = export(data_dir, "pipeline-branches", "--user", MOMBASA_VIEWER[0])
    assert [r["branch"] for r in rows] == ["Mombasa"]
    (row,) = export(data_dir, "pipeline", "--user", MOMBASA_VIEWER[0], "--compare", "none")
    # Brian's Mombasa deals alone: won O3, lost O4, open O7 O8.
    assert (row["won_deals"], row["lost_deals"], row["open_deals"]) == (1, 1, 2)
    refused = run_cli(
        ["core", "export", "pipeline", *Q2, "--user", MOMBASA_VIEWER[0], "--branch", "Nairobi"],
        data_dir,
    )
    assert refused.returncode != 0
    assert "not in the branches this user may see" in refused.stderr


@pytest.mark.parametrize("area", sorted(PIPELINE_AREA_NAMES))
@pytest.mark.parametrize("compare", ["none", "previous"])
def test_every_pipeline_area_passes_its_model_and_is_documented(
    data_dir: Path, area: str, compare: str
) -> None:
    params = {"start": "2026-04-01", "end": "2026-06-30", "compare": compare}
    store = EmbeddedStore(data_dir / "sales")
    table = export_table(store, area, params, today=date(2026, 12, 1))
    # No activities are loaded here; tests/core/test_activity_kpis.py works that area out.
    assert area == "activities" or not table.is_empty(), area
    schemas.validate_area(area, table)
    assert all(column_doc(c) for c in table.columns), area


def test_units_of_the_pipeline_columns() -> None:
    assert column_unit("won_amount", pl.Float64()) == "kes"
    assert column_unit("velocity_per_day", pl.Float64()) == "kes"
    assert column_unit("win_rate_prev", pl.Float64()) == "pct"
    assert column_unit("median_cycle_days", pl.Float64()) == "number"
    assert column_unit("open_deals", pl.Int64()) == "count"


def test_a_broken_funnel_is_refused_by_its_model() -> None:
    widening = pl.DataFrame(
        {"stage": ["A", "Won"], "entered": [2, 3], "reached_next": [3, None]},
        schema={"stage": pl.String, "entered": pl.Int64, "reached_next": pl.Int64},
    ).with_columns(conversion_pct=pl.Series([1.5, None], dtype=pl.Float64))
    with pytest.raises(pandera.errors.SchemaErrors):
        schemas.validate_area("funnel", widening)
