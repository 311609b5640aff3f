"""Stage history and activities of the sample CRM's deals (ingest/sample_crm.py).

Every deal walks the pipeline in order (`OPEN_STAGES`, then Closed Won or
Closed Lost): it enters its first stage when it is created, each later one
at a time drawn inside its life, and the stage it closed in at its close; an
open deal's walk ends at its exported stage, before the export was taken.
Won deals walk every stage, lost ones leave from a stage of their own, and
about one deal in ten skips a stage.

Activities follow the walk: calls and e-mails early, visits and demos at the
site visit, a quotation when the quote was sent, meetings while negotiating,
each done by the deal's salesperson, in working hours, while the deal stood
in that stage. Buyers who go on to buy take more of them, and deals that got
as far as a visit win far more often than those that did not, so the
activity KPIs have something to show. Some activities name only the
customer, as CRMs export what was logged on the company rather than the deal.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import numpy as np
import polars as pl

from core.activities import CANONICAL_COLUMNS as ACTIVITY_COLUMNS
from core.stages import CANONICAL_COLUMNS as STAGE_COLUMNS
from ingest.sample_crm import LOST_STAGE, OPEN_STAGES, WON_STAGE

# Separate random streams (beside the deals' own) so each part stays put when another changes.
STAGES_STREAM, ACTIVITIES_STREAM = 101, 102
SKIP_SHARE = 0.10  # deals whose walk leaves out one stage (quoted without a visit, say)
# The open stage a lost deal was lost from: many early, many once the price is known.
LOST_AT_WEIGHTS: tuple[float, ...] = (0.20, 0.25, 0.15, 0.25, 0.15)
# Activities a deal gets while in each stage, on average, by the type a CRM exports.
ACTIVITY_RATES: dict[str, dict[str, float]] = {
    "Lead": {"Call": 0.7, "Email": 0.5},
    "Qualified": {"Call": 0.7, "Email": 0.4, "Meeting": 0.2},
    "Site visit": {"Site visit": 1.2, "Demo": 0.3, "Call": 0.3},
    "Quotation sent": {"Quotation": 1.0, "Email": 0.5, "Call": 0.4},
    "Negotiation": {"Meeting": 0.8, "Call": 0.6, "Email": 0.3},
}
WON_ENGAGEMENT = 1.3  # buyers who go on to buy answer, meet and ask more
CUSTOMER_ONLY_SHARE = 0.05  # logged on the company, not the deal
CALL_OUTCOMES: dict[str, float] = {"Connected": 0.6, "No answer": 0.25, "Left voicemail": 0.15}
_SECOND_US = 1_000_000
_DAY_US = 86_400 * _SECOND_US
WORKDAY_US = (8 * 3_600 * _SECOND_US, 18 * 3_600 * _SECOND_US)  # activities are done 08:00-18:00
_STAGE_SCHEMA: dict[str, pl.DataType] = {
    "opportunity_id": pl.String(),
    "stage": pl.String(),
    "entered_at": pl.Datetime("us"),
}


def export_time(deals: pl.DataFrame) -> datetime:
    """When the export was taken, failing a given one: midnight after the last day the
    deals record (local naive time)."""
    latest = deals.select(pl.max_horizontal(pl.col("created_at", "closed_at").max())).item()
    return datetime.combine(latest.date() + timedelta(days=1), time())


def _walk(stage: str, rng: np.random.Generator) -> list[str]:
    """The stages a deal at `stage` entered, in order, its closing stage included."""
    if stage == WON_STAGE:
        walk, skippable = list(OPEN_STAGES), len(OPEN_STAGES)
    elif stage == LOST_STAGE:
        left = int(rng.choice(len(OPEN_STAGES), p=LOST_AT_WEIGHTS))
        walk, skippable = list(OPEN_STAGES[: left + 1]), left
    else:
        at = OPEN_STAGES.index(stage)
        walk, skippable = list(OPEN_STAGES[: at + 1]), at
    # Never the stage an open deal stands at or a lost deal was lost from.
    if skippable and rng.random() < SKIP_SHARE:
        del walk[int(rng.integers(skippable))]
    return [*walk, stage] if stage in (WON_STAGE, LOST_STAGE) else walk


def _moments(start: datetime, end: datetime, n: int, rng: np.random.Generator) -> list[datetime]:
    """`n` whole-second times strictly between `start` and `end`, ascending."""
    span = int((end - start).total_seconds())
    cuts = np.sort(rng.random(n))
    offsets = np.floor(cuts * max(span - n - 1, 0)).astype(np.int64) + np.arange(1, n + 1)
    return [start + timedelta(seconds=int(s)) for s in offsets]


def sample_stages(
    deals: pl.DataFrame, seed: int = 7, as_of: datetime | None = None
) -> pl.DataFrame:
    """The stage history (`core.stages.CANONICAL_COLUMNS`, local naive times) of
    `sample_deals`' deals; open deals' entries fall before `as_of` (the export's time,
    by default `export_time(deals)`)."""
    if deals.is_empty():
        return pl.DataFrame(schema=_STAGE_SCHEMA)
    as_of = as_of or export_time(deals)
    rng = np.random.default_rng((seed, STAGES_STREAM))
    rows: list[tuple[str, str, datetime]] = []
    columns = deals.select("opportunity_id", "stage", "created_at", "closed_at")
    for deal, stage, created, closed in columns.iter_rows():
        walk = _walk(stage, rng)
        if closed is None:
            times = [created, *_moments(created, as_of, len(walk) - 1, rng)]
        else:
            times = [created, *_moments(created, closed, len(walk) - 2, rng), closed]
        rows.extend((deal, s, t) for s, t in zip(walk, times, strict=True))
    return pl.DataFrame(rows, schema=_STAGE_SCHEMA, orient="row").select(STAGE_COLUMNS)


def _stays(deals: pl.DataFrame, stages: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """Each deal's time in each open stage it entered: `since` to `until` (the next
    entry, or `as_of` for the stage an open deal stands at), with the deal's people."""
    return (
        stages.sort("opportunity_id", "entered_at")
        .with_columns(until=pl.col("entered_at").shift(-1).over("opportunity_id"))
        .filter(pl.col("stage").is_in(OPEN_STAGES))
        .with_columns(pl.col("until").fill_null(as_of), since=pl.col("entered_at"))
        .join(
            deals.select(
                "opportunity_id", "salesperson", "customer_id", won=pl.col("stage") == WON_STAGE
            ),
            on="opportunity_id",
            how="inner",
            maintain_order="left",
        )
    )


def _working_clock(at: np.ndarray) -> np.ndarray:
    """Microseconds of working hours (`WORKDAY_US`, every day) from the epoch to `at`."""
    start, end = WORKDAY_US
    day, of_day = np.divmod(at, _DAY_US)
    worked: np.ndarray = day * (end - start) + np.clip(of_day - start, 0, end - start)
    return worked


def _done_times(since: np.ndarray, until: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A whole-second time in each [since, until) (microseconds), in working hours where
    the stay holds any, uniformly over them."""
    start, end = WORKDAY_US
    low, high = _working_clock(since), _working_clock(until)
    worked = low + np.floor(rng.random(since.size) * (high - low)).astype(np.int64)
    day, into = np.divmod(worked, end - start)
    working = day * _DAY_US + start + into
    anytime = since + np.floor(rng.random(since.size) * (until - since)).astype(np.int64)
    done = np.where(high > low, working, anytime)
    whole: np.ndarray = np.maximum(done - done % _SECOND_US, since)
    return whole


def sample_activities(
    deals: pl.DataFrame, seed: int = 7, as_of: datetime | None = None
) -> pl.DataFrame:
    """The activities (`core.activities.CANONICAL_COLUMNS`, types as a CRM exports them,
    local naive times) done on `sample_deals`' deals while each stood in a stage of its
    `sample_stages` walk (same `seed` and `as_of`)."""
    schema: dict[str, pl.DataType] = {c: pl.String() for c in ACTIVITY_COLUMNS}
    schema["done_at"] = pl.Datetime("us")
    if deals.is_empty():
        return pl.DataFrame(schema=schema).select(ACTIVITY_COLUMNS)
    as_of = as_of or export_time(deals)
    stays = _stays(deals, sample_stages(deals, seed, as_of), as_of)
    rng = np.random.default_rng((seed, ACTIVITIES_STREAM))
    parts = []
    for stage, rates in ACTIVITY_RATES.items():
        here = stays.filter(pl.col("stage") == stage)
        factor = np.where(here["won"].to_numpy(), WON_ENGAGEMENT, 1.0)
        since = here["since"].dt.epoch("us").to_numpy()
        length = here["until"].dt.epoch("us").to_numpy() - since
        for kind, rate in rates.items():
            which = np.repeat(np.arange(here.height), rng.poisson(rate * factor))
            done_us = _done_times(since[which], since[which] + length[which], rng)
            parts.append(
                here[which]
                .select("opportunity_id", "salesperson", "customer_id")
                .with_columns(
                    type=pl.lit(kind),
                    done_at=pl.Series(done_us).cast(pl.Datetime("us")),
                )
            )
    done = pl.concat(parts).sort("done_at", "opportunity_id", "type", maintain_order=True)
    outcomes, outcome_p = list(CALL_OUTCOMES), np.array(list(CALL_OUTCOMES.values()))
    said = np.array(outcomes)[rng.choice(len(outcomes), size=done.height, p=outcome_p)]
    customer_only = np.asarray(rng.random(done.height) < CUSTOMER_ONLY_SHARE)
    return done.with_columns(
        activity_id=pl.format(
            "ACT-{}", pl.int_range(1, done.height + 1).cast(pl.String).str.zfill(7)
        ),
        opportunity_id=pl.when(pl.Series(customer_only))
        .then(None)
        .otherwise(pl.col("opportunity_id")),
        outcome=pl.when(pl.col("type") == "Call").then(pl.Series(said)).otherwise(None),
    ).select(ACTIVITY_COLUMNS)


def stages_csv(stages: pl.DataFrame) -> bytes:
    """The stage history as a CRM's CSV export: one row per deal entering a stage."""
    return (
        stages.with_columns(pl.col("entered_at").dt.strftime("%Y-%m-%d %H:%M:%S"))
        .write_csv()
        .encode("utf-8")
    )


def activities_csv(activities: pl.DataFrame) -> bytes:
    """The activities as a CRM's CSV export: empty cells for what an activity lacks."""
    return (
        activities.with_columns(pl.col("done_at").dt.strftime("%Y-%m-%d %H:%M:%S"))
        .write_csv()
        .encode("utf-8")
    )
