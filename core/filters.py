"""The filter state: one immutable, hashable object, and its URL codec.

The URL parameters (docs/contract.md, "Windows and comparisons"): `start`, `end`
(YYYY-MM-DD), `grain`, `compare` (`previous`|`yoy`|`none`) and repeatable `branch`, `line`,
`rep`; and `product`, and `period` (a range relative to today, such as
`this-month`, see `core.presets`), which a link keeps instead of fixed dates.
A bad value is dropped and described in a notice, never raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

from core.presets import ALL_DATA_PERIOD, PERIODS, business_today, period_window
from core.schema import BUSINESS_TZ
from core.store import GRAINS, Grain, Scope, Window

Compare = Literal["previous", "yoy", "none"]
COMPARES: tuple[Compare, ...] = ("previous", "yoy", "none")
# Member lists longer than this in a URL are not a real selection but abuse.
MAX_MEMBERS = 200
# Longest member value accepted from a URL: longer than any stored name.
MAX_VALUE_LENGTH = 500

_MEMBER_PARAMS: dict[str, str] = {
    "branch": "branches",
    "line": "product_lines",
    "product": "products",
    "rep": "salespeople",
}
_DATE_PARAMS = ("start", "end", "period")
# The stored column each member parameter names values of.
MEMBER_COLUMNS: dict[str, str] = {
    "branch": "branch",
    "line": "product_line",
    "product": "product_id",
    "rep": "salesperson",
}


@dataclass(frozen=True)
class Filters:
    """What the user asked to see. `start`/`end` None means the data's first/last day.

    With a `period`, `start` and `end` are that period's days on the day the
    filters were read, and links say the period instead of the dates.
    """

    start: date | None = None
    end: date | None = None
    grain: Grain = "month"
    compare: Compare = "previous"
    branches: tuple[str, ...] = ()
    product_lines: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    salespeople: tuple[str, ...] = ()
    period: str | None = None

    def scope(self, allowed_branches: tuple[str, ...] | None = None) -> Scope:
        """The store scope of these filters, restricted to the user's branches."""
        return Scope(
            branches=self.branches,
            product_lines=self.product_lines,
            products=self.products,
            salespeople=self.salespeople,
            allowed_branches=allowed_branches,
        )

    def with_members(self, **members: Iterable[str]) -> Filters:
        """A copy with some member lists replaced (drill-down)."""
        lists: dict[str, Any] = {k: tuple(v) for k, v in members.items()}
        return replace(self, **lists)

    def to_query_params(self) -> dict[str, str | list[str]]:
        """URL parameters for this state; defaults are left out to keep links short."""
        params: dict[str, str | list[str]] = {}
        if self.period is not None:
            params["period"] = self.period
        else:
            if self.start is not None:
                params["start"] = self.start.isoformat()
            if self.end is not None:
                params["end"] = self.end.isoformat()
        if self.grain != "month":
            params["grain"] = self.grain
        if self.compare != "previous":
            params["compare"] = self.compare
        for param, attribute in _MEMBER_PARAMS.items():
            values = getattr(self, attribute)
            if values:
                params[param] = list(values)
        return params

    def describe(self) -> str:
        """Short text of the active filters, for file names and headers."""
        parts = [f"{self.start or 'first'}_to_{self.end or 'last'}"]
        for param, attribute in _MEMBER_PARAMS.items():
            values = getattr(self, attribute)
            if values:
                parts.append(f"{param}-" + "+".join(values))
        return "_".join(parts)


@dataclass(frozen=True)
class ParsedFilters:
    """Filters read from outside, with a notice for each value that was dropped."""

    filters: Filters
    notices: tuple[str, ...] = field(default_factory=tuple)


def _one(values: list[str]) -> str:
    return values[-1]


def _parse_date(name: str, values: list[str], notices: list[str]) -> date | None:
    text = _one(values).strip()
    try:
        return date.fromisoformat(text) if len(text) == 10 else _bad_date(text)
    except ValueError:
        notices.append(f"Ignored {name}={text[:40]!r}: expected a date as YYYY-MM-DD.")
        return None


def _bad_date(text: str) -> date:
    raise ValueError(text)


def member_matcher(known: Iterable[str]) -> Callable[[str], str | None]:
    """A lookup of the member a value names, or None.

    A value names a member it equals, or else one it equals ignoring case when
    that is the only such member (a hand-typed `branch=mombasa`).
    """
    exact = set(known)
    folded: dict[str, list[str]] = {}
    for member in exact:
        folded.setdefault(member.casefold(), []).append(member)

    def match(value: str) -> str | None:
        if value in exact:
            return value
        same_case = folded.get(value.casefold(), [])
        return same_case[0] if len(same_case) == 1 else None

    return match


def _resolve_members(
    param: str,
    values: list[str],
    known: Iterable[str],
    hidden: Iterable[str],
    notices: list[str],
) -> list[str]:
    """`values` as the known members they name (`member_matcher`); the rest dropped with a
    notice. A value naming a member the user may not see (`hidden`) is said to be
    unavailable, not unknown.
    """
    match = member_matcher(known)
    hidden_folded = {member.casefold() for member in hidden}
    resolved, unknown, unavailable = [], [], []
    for value in values:
        if (member := match(value)) is not None:
            resolved.append(member)
        elif value.casefold() in hidden_folded:
            unavailable.append(value)
        else:
            unknown.append(value)
    for dropped, which in (
        (unknown, f"unknown {param} value(s)"),
        (unavailable, f"{param} value(s) not available to you"),
    ):
        if dropped:
            notices.append(f"Ignored {which}: {', '.join(repr(v[:40]) for v in dropped[:3])}.")
    return resolved


def _parse_period(values: list[str] | None, notices: list[str]) -> str | None:
    if not values:
        return None
    text = _one(values).strip().lower()
    if text in PERIODS or text == ALL_DATA_PERIOD:
        return text
    names = ", ".join([*PERIODS, ALL_DATA_PERIOD])
    notices.append(f"Ignored period={text[:40]!r}: expected one of {names}.")
    return None


def _parse_dates(
    lists: dict[str, list[str]], notices: list[str]
) -> tuple[date | None, date | None]:
    start = _parse_date("start", lists["start"], notices) if lists.get("start") else None
    end = _parse_date("end", lists["end"], notices) if lists.get("end") else None
    if start is not None and end is not None and start > end:
        notices.append(f"Ignored the date range {start}..{end}: the start is after the end.")
        return None, None
    return start, end


def from_query_params(
    params: Mapping[str, str | list[str]],
    known_members: Mapping[str, Iterable[str]] | None = None,
    hidden_members: Mapping[str, Iterable[str]] | None = None,
    today: date | None = None,
) -> ParsedFilters:
    """Read filters from URL parameters (or CLI options) without ever raising.

    `known_members`, if given, maps `branch`/`line`/`product`/`rep` to the
    values that exist; unknown values are dropped with a notice, values that
    match one member but for case become it. `hidden_members` are members
    that exist but the user may not see (another branch): dropped, and said so.
    A `period` is read as of `today` (default: today in the business time
    zone) and takes the place of `start` and `end`.
    """
    lists = {k: ([v] if isinstance(v, str) else list(v)) for k, v in params.items()}
    notices: list[str] = []
    period = _parse_period(lists.get("period"), notices)
    start: date | None
    end: date | None
    if period is not None:
        if lists.get("start") or lists.get("end"):
            notices.append(f"Ignored start and end: period={period} sets the dates.")
        start, end = None, None
        if period != ALL_DATA_PERIOD:
            window = period_window(period, today or business_today(BUSINESS_TZ))
            start, end = window.start, window.end
    else:
        start, end = _parse_dates(lists, notices)
    grain: Grain = "month"
    if lists.get("grain"):
        text = _one(lists["grain"])
        if text in GRAINS:
            grain = text
        else:
            notices.append(f"Ignored grain={text[:40]!r}: expected one of {', '.join(GRAINS)}.")
    compare: Compare = "previous"
    if lists.get("compare"):
        text = _one(lists["compare"])
        if text in COMPARES:
            compare = text
        else:
            notices.append(f"Ignored compare={text[:40]!r}: expected one of {', '.join(COMPARES)}.")
    members: dict[str, tuple[str, ...]] = {}
    for param, attribute in _MEMBER_PARAMS.items():
        values = [v.strip() for v in lists.get(param, []) if v.strip()]
        if len(values) > MAX_MEMBERS:
            notices.append(f"Ignored {len(values)} {param} values: at most {MAX_MEMBERS} allowed.")
            values = []
        too_long = [v for v in values if len(v) > MAX_VALUE_LENGTH]
        if too_long:
            notices.append(f"Ignored {len(too_long)} over-long {param} value(s).")
            values = [v for v in values if len(v) <= MAX_VALUE_LENGTH]
        if known_members is not None and param in known_members:
            hidden = (hidden_members or {}).get(param, ())
            values = _resolve_members(param, values, known_members[param], hidden, notices)
        members[attribute] = tuple(dict.fromkeys(values))
    unknown_params = sorted(set(lists) - {*_DATE_PARAMS, "grain", "compare", *_MEMBER_PARAMS})
    if unknown_params:
        notices.append(
            f"Ignored unknown parameter(s): {', '.join(p[:40] for p in unknown_params)}."
        )
    return ParsedFilters(
        Filters(start, end, grain, compare, **members, period=period), tuple(notices)
    )


def resolve_window(filters: Filters, data_range: Window | None) -> Window | None:
    """The concrete window: missing ends default to the data's first/last day."""
    if data_range is None and (filters.start is None or filters.end is None):
        return None
    start = filters.start or (data_range.start if data_range else None)
    end = filters.end or (data_range.end if data_range else None)
    assert start is not None and end is not None
    if start > end:
        return None
    return Window(start, end)
