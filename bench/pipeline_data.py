"""The bench's CRM: deals, stage history and activities at a CRM's full size.

The product promises the pipeline areas at 100,000 opportunities, 500,000
stage rows and 1,000,000 activities (`PIPELINE_SIZES`). The sample CRM of
`ingest/sample_crm.py` is a small business's (a few thousand deals), so the
bench draws its own, beside the bench's sales sample and consistent with it:
every deal stands beside one of the sample's invoices (its salesperson,
branch, customer, product line and product), and a share of the won deals
name a large business invoice they became (its amount, closed just before
its day), so the influenced revenue finds invoices. Deals then walk the
sample CRM's stages (`OPEN_STAGES`, then Closed Won or Closed Lost) and get
the activities of each stage they stood in, as the sample CRM's history does;
stage rows are topped up to the stated count by re-entries (a deal sent back
to a stage it had left) and activities drawn to it, so the sizes are exact.

Everything is drawn from one seeded generator: a given sales sample and
`CrmSizes` always give the same rows. The three exports are written as
Parquet (local naive times, as a CRM exports them) into the bench's samples,
loaded into a data dir's embedded store through the real ingest functions
(`ingest_deals`, `ingest_stages`, `ingest_activities`, mode `replace`), and
into Druid through the Druid pipeline store's writes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from bench.data import END, ROOT, SEED, label, sample_file, store_data_dir

# The sizes the product promises the pipeline areas at.
DEALS, STAGE_ROWS, ACTIVITY_ROWS = 100_000, 500_000, 1_000_000
# A seeded stream of its own: the CRM stays put whatever else draws from SEED.
CRM_STREAM = 201
# When the export is taken: the morning after the sales sample's last day.
AS_OF = datetime.combine(END + timedelta(days=1), datetime.min.time())
OPEN_SHARE = 0.12  # deals still open when the export is taken
STUCK_SHARE = 0.12  # of those, open far longer than a cycle
NAMED_SHARE = 0.6  # won deals that name the invoice they became
LARGE_INVOICE_QUANTILE = 0.6  # a named invoice is among the business customers' largest
WIN_RATE_RANGE = (0.28, 0.55)  # each salesperson's own win rate, before the lead source
LEAD_SOURCE_NULL_SHARE = 0.03  # deals whose CRM records no lead source
ZERO_LOST_SHARE = 0.1  # lost deals some CRMs zero the amount of
CLOSE_SPREAD_DAYS = 20  # a deal closes within this many days of the invoice it stands by
CYCLE_MEDIAN_DAYS, CYCLE_SIGMA = 21.0, 0.6  # log-normal days from creation to close
SKIP_SHARE = 0.10  # deals whose walk leaves out one stage
CUSTOMER_ONLY_SHARE = 0.05  # activities logged on the company, not the deal
ACTIVITY_SLACK = 1.02  # draw 2% more activities than wanted, then keep exactly the size

# Files whose content decides what a loaded CRM holds: a change reloads it.
CRM_LAYOUT_FILES = (
    "bench/pipeline_data.py",
    "core/opportunities.py",
    "core/stages.py",
    "core/activities.py",
    "core/pipeline_datasets.py",
    "core/stores/keyed_delta.py",
    "ingest/crm.py",
    "ingest/opportunities.py",
    "ingest/stages.py",
    "ingest/activities.py",
)


@dataclass(frozen=True)
class CrmSizes:
    """How many deals, stage rows and activities the bench's CRM holds."""

    deals: int = DEALS
    stages: int = STAGE_ROWS
    activities: int = ACTIVITY_ROWS

    def label(self) -> str:
        return f"{label(self.deals)}-{label(self.stages)}-{label(self.activities)}"


PIPELINE_SIZES = CrmSizes()


@dataclass(frozen=True)
class Crm:
    """The three CRM exports, canonical columns, local naive times."""

    deals: pl.DataFrame
    stages: pl.DataFrame
    activities: pl.DataFrame


def _constants() -> tuple[tuple[str, ...], tuple[float, ...], dict[str, tuple[float, float]]]:
    from ingest.sample_crm import LEAD_SOURCES, OPEN_STAGE_WEIGHTS, OPEN_STAGES

    return OPEN_STAGES, OPEN_STAGE_WEIGHTS, LEAD_SOURCES


def _invoices(lines: pl.DataFrame) -> pl.DataFrame:
    """One row per registered customer's invoice: what a deal beside it takes from it."""
    net = pl.col("quantity") * pl.col("unit_price") - pl.col("quantity").sign() * pl.col("discount")
    return (
        lines.lazy()
        .filter(pl.col("customer_id").is_not_null() & (pl.col("quantity") > 0))
        .filter(pl.col("sold_at") < AS_OF)
        .with_columns(net=net)
        .group_by("invoice_id")
        .agg(
            pl.col("sold_at", "branch", "salesperson", "customer_id", "customer_name").first(),
            pl.col("customer_type").first(),
            pl.col("product_line", "product_id").sort_by("net", descending=True).first(),
            amount=pl.col("net").sum(),
        )
        .sort("invoice_id")
        .collect()
    )


def _seconds(values: np.ndarray) -> pl.Series:
    """Whole seconds since the epoch as local naive datetimes."""
    return pl.Series(values.astype(np.int64) * 1_000_000).cast(pl.Datetime("us"))


def _epoch_s(moment: datetime) -> int:
    return int((moment - datetime(1970, 1, 1)).total_seconds())


def generate_deals(lines: pl.DataFrame, n: int, rng: np.random.Generator) -> pl.DataFrame:
    """`n` deals (`core.opportunities.CANONICAL_COLUMNS`) beside the sales `lines`."""
    from core.opportunities import CANONICAL_COLUMNS
    from ingest.sample_crm import LOST_REASONS, LOST_STAGE, WON_STAGE

    open_stages, open_weights, lead_sources = _constants()
    invoices = _invoices(lines)
    if invoices.is_empty():
        raise ValueError("the sales sample has no registered customer's invoice")
    # Every deal stands beside an invoice drawn at random: busy customers get more deals.
    like = invoices[rng.integers(0, invoices.height, n)]
    people = sorted(set(invoices["salesperson"]))
    own_rate = dict(zip(people, rng.uniform(*WIN_RATE_RANGE, len(people)), strict=True))
    sources = list(lead_sources)
    share = np.array([lead_sources[s][0] for s in sources])
    lift = np.array([lead_sources[s][1] for s in sources])
    source = rng.choice(len(sources), size=n, p=share / share.sum())
    rate = np.array([own_rate[p] for p in like["salesperson"]]) * lift[source]
    is_open = rng.random(n) < OPEN_SHARE
    won = ~is_open & (rng.random(n) < np.clip(rate, 0.05, 0.9))
    lost = ~is_open & ~won
    # A share of won deals name a large business invoice, each invoice named once.
    business = invoices.filter(pl.col("customer_type").is_in(["Corporate", "Wholesale"]))
    large = business.filter(pl.col("amount") >= pl.col("amount").quantile(LARGE_INVOICE_QUANTILE))
    won_at = np.flatnonzero(won)
    named_at = won_at[rng.random(won_at.size) < NAMED_SHARE][: large.height]
    chosen = large[np.sort(rng.choice(large.height, size=named_at.size, replace=False))]
    columns = ["invoice_id", "sold_at", "branch", "salesperson", "customer_id"]
    columns += ["customer_name", "product_line", "product_id", "amount"]
    base = like.select(columns).with_columns(named=pl.lit(False))
    rows = np.arange(n)
    order = np.concatenate([np.setdiff1d(rows, named_at), named_at])
    stacked = pl.concat(
        [base[np.setdiff1d(rows, named_at)], chosen.select(columns).with_columns(named=True)]
    )
    deals = stacked[np.argsort(order)]
    named = deals["named"].to_numpy()

    as_of = _epoch_s(AS_OF)
    sold = deals["sold_at"].dt.epoch("s").to_numpy()
    spread = rng.integers(-CLOSE_SPREAD_DAYS * 86_400, CLOSE_SPREAD_DAYS * 86_400, n)
    closed = np.where(named, sold - rng.integers(3_600, 72 * 3_600, n), sold + spread)
    closed = np.minimum(closed, as_of - 3_600)  # closed by the evening before the export
    cycle = np.clip(np.round(rng.lognormal(np.log(CYCLE_MEDIAN_DAYS), CYCLE_SIGMA, n)), 1, 240)
    cycle = np.where(lost, np.floor(cycle * 0.8) + 1, cycle)
    created = closed - cycle.astype(np.int64) * 86_400 - rng.integers(0, 8 * 3_600, n)
    stuck = rng.random(n) < STUCK_SHARE
    age = np.where(stuck, rng.integers(61, 300, n), rng.integers(0, 60, n))
    opened = as_of - (age + 1) * 86_400 + rng.integers(8 * 3_600, 17 * 3_600, n)
    created = np.where(is_open, opened, created)
    _untie(closed, created, np.flatnonzero(won & ~named), deals["customer_id"].to_numpy())

    middle = large["amount"].median() if large.height else None
    typical = float(middle) if isinstance(middle, int | float) else 1_000.0
    drawn = np.round(typical * rng.lognormal(0.0, 0.5, n), -2)
    amount = np.where(named, deals["amount"].to_numpy(), drawn)
    amount = np.where(lost & (rng.random(n) < ZERO_LOST_SHARE), 0.0, amount)
    open_stage = rng.choice(len(open_stages), size=n, p=np.array(open_weights))
    stage = np.where(won, WON_STAGE, np.where(lost, LOST_STAGE, np.array(open_stages)[open_stage]))
    reasons, reason_p = list(LOST_REASONS), np.array(list(LOST_REASONS.values()))
    reason = np.array(reasons)[rng.choice(len(reasons), size=n, p=reason_p / reason_p.sum())]
    no_source = rng.random(n) < LEAD_SOURCE_NULL_SHARE
    expected = pl.lit(AS_OF.date()) + pl.duration(days=pl.lit(pl.Series(rng.integers(3, 45, n))))
    frame = deals.with_columns(
        created_at=_seconds(created),
        stage=pl.Series(stage),
        status=pl.Series(np.where(won, "won", np.where(lost, "lost", "open"))),
        closed_at=pl.when(pl.Series(is_open)).then(None).otherwise(_seconds(closed)),
        amount=pl.Series(np.round(amount, 2)),
        lead_source=pl.when(pl.Series(no_source))
        .then(None)
        .otherwise(pl.Series(np.array(sources)[source])),
        lost_reason=pl.when(pl.Series(lost)).then(pl.Series(reason)).otherwise(None),
        expected_close=pl.when(pl.Series(is_open)).then(expected).otherwise(None),
        invoice_id=pl.when(pl.Series(named)).then(pl.col("invoice_id")).otherwise(None),
        opportunity_name=pl.format("{} - {}", "customer_name", "product_line"),
    )
    ordered = frame.sort("created_at", "invoice_id", "customer_id", maintain_order=True)
    return ordered.with_columns(
        opportunity_id=pl.format(
            "OPP-{}", pl.int_range(1, n + 1).cast(pl.String).str.zfill(len(str(n)))
        )
    ).select(CANONICAL_COLUMNS)


def _untie(closed: np.ndarray, created: np.ndarray, at: np.ndarray, customer: np.ndarray) -> None:
    """Move deals `at` earlier by whole days until no two of one customer close on one day.

    Which deal of a customer's an invoice counts for (`core.kpi.influence`) is the
    latest closed before it: two closing the same day leave that to sort order, and the
    bench's reference would then agree only by chance.
    """
    for _ in range(20):  # each round unties most of what is left: a handful of deals
        day = closed[at] // 86_400
        rank = (
            pl.DataFrame({"customer": customer[at], "day": day})
            .select(pl.int_range(pl.len()).over("customer", "day"))
            .to_series()
            .to_numpy()
        )
        if not rank.any():
            return
        closed[at] -= rank * 86_400
        created[at] -= rank * 86_400


def _block_starts(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts)[:-1]])


def _walks(deals: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Every deal's walk: (deal index, stage, entered second), in walk order, closing rows
    included; with `until`, the second it left an open stage (None for closing rows)."""
    from ingest.sample_crm import LOST_STAGE, WON_STAGE
    from ingest.sample_crm_history import LOST_AT_WEIGHTS

    open_stages, _, _ = _constants()
    n = deals.height
    status = deals["status"].to_numpy()
    at_stage = {s: i for i, s in enumerate(open_stages)}
    exported = np.array([at_stage.get(s, 0) for s in deals["stage"]])
    lost_at = rng.choice(len(open_stages), size=n, p=np.array(LOST_AT_WEIGHTS))
    last = np.where(status == "won", len(open_stages) - 1, np.where(status == "lost", lost_at, 0))
    last = np.where(status == "open", exported, last)
    # A skipped stage is never the last open one (where an open deal stands, a lost one left).
    skipped = (last >= 1) & (rng.random(n) < SKIP_SHARE)
    skip = np.where(skipped, rng.integers(0, np.maximum(last, 1)), -1)
    entered = last + 1
    deal = np.repeat(np.arange(n), entered)
    position = np.arange(deal.size) - np.repeat(_block_starts(entered), entered)
    keep = position != skip[deal]
    deal, position = deal[keep], position[keep]
    counts = np.bincount(deal, minlength=n)
    first = _block_starts(counts)
    created = deals["created_at"].dt.epoch("s").to_numpy()
    closed_at = deals["closed_at"].dt.epoch("s").fill_null(_epoch_s(AS_OF)).to_numpy()
    fraction = rng.random(deal.size)
    fraction[first[counts > 0]] = -1.0  # the first stage is entered when the deal is created
    fraction = fraction[np.lexsort((fraction, deal))]
    span = closed_at[deal] - created[deal]
    seconds = created[deal] + np.floor(np.maximum(fraction, 0.0) * (span - 1)).astype(np.int64)
    closing = np.flatnonzero(status != "open")
    stage_names = np.array(open_stages)[position]
    close_names = np.where(status[closing] == "won", WON_STAGE, LOST_STAGE)
    walk = pl.DataFrame(
        {
            "deal": np.concatenate([deal, closing]),
            "order": np.concatenate([position, np.full(closing.size, len(open_stages))]),
            "stage": np.concatenate([stage_names, close_names]),
            "second": np.concatenate([seconds, closed_at[closing]]),
        }
    ).sort("deal", "order")
    return walk.with_columns(
        until=pl.when(pl.col("order") < len(open_stages))
        .then(pl.col("second").shift(-1).over("deal").fill_null(_epoch_s(AS_OF)))
        .otherwise(None)
    )


def generate_stages(
    deals: pl.DataFrame, walks: pl.DataFrame, rows: int, rng: np.random.Generator
) -> pl.DataFrame:
    """Exactly `rows` stage entries: the walks, then re-entries of open stages."""
    need = rows - walks.height
    if need < 0:
        raise ValueError(f"{rows:,} stage rows are fewer than the {walks.height:,} the walks need")
    stays = walks.filter(pl.col("until").is_not_null() & (pl.col("until") - pl.col("second") > 2))
    found = walks.select("deal", "stage", "second")
    while need > 0 and stays.height:
        pick = stays[rng.integers(0, stays.height, int(need * 1.1) + 10)]
        since, until = pick["second"].to_numpy(), pick["until"].to_numpy()
        later = since + 1 + np.floor(rng.random(pick.height) * (until - since - 2))
        again = pick.select("deal", "stage").with_columns(second=pl.Series(later.astype(np.int64)))
        found = pl.concat([found, again]).unique(["deal", "stage", "second"], maintain_order=True)
        found = found.head(rows)
        need = rows - found.height
    ids = deals["opportunity_id"]
    return found.select(
        opportunity_id=ids.gather(found["deal"]),
        stage="stage",
        entered_at=_seconds(found["second"].to_numpy()),
    ).sort("entered_at", "opportunity_id", "stage")


def generate_activities(
    deals: pl.DataFrame, walks: pl.DataFrame, rows: int, rng: np.random.Generator
) -> pl.DataFrame:
    """Exactly `rows` activities, done while each deal stood in a stage of its walk."""
    from core.activities import CANONICAL_COLUMNS
    from ingest.sample_crm_history import ACTIVITY_RATES, CALL_OUTCOMES, WON_ENGAGEMENT

    stays = walks.filter(pl.col("until").is_not_null() & (pl.col("until") > pl.col("second")))
    won = (deals["status"] == "won").to_numpy()[stays["deal"].to_numpy()]
    factor = np.where(won, WON_ENGAGEMENT, 1.0)
    kinds = sorted({k for rates in ACTIVITY_RATES.values() for k in rates})
    stages = list(ACTIVITY_RATES)
    table = np.array([[ACTIVITY_RATES[s].get(k, 0.0) for k in kinds] for s in stages])
    at = stays["stage"].replace_strict({s: i for i, s in enumerate(stages)}).to_numpy()
    # Per stay and type, the sample CRM's rate, scaled so the expected total is `rows`.
    rates = table[at] * factor[:, None]
    scale = rows * ACTIVITY_SLACK / max(float(rates.sum()), 1e-9)
    counts = rng.poisson(rates * scale)
    while counts.sum() < rows:  # a short draw (tiny sizes): another round on top
        counts += rng.poisson(rates * scale * 0.1 + 1e-3)
    stay, kind = np.nonzero(counts)
    times = counts[stay, kind]
    stay, kind = np.repeat(stay, times), np.repeat(kind, times)
    keep = np.sort(rng.choice(stay.size, size=rows, replace=False))
    stay, kind = stay[keep], kind[keep]
    since = stays["second"].to_numpy()[stay]
    until = stays["until"].to_numpy()[stay]
    done = since + np.floor(rng.random(rows) * (until - since)).astype(np.int64)
    deal = stays["deal"].to_numpy()[stay]
    outcomes, outcome_p = list(CALL_OUTCOMES), np.array(list(CALL_OUTCOMES.values()))
    said = np.array(outcomes)[rng.choice(len(outcomes), size=rows, p=outcome_p)]
    customer_only = rng.random(rows) < CUSTOMER_ONLY_SHARE
    frame = pl.DataFrame(
        {
            "type": np.array(kinds)[kind],
            "done_at": _seconds(done),
            "salesperson": deals["salesperson"].gather(deal),
            "opportunity_id": deals["opportunity_id"].gather(deal),
            "customer_id": deals["customer_id"].gather(deal),
            "said": said,
            "customer_only": customer_only,
        }
    ).sort("done_at", "opportunity_id", "type", maintain_order=True)
    return frame.with_columns(
        activity_id=pl.format(
            "ACT-{}", pl.int_range(1, rows + 1).cast(pl.String).str.zfill(len(str(rows)))
        ),
        opportunity_id=pl.when(pl.col("customer_only") & pl.col("customer_id").is_not_null())
        .then(None)
        .otherwise(pl.col("opportunity_id")),
        outcome=pl.when(pl.col("type") == "Call").then(pl.col("said")).otherwise(None),
    ).select(CANONICAL_COLUMNS)


def generate_crm(lines: pl.DataFrame, sizes: CrmSizes, seed: int = SEED) -> Crm:
    """The bench's CRM beside canonical sales `lines`, at `sizes`."""
    rng = np.random.default_rng((seed, CRM_STREAM))
    deals = generate_deals(lines, sizes.deals, rng)
    walks = _walks(deals, rng)
    return Crm(
        deals,
        generate_stages(deals, walks, sizes.stages, rng),
        generate_activities(deals, walks, sizes.activities, rng),
    )


EXPORTS = ("deals", "stages", "activities")


def crm_files(work_dir: Path, rows: int, sizes: CrmSizes) -> dict[str, Path]:
    """The cached CRM exports beside the `rows` sales sample, as Parquet, drawn if missing."""
    directory = work_dir / "samples" / f"crm_{sizes.label()}_sales{label(rows)}_seed{SEED}"
    paths = {name: directory / f"{name}.parquet" for name in EXPORTS}
    stamp = directory / "layout.txt"
    if (
        stamp.exists()
        and stamp.read_text() == crm_layout_hash()
        and all(p.exists() for p in paths.values())
    ):
        return paths
    started = time.perf_counter()
    lines = pl.read_parquet(sample_file(work_dir, rows, ".parquet"))
    crm = generate_crm(lines, sizes)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    for name in EXPORTS:
        getattr(crm, name).write_parquet(paths[name])
    stamp.write_text(crm_layout_hash())
    print(f"  generated the {sizes.label()} CRM in {time.perf_counter() - started:.1f} s")
    return paths


def crm_layout_hash() -> str:
    digest = hashlib.sha256()
    for name in CRM_LAYOUT_FILES:
        path = ROOT / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:12]


def crm_data_dir(work_dir: Path, rows: int, sizes: CrmSizes = PIPELINE_SIZES) -> Path:
    """The `rows` bench data dir (`bench.data.store_data_dir`) with the CRM loaded too.

    The deals, stage history and activities go through the real ingest, as an
    admin's uploads do; a marker beside them records what was loaded, so a
    re-run with the same sizes and code skips it.
    """
    data_dir = store_data_dir(work_dir, rows)
    marker = data_dir / "bench-crm.json"
    wanted = {**asdict(sizes), "layout": crm_layout_hash()}
    if marker.exists() and {k: v for k, v in json.loads(marker.read_text()).items()
                            if k in wanted} == wanted:  # fmt: skip
        return data_dir
    paths = crm_files(work_dir, rows, sizes)
    seconds = load_embedded(data_dir, paths)
    marker.write_text(json.dumps({**wanted, "seconds": seconds}))
    return data_dir


def load_embedded(data_dir: Path, paths: dict[str, Path]) -> dict[str, float]:
    """Load the three exports into `data_dir`'s embedded store (replace), seconds each."""
    from core.stores.embedded import EmbeddedStore
    from core.stores.pipeline import pipeline_of
    from ingest.activities import ingest_activities
    from ingest.opportunities import ingest_deals
    from ingest.pipeline import IngestResult
    from ingest.stages import ingest_stages

    sales = EmbeddedStore(data_dir / "sales")
    pipeline = pipeline_of(sales)
    loads: dict[str, tuple[Callable[..., IngestResult], object]] = {
        "deals": (ingest_deals, pipeline),
        "stages": (ingest_stages, pipeline.stages),
        "activities": (ingest_activities, pipeline.activities),
    }
    seconds = {}
    for name, (ingest, store) in loads.items():
        result = ingest(paths[name], store, mode="replace", timezone=sales.timezone)
        if not result.ok:
            failures = result.prepared.failures.head(5)
            raise RuntimeError(f"the bench CRM's {name} failed validation: {failures}")
        seconds[name] = round(result.seconds, 2)
        print(f"  loaded {result.prepared.rows:,} {name} in {result.seconds:.1f} s")
    return seconds
