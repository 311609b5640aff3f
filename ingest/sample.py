"""Synthetic invoice lines for a multi-branch Kenyan distributor.

`generate_sales` returns a frame in the project's canonical sales-line columns
(`SALES_SCHEMA`); `python -m ingest.sample --rows N --seed S --out FILE` writes
one to parquet, csv or xlsx. Everything is drawn from one
`numpy.random.default_rng(seed)` with vectorised numpy/polars operations, so the
same arguments give the same frame and ten million rows take seconds.

The data is shaped for analysis: weekly and seasonal demand, school-term
stationery peaks, inflation, customers who arrive, buy repeatedly (heavy-tailed)
and churn, salespeople who differ and a few who change branch, returns, and
margins that differ by product line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from ingest.sample_catalogue import (
    PRODUCT_LINES,
    BoolArray,
    Catalogue,
    FloatArray,
    IntArray,
    product_catalogue,
)

Rng = np.random.Generator

NAIROBI = ZoneInfo("Africa/Nairobi")

SALES_SCHEMA = pl.Schema(
    {
        "invoice_id": pl.String(),
        "line_no": pl.Int64(),
        "sold_at": pl.Datetime("us"),
        "branch": pl.String(),
        "salesperson": pl.String(),
        "customer_id": pl.String(),
        "customer_name": pl.String(),
        "customer_type": pl.String(),
        "product_id": pl.String(),
        "product_name": pl.String(),
        "product_line": pl.String(),
        "quantity": pl.Float64(),
        "unit_price": pl.Float64(),
        "unit_cost": pl.Float64(),
        "discount": pl.Float64(),
        "payment_method": pl.String(),
    }
)
"""Column names and dtypes of a generated frame, in order; `sold_at` is naive Nairobi time."""

SECONDS_PER_DAY = 86_400
MICROS_PER_SECOND = 1_000_000
WRITERS = (".parquet", ".csv", ".xlsx")
EXCEL_MAX_ROWS = 1_048_575  # an Excel sheet holds 1,048,576 rows, one of them the header

# --------------------------------------------------------------------------------------
# Branches and staff
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Branch:
    """A selling branch: display name, invoice-number prefix and share of the business."""

    name: str
    code: str
    share: float


BRANCHES: tuple[Branch, ...] = (
    Branch("Nairobi CBD", "NRB", 0.26),  # flagship: the biggest branch
    Branch("Nairobi Westlands", "WST", 0.15),  # second Nairobi outlet, upmarket
    Branch("Mombasa", "MSA", 0.17),  # coast hub, the second city
    Branch("Kisumu", "KSM", 0.12),  # lake region hub
    Branch("Nakuru", "NKR", 0.11),  # Rift Valley, mid-sized
    Branch("Eldoret", "ELD", 0.11),  # North Rift, mid-sized
    Branch("Thika", "THK", 0.08),  # satellite town, the smallest
)
BRANCH_INDEX = {branch.name: i for i, branch in enumerate(BRANCHES)}


@dataclass(frozen=True)
class Salesperson:
    """A member of the sales team.

    `volume` scales their share of their branch's invoices; `generosity` scales
    how often and how deeply they discount. A mover works at `branch` until
    `moves_at` (a fraction of the generated date range) and at `moves_to` after.
    """

    name: str
    branch: str
    volume: float
    generosity: float
    moves_to: str | None = None
    moves_at: float = 1.0


# volume 0.6-1.6 and generosity 0.5-1.8: top sellers sell ~2.5x the weakest,
# and the most generous discount ~3.5x as much as the strictest.
SALESPEOPLE: tuple[Salesperson, ...] = (
    Salesperson("Wanjiku Kamau", "Nairobi CBD", 1.6, 0.8),
    Salesperson("Mwangi Njoroge", "Nairobi CBD", 1.2, 1.5),
    Salesperson("Mutua Musyoka", "Nairobi CBD", 0.9, 1.0),
    Salesperson("Njeri Wambui", "Nairobi CBD", 1.1, 0.6),
    Salesperson("Kariuki Maina", "Nairobi CBD", 1.0, 1.2, "Thika", 0.62),
    Salesperson("Omondi Ochieng", "Nairobi CBD", 1.3, 1.1, "Kisumu", 0.38),
    Salesperson("Nyambura Mwangi", "Nairobi Westlands", 1.4, 0.7),
    Salesperson("Wairimu Ndungu", "Nairobi Westlands", 0.8, 1.3),
    Salesperson("Zawadi Mwende", "Nairobi Westlands", 1.0, 0.9),
    Salesperson("Priya Shah", "Nairobi Westlands", 1.2, 0.5),
    Salesperson("Fatuma Hassan", "Mombasa", 1.5, 1.0),
    Salesperson("Halima Abdallah", "Mombasa", 0.9, 0.8),
    Salesperson("Mohamed Ali", "Mombasa", 1.1, 1.6),
    Salesperson("Juma Bakari", "Mombasa", 0.7, 1.2),
    Salesperson("Otieno Odhiambo", "Kisumu", 1.2, 1.8),
    Salesperson("Achieng Atieno", "Kisumu", 1.0, 0.7),
    Salesperson("Akinyi Adhiambo", "Kisumu", 0.8, 1.0),
    Salesperson("Onyango Okoth", "Kisumu", 0.6, 1.4),
    Salesperson("Kibet Rotich", "Nakuru", 1.3, 0.9),
    Salesperson("Wafula Barasa", "Nakuru", 0.9, 1.3),
    Salesperson("Cheruiyot Langat", "Nakuru", 0.8, 0.6),
    Salesperson("Kiprop Kipchoge", "Eldoret", 1.4, 1.1),
    Salesperson("Chebet Jepkosgei", "Eldoret", 1.0, 0.8),
    Salesperson("Jepchirchir Kosgei", "Eldoret", 0.7, 1.5),
    Salesperson("Naliaka Wekesa", "Eldoret", 0.9, 1.0, "Nakuru", 0.5),
    Salesperson("Kamau Githinji", "Thika", 1.1, 1.2),
    Salesperson("Mueni Nduku", "Thika", 0.8, 0.9),
)

# --------------------------------------------------------------------------------------
# Customers
# --------------------------------------------------------------------------------------

CUSTOMER_TYPES = ("Retail", "Wholesale", "Corporate")
WALK_IN = len(CUSTOMER_TYPES)  # category index of walk-in sales, after the named types
N_CATEGORIES = WALK_IN + 1

CUSTOMERS_PER_ROW = 1 / 150  # a registered customer for every ~150 lines sold
MIN_CUSTOMERS, MAX_CUSTOMERS = 300, 50_000  # a real base even for tiny samples; capped
CUSTOMER_TYPE_SHARE = (0.75, 0.17, 0.08)  # most accounts are small shops
ORDER_RATE_BY_TYPE = (1.0, 1.8, 1.4)  # wholesalers and institutions reorder more often
SPEND_PARETO_SHAPE = 1.5  # heavy tail: a fifth of customers bring most of the sales
SPEND_WEIGHT_CAP = 25.0  # the biggest account is a few percent of invoices, not a branch
EXISTING_CUSTOMER_SHARE = 0.35  # already customers when the range starts
EXISTING_MAX_TENURE_DAYS = 730  # those joined up to two years before the range
ARRIVAL_SKEW = 0.85  # u**0.85 > u: sign-ups speed up as the business grows
CHURN_SHARE = 0.30  # customers who stop buying at some point in the range
MIN_DAYS_BEFORE_CHURN = 30  # a churner buys for at least a month
NEVER = 1 << 40  # a churn day past any range
HOME_BRANCH_LOYALTY = 0.93  # share of an account's invoices at its home branch
GOLDEN_RATIO_STEP = 0.6180339887498949  # low-discrepancy spread of big accounts over branches
WALK_IN_SHARE = 0.20  # share of invoices with no registered customer
CHURN_REDRAWS = 8  # redraws of a churned pick; (churned weight share)**8 is negligible

NAME_STEMS = (
    "Baraka", "Neema", "Upendo", "Tumaini", "Jamii", "Kilimani", "Karibu", "Amani",
    "Faraja", "Zawadi", "Imani", "Bidii", "Uhuru", "Harambee", "Pwani", "Mlimani",
    "Savannah", "Twiga", "Simba", "Tembo", "Jua Kali", "Mama Njeri", "Mama Akinyi",
    "Baba Otieno", "Mzee Kiprono", "Mama Wanjiru", "Kwa Mwangi", "Nyota", "Sifa",
    "Furaha", "Rehema", "Kheri", "Bahati", "Mwangaza", "Lakeside", "Highway",
    "Eastleigh", "Gikomba", "Kondele", "Nyali", "Likoni", "Langas", "Kapsoya", "Lanet",
    "Makongeni", "Githurai", "Kasarani", "Rongai", "Ngara", "Kawangware", "Milimani",
    "Bondeni", "Shanzu", "Kisauni", "Ruaraka", "Umoja", "Kayole", "Donholm", "Ruiru",
    "Juja", "Mama Mboga", "Kibanda", "Wema", "Tulivu", "Msingi", "Riziki", "Fanaka",
    "Jirani", "Kijiji", "Nuru", "Mvule", "Mkomboti", "Kapsabet", "Iten", "Maseno",
)  # fmt: skip
NAME_KINDS: tuple[tuple[str, ...], ...] = (
    (
        "Shop", "Minimart", "General Stores", "Duka", "Kiosk", "Mini Supermarket",
        "Cosmetics", "Stationers", "Hardware",
    ),
    (
        "Wholesalers", "Distributors", "Traders", "Supermarket", "Hardware Ltd",
        "Cash & Carry", "Agencies", "Enterprises",
    ),
    (
        "Hotel", "Academy", "Hospital", "Sacco", "Construction Ltd", "Catering Services",
        "Secondary School", "Lodge", "Investments Ltd", "Medical Centre",
    ),
)  # fmt: skip

# Per customer category, in the order (Retail, Wholesale, Corporate, walk-in):
EXTRA_LINES_MEAN = (1.3, 3.5, 3.0, 0.6)  # mean lines per invoice beyond the first
MAX_LINES = 8  # a till slip holds at most eight lines
EXTRA_QTY_MEAN = (1.2, 8.0, 4.0, 0.4)  # mean units per line beyond the first
DISCOUNT_PROBABILITY = (0.08, 0.35, 0.25, 0.03)  # wholesale haggles most, walk-ins rarely
DISCOUNT_DEPTH = (1.0, 1.3, 1.1, 0.8)  # wholesale gets deeper cuts
BULK_PACK_PREFERENCE = (0.4, 3.0, 1.0, 0.1)  # how much more likely a carton/bale is picked

PAYMENT_METHODS = ("M-Pesa", "Cash", "Card", "Bank transfer", "Credit")
PAYMENT_MIX = np.array(
    [
        [0.62, 0.20, 0.08, 0.05, 0.05],  # Retail: mobile money first
        [0.40, 0.10, 0.05, 0.25, 0.20],  # Wholesale: big tickets go by bank or on account
        [0.15, 0.02, 0.13, 0.35, 0.35],  # Corporate: invoiced, paid by transfer or credit
        [0.62, 0.30, 0.08, 0.00, 0.00],  # walk-in: no account, so no credit
    ]
)

# --------------------------------------------------------------------------------------
# Calendar
# --------------------------------------------------------------------------------------

WEEKDAY_FACTOR = np.array([0.95, 0.92, 0.95, 1.0, 1.12, 1.35, 0.45])  # Mon..Sun: busy Sat
MONTH_FACTOR = np.array(
    [0.92, 0.80, 0.93, 0.97, 0.95, 0.95, 0.97, 1.0, 0.98, 1.0, 1.05, 1.35]
)  # Jan..Dec: lean "Njanuary", February dip, December festive peak
PAYDAY_FACTOR = 1.10  # salaries land at month end: busier from the 25th to the 3rd
VOLUME_GROWTH = 0.08  # yearly growth in invoice count
DAILY_NOISE_SIGMA = 0.10  # day-to-day randomness around the profile
HOLIDAY_FACTOR: dict[tuple[int, int], float] = {
    (1, 1): 0.30,  # New Year's Day
    (5, 1): 0.60,  # Labour Day
    (6, 1): 0.70,  # Madaraka Day
    (10, 10): 0.80,  # Utamaduni Day
    (10, 20): 0.70,  # Mashujaa Day
    (12, 12): 0.70,  # Jamhuri Day
    (12, 24): 1.30,  # Christmas Eve rush
    (12, 25): 0.15,  # Christmas Day: most shops shut
    (12, 26): 0.50,  # Boxing Day
}
# Relative invoices per hour 00..23: open 07:00-21:00, lunch and evening peaks,
# and a thin tail of late sales up to midnight so time-zone edge cases exist.
HOUR_PROFILE = np.array(
    [0, 0, 0, 0, 0, 0, 0, 3, 6, 8, 9, 9, 8, 8, 8, 8, 8, 9, 9, 6, 4, 1.2, 0.6, 0.3]
)
INFLATION = 0.06  # yearly price increase, applied to the price list monthly

# --------------------------------------------------------------------------------------
# What a line holds (the products themselves: ingest/sample_catalogue.py)
# --------------------------------------------------------------------------------------

PRODUCT_DEDUP_ROUNDS = 3  # redraws of a product already on the same invoice

QTY_REFERENCE_PRICE = 300.0  # KES; dearer products sell in fewer units per line
QTY_PRICE_ELASTICITY = 0.5  # units scale with (reference / price) ** 0.5
QTY_PRICE_FACTOR_RANGE = (0.05, 2.0)  # cheap goods at most double, dear ones still sell
RETURN_SHARE = 0.015  # share of lines that are returns (negative quantity)
DISCOUNT_RATE_RANGE = (0.02, 0.10)  # usual discount as a share of line value
DISCOUNT_MARGIN_CAP = 0.7  # a discount never gives away more than 70% of the margin

# --------------------------------------------------------------------------------------
# Master data built from the tables above
# --------------------------------------------------------------------------------------


def line_weights_by_category_and_month() -> FloatArray:
    """Basket weight of each product line, rows grouped as category * 12 + month."""
    mix = np.array([line.mix for line in PRODUCT_LINES]).T  # (category, line)
    season = np.array([line.season for line in PRODUCT_LINES]).T  # (month, line)
    weights: FloatArray = (mix[:, None, :] * season[None, :, :]).reshape(
        N_CATEGORIES * 12, len(PRODUCT_LINES)
    )
    return weights


def product_weights_by_line_and_category(catalogue: Catalogue) -> FloatArray:
    """Pick weight of each product by its position within its line.

    Rows are grouped as product line * N_CATEGORIES + category; column j is the
    line's j-th product (catalogue products are stored line by line), zero past
    the line's end. Keeping the table narrow keeps the sampling search in cache.
    """
    first = catalogue.first_of_line
    counts = np.diff(first, append=catalogue.size)
    position = np.arange(counts.max())
    exists = position[None, :] < counts[:, None]  # (line, position)
    product = np.where(exists, first[:, None] + position[None, :], 0)
    pack_pref = np.where(
        catalogue.bulk[product][:, None, :], np.array(BULK_PACK_PREFERENCE)[None, :, None], 1.0
    )  # (line, category, position)
    weights = (exists * catalogue.popularity[product])[:, None, :] * pack_pref
    return weights.reshape(len(PRODUCT_LINES) * N_CATEGORIES, counts.max())


@dataclass(frozen=True)
class Roster:
    """Who sells where: salesperson weights per (branch, period) between branch moves."""

    move_days: IntArray
    weights: FloatArray  # rows grouped as branch * n_periods + period

    @property
    def n_periods(self) -> int:
        """Periods between moves: one more than the number of move days."""
        return len(self.move_days) + 1


def build_roster(n_days: int) -> Roster:
    """Salesperson weights per branch for each stretch between branch moves."""
    move_days = np.unique(
        [round(person.moves_at * n_days) for person in SALESPEOPLE if person.moves_to]
    ).astype(np.int64)
    n_periods = len(move_days) + 1
    weights = np.zeros((len(BRANCHES), n_periods, len(SALESPEOPLE)))
    for s, person in enumerate(SALESPEOPLE):
        move_day = round(person.moves_at * n_days)
        for period in range(n_periods):
            period_start = -1 if period == 0 else move_days[period - 1]
            moved = person.moves_to is not None and move_day <= period_start
            branch = person.moves_to if moved and person.moves_to else person.branch
            weights[BRANCH_INDEX[branch], period, s] = person.volume
    if (weights.sum(axis=2) == 0).any():
        raise ValueError("every branch needs a salesperson in every period")
    return Roster(move_days, weights.reshape(len(BRANCHES) * n_periods, len(SALESPEOPLE)))


# --------------------------------------------------------------------------------------
# Sampling helpers
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AliasTable:
    """Walker's alias tables, one row per group, for O(1) weighted draws.

    Drawing column j of a row happens with chance ∝ that row's weight j: pick a
    column uniformly, keep it with probability `keep`, else take its `alias`.
    """

    keep: FloatArray  # (groups, items)
    alias: IntArray  # (groups, items)

    @staticmethod
    def from_weights(weights: FloatArray) -> AliasTable:
        """Tables for each row of non-negative `weights` (each row needs a positive entry)."""
        rows = [alias_row(row) for row in np.asarray(weights, dtype=np.float64)]
        return AliasTable(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]))

    def sample(self, groups: IntArray, rng: Rng) -> IntArray:
        """One column per entry of `groups`, drawn from that group's row."""
        n_items = self.keep.shape[1]
        scaled = rng.random(groups.size) * n_items
        column = np.minimum(scaled.astype(np.int64), n_items - 1)
        cell = groups * n_items + column
        kept = scaled - column < self.keep.ravel()[cell]  # the fraction is a fresh uniform
        drawn: IntArray = np.where(kept, column, self.alias.ravel()[cell])
        return drawn


def alias_row(weights: FloatArray) -> tuple[FloatArray, IntArray]:
    """Vose's construction of one alias row (loops over the row's few items only)."""
    n = weights.size
    scaled = weights * n / weights.sum()
    keep = np.ones(n)
    alias = np.arange(n, dtype=np.int64)
    small = [i for i in range(n) if scaled[i] < 1.0]
    large = [i for i in range(n) if scaled[i] >= 1.0]
    while small and large:
        lo, hi = small.pop(), large.pop()
        keep[lo], alias[lo] = scaled[lo], hi
        scaled[hi] += scaled[lo] - 1.0
        (small if scaled[hi] < 1.0 else large).append(hi)
    return keep, alias  # leftovers differ from 1.0 by rounding only, and keep 1.0


def sample_within_groups(groups: IntArray, weights: FloatArray, rng: Rng) -> IntArray:
    """For each entry of `groups`, draw a column of `weights` with chance ∝ `weights[group]`."""
    return AliasTable.from_weights(weights).sample(groups, rng)


def sample_categorical(n: int, weights: Sequence[float] | FloatArray, rng: Rng) -> IntArray:
    """`n` draws of an index with chance ∝ `weights`."""
    return sample_within_groups(np.zeros(n, dtype=np.int64), np.asarray([weights], float), rng)


# --------------------------------------------------------------------------------------
# Calendar
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calendar:
    """Every day of the range with its relative invoice volume."""

    epoch_day: IntArray  # days since 1970-01-01
    weights: FloatArray
    month_of_year: IntArray  # 0 = January
    month_index: IntArray  # months since the range's first month

    @property
    def n_days(self) -> int:
        """Days in the range."""
        return len(self.epoch_day)


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar date `years` earlier (29 February falls back to the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def holiday_factor(month: IntArray, day_of_month: IntArray) -> FloatArray:
    """Demand multiplier for public holidays (1.0 on ordinary days)."""
    factor = np.ones(month.size)
    for (hol_month, hol_day), value in HOLIDAY_FACTOR.items():
        factor[(month == hol_month) & (day_of_month == hol_day)] = value
    return factor


def build_calendar(end: dt.date, years: int, rng: Rng) -> Calendar:
    """Days from `years` before `end` (exclusive) to `end`, weighted by demand."""
    start = np.datetime64(years_before(end, years) + dt.timedelta(days=1), "D")
    dates = np.arange(start, np.datetime64(end, "D") + 1, dtype="datetime64[D]")
    months = dates.astype("datetime64[M]")
    epoch_day = dates.astype(np.int64)
    month_of_year = months.astype(np.int64) % 12
    day_of_month = (dates - months.astype("datetime64[D]")).astype(np.int64) + 1
    weekday = (epoch_day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    payday = (day_of_month >= 25) | (day_of_month <= 3)  # salaries paid around month end
    elapsed_years = (epoch_day - epoch_day[0]) / 365.25
    weights = (
        WEEKDAY_FACTOR[weekday]
        * MONTH_FACTOR[month_of_year]
        * np.where(payday, PAYDAY_FACTOR, 1.0)
        * holiday_factor(month_of_year + 1, day_of_month)
        * (1 + VOLUME_GROWTH) ** elapsed_years
        * rng.lognormal(0.0, DAILY_NOISE_SIGMA, dates.size)
    )
    month_index = months.astype(np.int64) - months[0].astype(np.int64)
    return Calendar(epoch_day, weights, month_of_year, month_index)


# --------------------------------------------------------------------------------------
# Customers
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Customers:
    """Registered customers sorted by acquisition day (the ids follow that order).

    The text columns carry one extra trailing null entry that walk-in sales point to.
    """

    acquired_day: IntArray  # negative: a customer from before the range
    churn_day: IntArray  # last day they may buy (NEVER for loyal customers)
    cumulative_weight: FloatArray  # running sum of purchase frequency weights
    kind: IntArray  # index into CUSTOMER_TYPES
    home_branch: IntArray
    ids: pl.Series
    names: pl.Series
    types: pl.Series

    @property
    def size(self) -> int:
        """How many registered customers there are."""
        return len(self.acquired_day)

    def kind_weight_share(self) -> FloatArray:
        """Share of the purchase frequency weight held by each customer type."""
        weights = np.diff(self.cumulative_weight, prepend=0.0)
        by_kind = np.bincount(self.kind, weights=weights, minlength=len(CUSTOMER_TYPES))
        return np.asarray(by_kind / by_kind.sum(), dtype=np.float64)


def customer_count(rows: int) -> int:
    """Size of the customer base for a sample of `rows` lines."""
    return int(np.clip(round(rows * CUSTOMERS_PER_ROW), MIN_CUSTOMERS, MAX_CUSTOMERS))


def draw_acquisition_days(n: int, n_days: int, rng: Rng) -> IntArray:
    """Acquisition day per customer: an existing base, then arrivals that speed up."""
    existing = rng.random(n) < EXISTING_CUSTOMER_SHARE
    before_range = -rng.integers(1, EXISTING_MAX_TENURE_DAYS, n)
    arrived = np.floor(n_days * rng.random(n) ** ARRIVAL_SKEW).astype(np.int64)
    return np.where(existing, before_range, arrived)


def draw_churn_days(acquired_day: IntArray, n_days: int, rng: Rng) -> IntArray:
    """Churn day per customer: about CHURN_SHARE stop at a random day after joining."""
    n = acquired_day.size
    first_day = np.maximum(acquired_day, 0) + MIN_DAYS_BEFORE_CHURN
    churn = first_day + np.floor(rng.random(n) * np.maximum(n_days - first_day, 1))
    return np.where(rng.random(n) < CHURN_SHARE, churn.astype(np.int64), NEVER)


def spread_home_branches(weights: FloatArray, rng: Rng) -> IntArray:
    """Home branch per customer, spreading the biggest accounts evenly over branch shares."""
    by_size = np.argsort(-weights, kind="stable")
    positions = (rng.random() + np.arange(weights.size) * GOLDEN_RATIO_STEP) % 1.0
    shares = np.cumsum([branch.share for branch in BRANCHES])
    branch_by_rank = np.minimum(
        np.searchsorted(shares / shares[-1], positions, side="right"), len(BRANCHES) - 1
    )
    home = np.empty(weights.size, dtype=np.int64)
    home[by_size] = branch_by_rank
    return home


def customer_names(kind: IntArray, rng: Rng) -> pl.Series:
    """Business names such as "Baraka Hardware Ltd", built from word lists by type."""
    stems = pl.Series(NAME_STEMS).gather(rng.integers(0, len(NAME_STEMS), kind.size))
    kinds = pl.Series([name for names in NAME_KINDS for name in names])
    offsets = np.cumsum([0, *(len(names) for names in NAME_KINDS)])[kind]
    sizes = np.array([len(names) for names in NAME_KINDS])[kind]
    picked = kinds.gather(offsets + np.floor(rng.random(kind.size) * sizes).astype(np.int64))
    return stems + " " + picked


def build_customers(n: int, n_days: int, rng: Rng) -> Customers:
    """A customer base with types, heavy-tailed spend, arrival and churn days."""
    kind = sample_categorical(n, CUSTOMER_TYPE_SHARE, rng)
    spend = np.minimum(rng.pareto(SPEND_PARETO_SHAPE, n) + 1.0, SPEND_WEIGHT_CAP)
    weight = spend * np.asarray(ORDER_RATE_BY_TYPE)[kind]
    acquired = draw_acquisition_days(n, n_days, rng)
    churn = draw_churn_days(acquired, n_days, rng)
    home = spread_home_branches(weight, rng)
    names = customer_names(kind, rng)
    order = np.argsort(acquired, kind="stable")
    acquired = acquired[order]
    acquired[0] = min(acquired[0], 0)  # someone is always there to buy on the first day
    ids = "C" + pl.Series(np.arange(1, n + 1)).cast(pl.String).str.zfill(6)  # C000123
    return Customers(
        acquired_day=acquired,
        churn_day=churn[order],
        cumulative_weight=np.cumsum(weight[order]),
        kind=kind[order],
        home_branch=home[order],
        ids=ids.extend_constant(None, 1),
        names=names.gather(order).extend_constant(None, 1),
        types=pl.Series(CUSTOMER_TYPES).gather(kind[order]).extend_constant(None, 1),
    )


# --------------------------------------------------------------------------------------
# Invoices
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invoices:
    """Invoice-level attributes, one array entry per invoice."""

    day: IntArray  # index into the calendar
    second: IntArray  # seconds after local midnight
    customer: IntArray  # index into Customers, -1 for a walk-in
    category: IntArray  # customer type index, WALK_IN for a walk-in
    branch: IntArray
    salesperson: IntArray
    payment: IntArray
    n_lines: IntArray

    def take(self, index: IntArray | slice) -> Invoices:
        """The invoices at `index`, in that order."""
        return Invoices(*(getattr(self, f.name)[index] for f in fields(self)))

    @staticmethod
    def concat(parts: Sequence[Invoices]) -> Invoices:
        """Invoices of all `parts`, one after another."""
        return Invoices(
            *(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Invoices))
        )


def expected_lines_per_invoice(customers: Customers) -> float:
    """Mean lines per invoice implied by the category mix and the line-count model."""
    registered = customers.kind_weight_share() * (1 - WALK_IN_SHARE)
    mix = np.append(registered, WALK_IN_SHARE)
    keep = 1 - 1 / (1 + np.asarray(EXTRA_LINES_MEAN))  # geometric: P(another line)
    capped = (1 - keep**MAX_LINES) / (1 - keep)  # E[min(geometric, MAX_LINES)]
    return float(mix @ capped)


def draw_time_of_day(n: int, rng: Rng) -> IntArray:
    """Seconds after midnight following the hourly trading profile."""
    hour = sample_categorical(n, HOUR_PROFILE, rng)
    return hour * 3600 + rng.integers(0, 3600, n)


def draw_days_and_times(n: int, calendar: Calendar, cutoff: int | None, rng: Rng) -> IntArray:
    """Day index and second of day per invoice, as a (2, n) array.

    A sale on the last day later than `cutoff` (seconds, the current time when the
    range ends today) would be in the future: it moves to an earlier day instead.
    """
    day = sample_categorical(n, calendar.weights, rng)
    second = draw_time_of_day(n, rng)
    if cutoff is not None:
        future = np.flatnonzero((day == calendar.n_days - 1) & (second > cutoff))
        day[future] = sample_categorical(future.size, calendar.weights[:-1], rng)
    return np.stack([day, second])


def sample_active_customer(day: IntArray, customers: Customers, rng: Rng) -> IntArray:
    """A customer per day, weighted by spend among those acquired by that day."""
    acquired_count = np.searchsorted(customers.acquired_day, day, side="right")
    reachable = customers.cumulative_weight[acquired_count - 1]
    pick = np.searchsorted(customers.cumulative_weight, rng.random(day.size) * reachable, "right")
    return np.minimum(pick, acquired_count - 1).astype(np.int64)


def assign_customers(day: IntArray, customers: Customers, rng: Rng) -> IntArray:
    """Customer per invoice (-1 for walk-ins); churned customers are redrawn."""
    customer = np.full(day.size, -1, dtype=np.int64)
    pending = np.flatnonzero(rng.random(day.size) >= WALK_IN_SHARE)
    for _ in range(CHURN_REDRAWS):  # a few rounds over all pending invoices at once
        if pending.size == 0:
            break
        picked = sample_active_customer(day[pending], customers, rng)
        active = customers.churn_day[picked] >= day[pending]
        customer[pending[active]] = picked[active]
        pending = pending[~active]
    return customer  # the rare invoice still pending stays a walk-in


def assign_branches(customer: IntArray, customers: Customers, rng: Rng) -> IntArray:
    """Branch per invoice: mostly the customer's home branch, walk-ins by branch share."""
    anywhere = sample_categorical(customer.size, [b.share for b in BRANCHES], rng)
    at_home = (customer >= 0) & (rng.random(customer.size) < HOME_BRANCH_LOYALTY)
    return np.where(at_home, customers.home_branch[customer], anywhere)


def draw_invoices(
    n: int, calendar: Calendar, customers: Customers, roster: Roster, cutoff: int | None, rng: Rng
) -> Invoices:
    """`n` independent invoices with every invoice-level attribute."""
    day, second = draw_days_and_times(n, calendar, cutoff, rng)
    customer = assign_customers(day, customers, rng)
    category = np.where(customer >= 0, customers.kind[customer], WALK_IN)
    branch = assign_branches(customer, customers, rng)
    period = np.searchsorted(roster.move_days, day, side="right")
    salesperson = sample_within_groups(branch * roster.n_periods + period, roster.weights, rng)
    payment = sample_within_groups(category, PAYMENT_MIX, rng)
    stop_chance = 1 / (1 + np.asarray(EXTRA_LINES_MEAN)[category])
    n_lines = np.minimum(rng.geometric(stop_chance), MAX_LINES).astype(np.int64)
    return Invoices(day, second, customer, category, branch, salesperson, payment, n_lines)


def draw_invoices_for_rows(
    rows: int,
    calendar: Calendar,
    customers: Customers,
    roster: Roster,
    cutoff: int | None,
    rng: Rng,
) -> Invoices:
    """Invoices holding exactly `rows` lines, sorted by time.

    Invoices are independent draws, so batches are drawn until they hold enough
    lines, then the list is cut at `rows` lines (the last invoice may lose lines).
    """
    per_invoice = expected_lines_per_invoice(customers)
    batches: list[Invoices] = []
    held = 0
    while held < rows:  # almost always one batch: it is drawn with a 3% margin
        n = math.ceil((rows - held) / per_invoice * 1.03) + 16  # margin for sampling noise
        batches.append(draw_invoices(n, calendar, customers, roster, cutoff, rng))
        held += int(batches[-1].n_lines.sum())
    invoices = Invoices.concat(batches)
    cumulative = np.cumsum(invoices.n_lines)
    last = int(np.searchsorted(cumulative, rows))
    invoices = invoices.take(slice(0, last + 1))
    invoices.n_lines[last] -= cumulative[last] - rows
    return invoices.take(
        np.argsort(invoices.day * SECONDS_PER_DAY + invoices.second, kind="stable")
    )


# --------------------------------------------------------------------------------------
# Lines
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lines:
    """Line-level draws, one array entry per line."""

    invoice: IntArray  # index into Invoices
    line_no: IntArray
    product: IntArray
    quantity: FloatArray
    unit_price: FloatArray
    unit_cost: FloatArray
    discount: FloatArray


def draw_products(
    category: IntArray, month: IntArray, invoice: IntArray, catalogue: Catalogue, rng: Rng
) -> IntArray:
    """Product per line: line by basket mix and season, product by popularity.

    A product already on the same invoice is redrawn a few times, so duplicates
    within an invoice are rare.
    """
    lines = AliasTable.from_weights(line_weights_by_category_and_month())
    products = AliasTable.from_weights(product_weights_by_line_and_category(catalogue))
    first_of_line = catalogue.first_of_line

    def draw(rows: IntArray) -> IntArray:
        line = lines.sample(category[rows] * 12 + month[rows], rng)
        return first_of_line[line] + products.sample(line * N_CATEGORIES + category[rows], rng)

    product = draw(np.arange(invoice.size))
    for _ in range(PRODUCT_DEDUP_ROUNDS):
        again = np.flatnonzero(repeats_earlier_line(invoice, product))
        if again.size == 0:
            break
        product[again] = draw(again)
    return product


def repeats_earlier_line(invoice: IntArray, product: IntArray) -> BoolArray:
    """True where a line's product already appears on an earlier line of its invoice.

    Lines of an invoice are contiguous and at most MAX_LINES long, so comparing
    each line with the MAX_LINES - 1 lines before it finds every repeat.
    """
    repeated = np.zeros(product.size, dtype=bool)
    for back in range(1, MAX_LINES):  # one vectorised comparison per distance
        repeated[back:] |= (product[back:] == product[:-back]) & (invoice[back:] == invoice[:-back])
    return repeated


def draw_quantities(
    category: IntArray, product: IntArray, catalogue: Catalogue, rng: Rng
) -> FloatArray:
    """Whole units per line, more for trade customers and cheap goods; returns are negative."""
    line_factor = np.array([line.qty_factor for line in PRODUCT_LINES])[catalogue.line[product]]
    price_factor = np.clip(
        (QTY_REFERENCE_PRICE / catalogue.price_at_end[product]) ** QTY_PRICE_ELASTICITY,
        *QTY_PRICE_FACTOR_RANGE,
    )
    extra = np.asarray(EXTRA_QTY_MEAN)[category] * line_factor * price_factor
    quantity = rng.geometric(1 / (1 + extra)).astype(np.float64)
    signed: FloatArray = np.where(rng.random(quantity.size) < RETURN_SHARE, -quantity, quantity)
    return signed


def price_list(catalogue: Catalogue, n_months: int) -> FloatArray:
    """Shelf price per (product, month), inflating towards today's prices at the end."""
    months_before_end = np.arange(n_months) - (n_months - 1)
    inflation = (1 + INFLATION) ** (months_before_end / 12)
    return np.round(catalogue.price_at_end[:, None] * inflation[None, :])


def draw_discounts(
    gross: FloatArray, margin: FloatArray, category: IntArray, generosity: FloatArray, rng: Rng
) -> FloatArray:
    """Line discount in KES: usually 0, else 2-10% of the line, never past its bounds."""
    chance = np.asarray(DISCOUNT_PROBABILITY)[category] * generosity
    given = np.flatnonzero(rng.random(gross.size) < chance)
    rate = (
        rng.uniform(*DISCOUNT_RATE_RANGE, given.size) * np.asarray(DISCOUNT_DEPTH)[category[given]]
    )
    rate = np.minimum(rate * np.sqrt(generosity[given]), DISCOUNT_MARGIN_CAP * margin[given])
    line_value = np.abs(gross[given])
    discount = np.zeros(gross.size)
    discount[given] = np.clip(np.round(rate * line_value, 2), 0.0, line_value)
    return discount


def draw_lines(invoices: Invoices, calendar: Calendar, catalogue: Catalogue, rng: Rng) -> Lines:
    """Explode invoices into lines and draw products, quantities, prices and discounts."""
    invoice = np.repeat(np.arange(invoices.n_lines.size), invoices.n_lines)
    first_line = np.cumsum(invoices.n_lines) - invoices.n_lines
    line_no = np.arange(invoice.size) - first_line[invoice] + 1
    category = invoices.category[invoice]
    day = invoices.day[invoice]
    product = draw_products(category, calendar.month_of_year[day], invoice, catalogue, rng)
    quantity = draw_quantities(category, product, catalogue, rng)
    prices = price_list(catalogue, int(calendar.month_index[-1]) + 1)
    unit_price = prices[product, calendar.month_index[day]]
    unit_cost = np.round(unit_price * (1 - catalogue.margin[product]), 2)
    generosity = np.array([person.generosity for person in SALESPEOPLE])
    discount = draw_discounts(
        quantity * unit_price,
        catalogue.margin[product],
        category,
        generosity[invoices.salesperson[invoice]],
        rng,
    )
    return Lines(invoice, line_no, product, quantity, unit_price, unit_cost, discount)


# --------------------------------------------------------------------------------------
# Frame assembly
# --------------------------------------------------------------------------------------


def number_within_groups(group: IntArray) -> IntArray:
    """1, 2, 3... counting each group's entries in their order of appearance."""
    order = np.argsort(group, kind="stable")
    counts = np.bincount(group)
    first = np.cumsum(counts) - counts
    number = np.empty(group.size, dtype=np.int64)
    number[order] = np.arange(group.size) - np.repeat(first, counts) + 1
    return number


def invoice_ids(invoices: Invoices, calendar: Calendar) -> pl.Series:
    """Ids like "NRB-2024-0001234": numbered per branch and year, in time order."""
    day = calendar.epoch_day[invoices.day].astype("datetime64[D]")
    year = day.astype("datetime64[Y]").astype(np.int64) + 1970  # numpy counts years from 1970
    first_year = int(year.min(initial=0))
    number = number_within_groups((year - first_year) * len(BRANCHES) + invoices.branch)
    frame = pl.DataFrame({"branch": invoices.branch, "year": year, "number": number})
    return frame.select(
        pl.format(
            "{}-{}-{}",
            lookup([branch.code for branch in BRANCHES], "branch"),
            pl.col("year"),
            pl.col("number").cast(pl.String).str.zfill(7),  # 7 digits: up to 10M per year
        )
    ).to_series()


def lookup(values: pl.Series | Sequence[str], key: str) -> pl.Expr:
    """`values[key]` for each row: a dictionary lookup by integer code."""
    return pl.lit(pl.Series(values, dtype=pl.String).rechunk()).gather(pl.col(key))


def empty_sales() -> pl.DataFrame:
    """A frame with the sales columns and no rows."""
    return pl.DataFrame(schema=SALES_SCHEMA)


def assemble_frame(
    invoices: Invoices,
    lines: Lines,
    calendar: Calendar,
    customers: Customers,
    catalogue: Catalogue,
) -> pl.DataFrame:
    """The sales frame in SALES_SCHEMA order: numeric columns plus dictionary lookups."""
    inv = lines.invoice
    customer = invoices.customer[inv]
    seconds = (calendar.epoch_day[invoices.day] * SECONDS_PER_DAY + invoices.second)[inv]
    codes = pl.DataFrame(
        {
            "invoice": inv,
            "branch": invoices.branch[inv],
            "salesperson": invoices.salesperson[inv],
            "customer": np.where(customer >= 0, customer, customers.size),  # walk-in: null row
            "product": lines.product,
            "product_line": catalogue.line[lines.product],
            "payment": invoices.payment[inv],
        }
    )
    text = codes.select(
        invoice_id=lookup(invoice_ids(invoices, calendar), "invoice"),
        branch=lookup([branch.name for branch in BRANCHES], "branch"),
        salesperson=lookup([person.name for person in SALESPEOPLE], "salesperson"),
        customer_id=lookup(customers.ids, "customer"),
        customer_name=lookup(customers.names, "customer"),
        customer_type=lookup(customers.types, "customer"),
        product_id=lookup(catalogue.ids, "product"),
        product_name=lookup(catalogue.names, "product"),
        product_line=lookup([line.name for line in PRODUCT_LINES], "product_line"),
        payment_method=lookup(PAYMENT_METHODS, "payment"),
    )
    numbers = pl.DataFrame(
        {
            "line_no": lines.line_no,
            "sold_at": pl.Series(seconds * MICROS_PER_SECOND).cast(pl.Datetime("us")),
            "quantity": lines.quantity,
            "unit_price": lines.unit_price,
            "unit_cost": lines.unit_cost,
            "discount": lines.discount,
        }
    )
    return pl.concat([text, numbers], how="horizontal").select(SALES_SCHEMA.names())


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def nairobi_now() -> dt.datetime:
    """The current wall-clock time in Nairobi, naive."""
    return dt.datetime.now(NAIROBI).replace(tzinfo=None)


def generate_sales(
    rows: int,
    seed: int,
    end: dt.date,
    years: int = 3,
    *,
    now: dt.datetime | None = None,
) -> pl.DataFrame:
    """Generate synthetic invoice lines of a multi-branch Kenyan distributor.

    Parameters
    ----------
    rows : int
        Exact number of lines to return (0 gives an empty frame).
    seed : int
        Seed for ``numpy.random.default_rng``; the same arguments give an
        identical frame.
    end : datetime.date
        Last business day of the range. A date after today (in Nairobi) is
        treated as today.
    years : int, default 3
        Length of the range in years, ending at `end`.
    now : datetime.datetime, optional
        Naive Nairobi wall-clock time that no sale may be later than; defaults to
        the real clock. It only matters when `end` is today: pass it to make such
        a frame reproducible.

    Returns
    -------
    polars.DataFrame
        One row per invoice line with the columns and dtypes of `SALES_SCHEMA`,
        sorted by `sold_at`. `sold_at` is naive Africa/Nairobi local time.
        Walk-in sales have null customer columns; returns have a negative
        `quantity`; `discount` is the line's total discount in KES, within
        ``[0, abs(quantity * unit_price)]``.

    Raises
    ------
    ValueError
        If `rows` is negative or `years` is less than 1.
    """
    if rows < 0:
        raise ValueError(f"rows must be 0 or more, got {rows}")
    if years < 1:
        raise ValueError(f"years must be 1 or more, got {years}")
    now = nairobi_now() if now is None else now
    if isinstance(end, dt.datetime):
        end = end.date()
    end = min(end, now.date())
    if rows == 0:
        return empty_sales()
    cutoff = now.hour * 3600 + now.minute * 60 + now.second if end == now.date() else None
    rng = np.random.default_rng(seed)
    catalogue = product_catalogue()
    calendar = build_calendar(end, years, rng)
    customers = build_customers(customer_count(rows), calendar.n_days, rng)
    roster = build_roster(calendar.n_days)
    invoices = draw_invoices_for_rows(rows, calendar, customers, roster, cutoff, rng)
    lines = draw_lines(invoices, calendar, catalogue, rng)
    return assemble_frame(invoices, lines, calendar, customers, catalogue)


def write_sales(frame: pl.DataFrame, out: Path) -> None:
    """Write `frame` in the format named by `out`'s extension."""
    suffix = out.suffix.lower()
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        frame.write_parquet(out)
    elif suffix == ".csv":
        frame.write_csv(out)
    elif suffix == ".xlsx":
        frame.write_excel(out, worksheet="sales")
    else:
        raise ValueError(f"unsupported output format {suffix!r}; use one of {WRITERS}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line, validated."""
    parser = argparse.ArgumentParser(
        prog="python -m ingest.sample",
        description="Write synthetic sales lines of a Kenyan multi-branch distributor.",
    )
    parser.add_argument("--rows", type=int, required=True, help="number of invoice lines")
    parser.add_argument("--seed", type=int, required=True, help="random seed")
    parser.add_argument(
        "--out", type=Path, required=True, help="output file: .parquet, .csv or .xlsx"
    )
    parser.add_argument(
        "--end",
        type=dt.date.fromisoformat,
        default=None,
        help="last day, YYYY-MM-DD (default: today in Africa/Nairobi)",
    )
    parser.add_argument("--years", type=int, default=3, help="years of history (default 3)")
    parser.add_argument(
        "--targets-out",
        type=Path,
        default=None,
        help="also write monthly targets per branch and salesperson, consistent with "
        "these sales, to this CSV (load it with python -m ingest FILE --dataset targets)",
    )
    parser.add_argument(
        "--crm-out",
        type=Path,
        default=None,
        help="also write a CRM export of deals beside these sales (won deals carry the "
        "invoice they became) to this CSV (python -m ingest FILE --dataset opportunities), "
        "and their stage history and activities beside it (STEM-stages.csv, "
        "STEM-activities.csv: --dataset stages, --dataset activities)",
    )
    args = parser.parse_args(argv)
    if args.rows < 0:
        parser.error("--rows must be 0 or more")
    if args.years < 1:
        parser.error("--years must be 1 or more")
    if args.out.suffix.lower() not in WRITERS:
        parser.error(f"--out must end in one of {', '.join(WRITERS)}")
    if args.out.suffix.lower() == ".xlsx" and args.rows > EXCEL_MAX_ROWS:
        parser.error(f"an .xlsx sheet holds at most {EXCEL_MAX_ROWS:,} rows")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Generate a sample and write it; returns the process exit code."""
    args = parse_args(argv)
    end = args.end or nairobi_now().date()
    started = time.perf_counter()
    frame = generate_sales(args.rows, args.seed, end, args.years)
    generated = time.perf_counter()
    write_sales(frame, args.out)
    if args.targets_out is not None:
        from ingest.sample_targets import sample_targets, targets_csv

        args.targets_out.write_bytes(targets_csv(sample_targets(frame, end, args.seed)))
    if args.crm_out is not None:
        from ingest.sample_crm import deals_csv, sample_deals
        from ingest.sample_crm_history import (
            activities_csv,
            sample_activities,
            sample_stages,
            stages_csv,
        )

        # The export is taken the morning after the sales end, or now if that is later than
        # now; deals close before the day it is taken, so none closes in the future.
        as_of = min(dt.datetime.combine(end + dt.timedelta(days=1), dt.time()), nairobi_now())
        deals = sample_deals(frame, as_of.date(), args.seed)
        args.crm_out.write_bytes(deals_csv(deals))
        stem = args.crm_out.stem
        stages = stages_csv(sample_stages(deals, args.seed, as_of))
        args.crm_out.with_name(f"{stem}-stages.csv").write_bytes(stages)
        args.crm_out.with_name(f"{stem}-activities.csv").write_bytes(
            activities_csv(sample_activities(deals, args.seed, as_of))
        )
    written = time.perf_counter()
    print(
        f"wrote {frame.height:,} rows to {args.out} "
        f"(generate {generated - started:.1f}s, write {written - generated:.1f}s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
