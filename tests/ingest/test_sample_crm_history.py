"""The sample CRM's stage history and activities (ingest/sample_crm_history.py): each deal's
walk in stage order inside its life, activities that go with winning, and files that load
through the same ingest functions as an upload."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path

import polars as pl
import pytest

from core.kpi import activities as activity_kpis
from core.kpi import pipeline
from core.kpi.view import View
from core.store import Scope, Window
from core.stores.pipeline_embedded import EmbeddedPipelineStore
from ingest.activities import ingest_activities
from ingest.opportunities import ingest_deals
from ingest.sample_crm import LOST_STAGE, OPEN_STAGES, WON_STAGE, deals_csv, sample_deals
from ingest.sample_crm_history import (
    activities_csv,
    sample_activities,
    sample_stages,
    stages_csv,
)
from ingest.stages import ingest_stages
from tests.conftest import SAMPLE_END, run_cli

AS_OF = datetime.combine(SAMPLE_END, time())
# Where each stage stands in a walk: the open stages in order, then either close.
ORDER = {stage: rank for rank, stage in enumerate(OPEN_STAGES)}
ORDER |= {WON_STAGE: len(OPEN_STAGES), LOST_STAGE: len(OPEN_STAGES)}
CLOSED = (WON_STAGE, LOST_STAGE)


@pytest.fixture(scope="module")
def deals(sample_lines: pl.DataFrame) -> pl.DataFrame:
    return sample_deals(sample_lines, SAMPLE_END)


@pytest.fixture(scope="module")
def stages(deals: pl.DataFrame) -> pl.DataFrame:
    return sample_stages(deals, as_of=AS_OF)


@pytest.fixture(scope="module")
def activities(deals: pl.DataFrame) -> pl.DataFrame:
    return sample_activities(deals, as_of=AS_OF)


def _walks(deals: pl.DataFrame, stages: pl.DataFrame) -> pl.DataFrame:
    """Per deal: its stages and times in the order entered, beside the deal."""
    return (
        stages.sort("opportunity_id", "entered_at")
        .group_by("opportunity_id", maintain_order=True)
        .agg(pl.col("stage").alias("walk"), pl.col("entered_at").alias("times"))
        .join(
            deals.select("opportunity_id", "stage", "created_at", "closed_at"), on="opportunity_id"
        )
    )


def _per_deal(deals: pl.DataFrame, activities: pl.DataFrame) -> pl.DataFrame:
    """Closed deals with the activities that name them and whether one was a visit."""
    named = activities.filter(pl.col("opportunity_id").is_not_null())
    counts = named.group_by("opportunity_id").agg(
        activities=pl.len(), visited=(pl.col("type") == "Site visit").any()
    )
    return (
        deals.filter(pl.col("stage").is_in(CLOSED))
        .join(counts, on="opportunity_id", how="left")
        .with_columns(pl.col("activities").fill_null(0), pl.col("visited").fill_null(False))
    )


def test_every_deal_has_a_walk_and_every_row_a_deal(
    deals: pl.DataFrame, stages: pl.DataFrame
) -> None:
    assert set(stages["opportunity_id"]) == set(deals["opportunity_id"])
    assert stages.columns == ["opportunity_id", "stage", "entered_at"]
    assert not stages.select(pl.struct(pl.all()).is_duplicated().any()).item()


def test_each_walk_runs_in_stage_order_inside_the_deals_life(
    deals: pl.DataFrame, stages: pl.DataFrame
) -> None:
    for deal, walk, times, stage, created, closed in _walks(deals, stages).iter_rows():
        ranks = [ORDER[s] for s in walk]
        assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks), (deal, walk)
        assert times == sorted(times) and len(set(times)) == len(times), (deal, times)
        assert walk[-1] == stage, deal
        assert times[0] == created, deal  # a deal enters its first stage when created
        if closed is None:
            assert times[-1] < AS_OF, deal
        else:
            assert times[-1] == closed and times[-2] < closed, deal
            assert all(s in OPEN_STAGES for s in walk[:-1]), deal


def test_lost_deals_leave_from_a_stage_and_some_deals_skip_one(
    deals: pl.DataFrame, stages: pl.DataFrame
) -> None:
    walks = _walks(deals, stages)
    lost = walks.filter(pl.col("stage") == LOST_STAGE)
    left_from = lost["walk"].list.get(-2).value_counts()
    # Lost deals leave from every open stage, not only the first.
    assert set(left_from["walk"]) == set(OPEN_STAGES)
    # A walk skips a stage when its open stages are not every one up to its last (a won
    # deal's: every one).
    skipped = []
    for walk, stage in walks.select("walk", "stage").iter_rows():
        entered = [s for s in walk if s in OPEN_STAGES]
        last = len(OPEN_STAGES) if stage == WON_STAGE else ORDER[entered[-1]] + 1
        skipped.append(entered != list(OPEN_STAGES[:last]))
    share = sum(skipped) / len(skipped)
    assert 0.03 < share < 0.15, share  # about one deal in ten, fewer where none can skip


def test_activities_are_the_deals_and_inside_its_life(
    deals: pl.DataFrame, activities: pl.DataFrame
) -> None:
    named = activities.filter(pl.col("opportunity_id").is_not_null()).join(
        deals.select(
            "opportunity_id",
            pl.col("salesperson").alias("owner"),
            pl.col("customer_id").alias("customer"),
            "created_at",
            "closed_at",
        ),
        on="opportunity_id",
        how="left",
    )
    assert named["owner"].null_count() == 0  # every named deal exists
    assert (named["salesperson"] == named["owner"]).all()
    assert (named["customer_id"] == named["customer"]).all()
    assert (named["done_at"] >= named["created_at"]).all()
    assert (named["done_at"] < named["closed_at"].fill_null(AS_OF)).all()
    working = activities.select(pl.col("done_at").dt.hour().is_between(8, 17).mean()).item()
    assert working > 0.95  # done in working hours, but for stays too short to hold any
    customer_only = activities.filter(pl.col("opportunity_id").is_null())
    assert 0.02 < customer_only.height / activities.height < 0.10
    assert set(customer_only["customer_id"]) <= set(deals["customer_id"])
    assert activities["activity_id"].is_unique().all()
    expected = {"Call", "Email", "Site visit", "Demo", "Quotation", "Meeting"}
    assert set(activities["type"]) == expected


def test_won_deals_get_more_activities_than_lost_ones(
    deals: pl.DataFrame, activities: pl.DataFrame
) -> None:
    per = _per_deal(deals, activities).group_by("stage").agg(pl.col("activities").mean())
    mean = dict(per.rows())
    assert mean[WON_STAGE] > 1.5 * mean[LOST_STAGE], mean


def test_deals_with_a_visit_win_noticeably_more_often(
    deals: pl.DataFrame, activities: pl.DataFrame
) -> None:
    rates = dict(
        _per_deal(deals, activities)
        .group_by("visited")
        .agg((pl.col("stage") == WON_STAGE).mean())
        .rows()
    )
    assert rates[True] > rates[False] + 0.15, rates
    assert 0.05 < rates[False] < rates[True] < 0.9, rates  # both sides win some, lose some


def test_the_files_load_through_the_ingest_functions(
    deals: pl.DataFrame, stages: pl.DataFrame, activities: pl.DataFrame, tmp_path: Path
) -> None:
    store = EmbeddedPipelineStore(tmp_path / "opportunities")
    loaded = [
        ingest_deals(deals_csv(deals), store, filename="crm.csv"),
        ingest_stages(stages_csv(stages), store.stages, filename="stages.csv"),
        ingest_activities(activities_csv(activities), store.activities, filename="acts.csv"),
    ]
    for result in loaded:
        assert result.ok, result.prepared.failures
        assert result.prepared.rejected_rows == 0 and not result.prepared.notes
    assert [r.prepared.rows for r in loaded] == [deals.height, stages.height, activities.height]
    assert set(store.activities.scan().collect()["type"]) == {
        "call",
        "email",
        "visit",
        "demo",
        "quote",
        "meeting",
    }
    every_day = View(Scope(), Window(date(2020, 1, 1), SAMPLE_END), None, "month", "none")
    funnel = pipeline.funnel(store, every_day)
    assert funnel["stage"].to_list() == [*OPEN_STAGES, "Won"]
    (with_visit, win_with, without_visit, win_without) = activity_kpis.visit_win_rates(
        store, every_day
    ).row(0)
    assert with_visit > 0 and without_visit > 0
    assert win_with > win_without + 0.15


def test_the_same_seed_gives_the_same_history(deals: pl.DataFrame) -> None:
    assert sample_stages(deals, 3, AS_OF).equals(sample_stages(deals, 3, AS_OF))
    assert sample_activities(deals, 3, AS_OF).equals(sample_activities(deals, 3, AS_OF))
    assert stages_csv(sample_stages(deals, 3, AS_OF)) == stages_csv(sample_stages(deals, 3, AS_OF))
    assert not sample_activities(deals, 4, AS_OF).equals(sample_activities(deals, 3, AS_OF))


def test_without_deals_there_is_no_history(deals: pl.DataFrame) -> None:
    assert sample_stages(deals.clear()).is_empty()
    assert sample_activities(deals.clear()).is_empty()


def test_make_runs_data_step_loads_the_history_after_the_deals(tmp_path: Path) -> None:
    done = run_cli(["ingest.sample_setup", "--rows", "20000", "--seed", "3"], tmp_path)
    assert done.returncode == 0, done.stderr
    audit = (tmp_path / "audit" / "uploads.jsonl").read_text().splitlines()
    lines = [json.loads(line) for line in audit]
    assert [line["dataset"] for line in lines] == [
        "sales",
        "targets",
        "opportunities",
        "stages",
        "activities",
    ]
    assert all(line["outcome"] == "loaded" and line["rows_rejected"] == 0 for line in lines)
    store = EmbeddedPipelineStore(tmp_path / "opportunities")
    assert store.stages.count() == lines[3]["rows_accepted"] > lines[2]["rows_accepted"]
    assert store.activities.count() == lines[4]["rows_accepted"] > 0
    assert "sample activities (generated in" in done.stdout


def test_the_sample_command_writes_the_history_beside_the_deals(tmp_path: Path) -> None:
    crm = tmp_path / "crm.csv"
    args = ["--rows", "5000", "--seed", "3", "--out", str(tmp_path / "s.parquet")]
    done = run_cli(["ingest.sample", *args, "--crm-out", str(crm), "--end", "2026-10-31"], tmp_path)
    assert done.returncode == 0, done.stderr
    store = EmbeddedPipelineStore(tmp_path / "opportunities")
    assert ingest_deals(crm, store).ok
    assert ingest_stages(tmp_path / "crm-stages.csv", store.stages).ok
    assert ingest_activities(tmp_path / "crm-activities.csv", store.activities).ok
    assert store.stages.count() > store.count(Scope()) > 0
