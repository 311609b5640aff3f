"""A CRM export of deals consistent with a generated sales sample.

Business customers (Corporate and Wholesale) buy through a sales process:
some of their largest invoices are the won deals that became them (the
deal carries the `invoice_id`, its amount is the invoice's net sales, it
closed on the invoice's day). Beside each salesperson's wins are the deals
they lost, at a win rate of their own moved by the lead source, with a
reason, and the deals still open, most of them recent and a few stuck. A
deal's cycle is drawn from a log-normal around three weeks; visits and
referrals win more often than the website. Stage names follow a typical
B2B pipeline as a CRM exports it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np
import polars as pl

from core.opportunities import CANONICAL_COLUMNS

OPEN_STAGES: tuple[str, ...] = ("Lead", "Qualified", "Site visit", "Quotation sent", "Negotiation")
# Open deals per stage: most are early, fewer reach the later stages.
OPEN_STAGE_WEIGHTS: tuple[float, ...] = (0.32, 0.25, 0.18, 0.15, 0.10)
WON_STAGE, LOST_STAGE = "Closed Won", "Closed Lost"
# Lead source: (share of deals, how much more or less often its deals are won).
LEAD_SOURCES: dict[str, tuple[float, float]] = {
    "Referral": (0.22, 1.35),
    "Field visit": (0.20, 1.20),
    "Walk-in": (0.18, 1.00),
    "Repeat customer": (0.15, 1.45),
    "Phone enquiry": (0.13, 0.85),
    "Website": (0.12, 0.60),
}
LOST_REASONS: dict[str, float] = {
    "Price too high": 0.34,
    "Went with a competitor": 0.24,
    "No budget": 0.15,
    "No decision": 0.13,
    "Out of stock": 0.08,
    "Delivery time": 0.06,
}
BUSINESS_TYPES = ("Corporate", "Wholesale")
# The share of business customers' invoices at or above this quantile of value that
# were won deals; capped so the CRM stays a CRM's size at ten million lines.
LARGE_INVOICE_QUANTILE = 0.6
WON_SHARE_OF_LARGE = 0.25
MAX_WON = 4_000
# Salespeople's own win rates are drawn from this range.
WIN_RATE_RANGE = (0.28, 0.55)
# Days from creation to close: log-normal with this median and spread.
CYCLE_MEDIAN_DAYS, CYCLE_SIGMA = 21.0, 0.6
# Open deals: as many per won deal as a pipeline of about two months holds.
OPEN_PER_WON = 0.18
STUCK_SHARE = 0.12  # open deals left far longer than a cycle


def _net(lines: pl.DataFrame) -> pl.Expr:
    return pl.col("quantity") * pl.col("unit_price") - pl.col("quantity").sign() * pl.col(
        "discount"
    )


def _won_invoices(lines: pl.DataFrame, today: date, rng: np.random.Generator) -> pl.DataFrame:
    invoices = (
        lines.filter(pl.col("customer_type").is_in(BUSINESS_TYPES) & (pl.col("quantity") > 0))
        .with_columns(net=_net(lines))
        .group_by("invoice_id")
        .agg(
            pl.col("sold_at").first(),
            pl.col("branch").first(),
            pl.col("salesperson").first(),
            pl.col("customer_id").first(),
            pl.col("customer_name").first(),
            pl.col("product_line").sort_by("net", descending=True).first(),
            amount=pl.col("net").sum(),
        )
        .filter(pl.col("sold_at").dt.date() < today)
        .sort("invoice_id")
    )
    if invoices.is_empty():
        return invoices
    large = invoices.filter(pl.col("amount") >= pl.col("amount").quantile(LARGE_INVOICE_QUANTILE))
    take = min(MAX_WON, int(large.height * WON_SHARE_OF_LARGE))
    chosen = np.sort(rng.choice(large.height, size=take, replace=False))
    return large[chosen]


def _cycle_days(n: int, rng: np.random.Generator) -> np.ndarray:
    days = rng.lognormal(np.log(CYCLE_MEDIAN_DAYS), CYCLE_SIGMA, n)
    return np.clip(np.round(days), 1, 240).astype(np.int64)


def sample_deals(lines: pl.DataFrame, today: date, seed: int = 7) -> pl.DataFrame:
    """Deals (`core.opportunities.CANONICAL_COLUMNS`, local naive times) for canonical
    sales `lines`: won deals that became invoices, lost and open deals beside them."""
    rng = np.random.default_rng(seed)
    won = _won_invoices(lines, today, rng)
    if won.is_empty():
        return pl.DataFrame(schema=dict.fromkeys(CANONICAL_COLUMNS, pl.String))
    people = sorted(set(won["salesperson"]))
    own_rate = dict(zip(people, rng.uniform(*WIN_RATE_RANGE, len(people)), strict=True))
    sources = list(LEAD_SOURCES)
    source_share = np.array([LEAD_SOURCES[s][0] for s in sources])
    lift = np.array([LEAD_SOURCES[s][1] for s in sources])
    # A won deal's source is drawn in proportion to how often each source wins.
    won_source = rng.choice(
        len(sources), size=won.height, p=source_share * lift / (source_share * lift).sum()
    )
    rows: list[dict[str, object]] = []
    for index, deal in enumerate(won.iter_rows(named=True)):
        closed = deal["sold_at"] - timedelta(hours=int(rng.integers(1, 72)))
        created = closed - timedelta(days=int(_cycle_days(1, rng)[0]))
        rows.append(
            {
                **_shared(deal, f"W{index}"),
                "created_at": created,
                "stage": WON_STAGE,
                "closed_at": closed,
                "amount": round(deal["amount"], 2),
                "lead_source": sources[won_source[index]],
                "invoice_id": deal["invoice_id"],
            }
        )
    # Lost deals: each salesperson loses (1 - rate) / rate deals per win, on average.
    won_of = won.group_by("salesperson").len()
    reasons, reason_p = list(LOST_REASONS), np.array(list(LOST_REASONS.values()))
    amounts = won["amount"].to_numpy()
    for person, wins in won_of.sort("salesperson").iter_rows():
        rate = own_rate[person]
        mine = won.filter(pl.col("salesperson") == person)
        lost_n = int(rng.poisson(wins * (1 - rate) / rate))
        source_p = source_share / lift / (source_share / lift).sum()
        for k in range(lost_n):
            like = mine.row(int(rng.integers(0, mine.height)), named=True)
            closed_day = like["sold_at"] - timedelta(days=int(rng.integers(-20, 20)))
            closed_day = min(closed_day, datetime.combine(today - timedelta(days=1), time(16)))
            created = closed_day - timedelta(days=int(_cycle_days(1, rng)[0] * 0.8) + 1)
            lost_amount = float(rng.choice(amounts)) * float(rng.uniform(0.7, 1.4))
            rows.append(
                {
                    **_shared(like, f"L{person[:3].upper()}{k}"),
                    "created_at": created,
                    "stage": LOST_STAGE,
                    "closed_at": closed_day,
                    # Some CRMs zero a lost deal's amount; most keep the expected value.
                    "amount": 0.0 if rng.random() < 0.1 else round(lost_amount, -2),
                    "lead_source": sources[int(rng.choice(len(sources), p=source_p))],
                    "lost_reason": reasons[int(rng.choice(len(reasons), p=reason_p))],
                }
            )
    rows.extend(_open_deals(won, today, rng, sources, source_share, amounts))
    deals = pl.DataFrame(rows, infer_schema_length=None)
    for column in CANONICAL_COLUMNS:
        if column not in deals.columns:
            deals = deals.with_columns(pl.lit(None, pl.String).alias(column))
    ordered = deals.select(CANONICAL_COLUMNS).sort("created_at", "opportunity_id")
    return ordered.with_columns(
        opportunity_id=pl.format(
            "OPP-{}", pl.int_range(1, ordered.height + 1).cast(pl.String).str.zfill(6)
        )
    )


def _shared(deal: dict[str, object], suffix: str) -> dict[str, object]:
    """The columns a deal takes from the invoice it stands beside."""
    return {
        "opportunity_id": suffix,
        "opportunity_name": f"{deal['customer_name']} - {deal['product_line']}",
        "salesperson": deal["salesperson"],
        "branch": deal["branch"],
        "customer_id": deal["customer_id"],
        "customer_name": deal["customer_name"],
        "product_line": deal["product_line"],
    }


def _open_deals(
    won: pl.DataFrame,
    today: date,
    rng: np.random.Generator,
    sources: list[str],
    source_share: np.ndarray,
    amounts: np.ndarray,
) -> list[dict[str, object]]:
    """Deals open today: most created in the last two months, a few stuck for long."""
    n = max(1, int(won.height * OPEN_PER_WON))
    rows = []
    for k in range(n):
        like = won.row(int(rng.integers(0, won.height)), named=True)
        stuck = rng.random() < STUCK_SHARE
        age = int(rng.integers(61, 300)) if stuck else int(rng.integers(0, 60))
        created = datetime.combine(today - timedelta(days=age + 1), time(10))
        stage = OPEN_STAGES[int(rng.choice(len(OPEN_STAGES), p=OPEN_STAGE_WEIGHTS))]
        expected = today + timedelta(days=int(rng.integers(3, 45)))
        rows.append(
            {
                **_shared(like, f"O{k}"),
                "created_at": created,
                "stage": stage,
                "amount": round(float(rng.choice(amounts)) * float(rng.uniform(0.6, 1.5)), -2),
                "lead_source": sources[int(rng.choice(len(sources), p=source_share))],
                "expected_close": expected,
            }
        )
    return rows


def deals_csv(deals: pl.DataFrame) -> bytes:
    """The deals as a CRM's CSV export: ISO times, empty cells for what a deal lacks."""
    return (
        deals.with_columns(
            pl.col("created_at", "closed_at").dt.strftime("%Y-%m-%d %H:%M:%S"),
            pl.col("expected_close").cast(pl.Date, strict=False).dt.strftime("%Y-%m-%d"),
        )
        .write_csv()
        .encode("utf-8")
    )
