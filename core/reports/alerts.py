"""Alert rules: each type a small function over the store, checked on a schedule.

A rule's check answers `ok`, `breach` or `error` (it cannot be checked: the
owner may not see the branch). The service sends once when a rule enters
`breach` and not again until a check has found it `ok`; the state is kept in
`core.reports.book`, so a restart neither repeats an alert nor forgets one.

The types:

- `stale-feed`: no sales recorded today for a branch by a time of day;
- `gross-margin`: a product line's gross margin below a share over the last
  N whole days;
- `net-sales`: a branch's (or the whole business's) net sales yesterday below
  a share of a baseline. The baselines are `BASELINES`: the same weekday's
  average over the weeks before, the day's share of the month's target
  (prorated by days, as attainment is), or the forecast of the day made the
  evening before (the model of `core.forecast`, learnt from the days before).

Every number is read with the owner's branch restriction, like a report's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from core.forecast.models import next_day
from core.forecast.series import TOTAL, daily_sales
from core.kpi.targets import total_attainment
from core.kpi.view import View
from core.store import SalesStore, Scope, Window

State = Literal["ok", "breach", "error"]
# The weeks a weekday's average reaches back by default: a month of the same weekday.
DEFAULT_WEEKS = 4
# The days a margin is taken over by default: a week, every weekday once.
DEFAULT_MARGIN_DAYS = 7


class AlertRuleError(ValueError):
    """A rule's parameters are not usable; the message says which and why."""


@dataclass(frozen=True)
class Check:
    """One check's answer; `page` and `params` are the dashboard view that shows it."""

    state: State
    detail: str
    page: str = "overview"
    params: dict[str, list[str]] | None = None


# (store, scope of the branch for the owner, the day) -> the day's expected net sales, or
# None where there is nothing to compare with.
Baseline = Callable[[SalesStore, Scope, date, dict[str, Any]], float | None]


def _sum(store: SalesStore, scope: Scope, window: Window, measure: str) -> float:
    frame = store.aggregate(scope, window, measures=(measure,))
    value = frame[measure][0] if frame.height else 0
    return float(value or 0)


def weekday_average(
    store: SalesStore, scope: Scope, day: date, params: dict[str, Any]
) -> float | None:
    """The mean net sales of `day`'s weekday over the `weeks` weeks before it.

    A weekday with no sales counts as 0 (a closed day pulls the mean down, as it
    pulled the sales); before the first recorded sale there is no baseline.
    """
    weeks = int(params.get("weeks", DEFAULT_WEEKS))
    first = store.date_range(scope)
    days = [day - timedelta(weeks=n) for n in range(1, weeks + 1)]
    days = [d for d in days if first is not None and d >= first.start]
    if not days:
        return None
    frame = store.aggregate(
        scope, Window(min(days), max(days)), grain="day", measures=("net_sales",)
    )
    by_day = dict(zip(frame["period"].to_list(), frame["net_sales"].to_list(), strict=True))
    return sum(float(by_day.get(d) or 0) for d in days) / len(days)


def day_target(store: SalesStore, scope: Scope, day: date, params: dict[str, Any]) -> float | None:
    """The net sales target of `day` for the scope: its month's fitting targets, prorated
    to one day (`core.kpi.targets`); None without a target that month."""
    return total_attainment(store, View(scope, Window(day, day), None, "day", "none")).target


def day_forecast(
    store: SalesStore, scope: Scope, day: date, params: dict[str, Any]
) -> float | None:
    """The forecast of `day`'s net sales for the branch (or the whole business), from
    the days before it only; None with too short a history."""
    series = daily_sales(store, scope, day - timedelta(days=1))
    return next_day(series, params.get("branch") or TOTAL)


BASELINES: dict[str, Baseline] = {
    "weekday-average": weekday_average,
    "target": day_target,
    "forecast": day_forecast,
}
BASELINE_TEXT = {
    "weekday-average": "the same weekday's average over the {weeks} weeks before",
    "target": "its target for the day (the month's target prorated by days)",
    "forecast": "its forecast for the day (made from the days before)",
}


def _visible(store: SalesStore, branch: str, allowed: tuple[str, ...] | None) -> bool:
    return branch in store.distinct_values("branch", Scope(allowed_branches=allowed))


def _share(value: Any, name: str) -> float:
    try:
        share = float(value)
    except (TypeError, ValueError):
        raise AlertRuleError(f"{name} must be a number, such as 0.7 for 70%") from None
    if not 0 < share <= 1:
        raise AlertRuleError(f"{name} must be a fraction above 0 and at most 1 (0.7 is 70%)")
    return share


def _branch_scope(params: dict[str, Any], allowed: tuple[str, ...] | None) -> Scope:
    branch = params.get("branch")
    return Scope(branches=(branch,) if branch else (), allowed_branches=allowed)


def stale_feed(
    store: SalesStore, params: dict[str, Any], now: datetime, allowed: tuple[str, ...] | None
) -> Check:
    """Breach: past `by` (local time) and no line of today recorded for `branch`."""
    branch, by = params["branch"], time.fromisoformat(params["by"])
    link = {"branch": [branch], "start": [now.date().isoformat()], "end": [now.date().isoformat()]}
    if not _visible(store, branch, allowed):
        return Check("error", f"branch {branch!r} is not among the owner's branches")
    if now.time() < by:
        return Check("ok", f"not due: checked from {by:%H:%M}", "branches", link)
    today = Window(now.date(), now.date())
    lines = _sum(store, Scope(branches=(branch,), allowed_branches=allowed), today, "lines")
    if lines == 0:
        return Check(
            "breach", f"No sales recorded today for {branch} by {by:%H:%M}", "branches", link
        )
    return Check("ok", f"{lines:,.0f} lines recorded today for {branch}", "branches", link)


def gross_margin(
    store: SalesStore, params: dict[str, Any], now: datetime, allowed: tuple[str, ...] | None
) -> Check:
    """Breach: `line`'s gross margin over the last `days` whole days below `below`."""
    line, below = params["line"], float(params["below"])
    days = int(params.get("days", DEFAULT_MARGIN_DAYS))
    window = Window(now.date() - timedelta(days=days), now.date() - timedelta(days=1))
    link = {"line": [line], "start": [window.start.isoformat()], "end": [window.end.isoformat()]}
    scope = Scope(product_lines=(line,), allowed_branches=allowed)
    frame = store.aggregate(scope, window, measures=("net_sales", "gross_profit"))
    net = float(frame["net_sales"][0] or 0) if frame.height else 0.0
    profit = float(frame["gross_profit"][0] or 0) if frame.height else 0.0
    period = f"{window.start.isoformat()} to {window.end.isoformat()}"
    if net == 0:
        return Check("ok", f"no net sales of {line} {period}", "products", link)
    margin = profit / net
    text = f"Gross margin of {line} {margin:.1%} over {days} days ({period})"
    if margin < below:
        return Check("breach", f"{text}, below {below:.1%}", "products", link)
    return Check("ok", f"{text}, at or above {below:.1%}", "products", link)


def net_sales(
    store: SalesStore, params: dict[str, Any], now: datetime, allowed: tuple[str, ...] | None
) -> Check:
    """Breach: net sales yesterday below `below` x the baseline `baseline` of yesterday."""
    branch = params.get("branch")
    if branch and not _visible(store, branch, allowed):
        return Check("error", f"branch {branch!r} is not among the owner's branches")
    below, name = float(params["below"]), params.get("baseline", "weekday-average")
    day = now.date() - timedelta(days=1)
    scope = _branch_scope(params, allowed)
    who = branch or "all branches"
    link = {"period": ["yesterday"], **({"branch": [branch]} if branch else {})}
    actual = _sum(store, scope, Window(day, day), "net_sales")
    expected = BASELINES[name](store, scope, day, params)
    against = BASELINE_TEXT[name].format(**{"weeks": DEFAULT_WEEKS, **params})
    if not expected:
        return Check(
            "ok", f"no baseline for {who} on {day.isoformat()} ({against})", "branches", link
        )
    ratio = actual / expected
    text = (
        f"Net sales of {who} on {day.isoformat()} KES {actual:,.0f}, {ratio:.0%} of {against}"
        f" (KES {expected:,.0f})"
    )
    if ratio < below:
        return Check("breach", f"{text}: below {below:.0%}", "branches", link)
    return Check("ok", text, "branches", link)


@dataclass(frozen=True)
class Kind:
    """A rule type: its check, the parameters it needs and how a rule of it reads."""

    check: Callable[[SalesStore, dict[str, Any], datetime, tuple[str, ...] | None], Check]
    required: tuple[str, ...]
    describe: Callable[[dict[str, Any]], str]


KINDS: dict[str, Kind] = {
    "stale-feed": Kind(
        stale_feed,
        ("branch", "by"),
        lambda p: f"no sales recorded today for {p['branch']} by {p['by']}",
    ),
    "gross-margin": Kind(
        gross_margin,
        ("line", "below"),
        lambda p: (
            f"gross margin of {p['line']} below {float(p['below']):.0%} over "
            f"{p.get('days', DEFAULT_MARGIN_DAYS)} days"
        ),
    ),
    "net-sales": Kind(
        net_sales,
        ("below",),
        lambda p: (
            f"net sales of {p.get('branch') or 'all branches'} yesterday below "
            f"{float(p['below']):.0%} of "
            + BASELINE_TEXT[p.get("baseline", "weekday-average")].format(
                **{"weeks": DEFAULT_WEEKS, **p}
            )
        ),
    ),
}


def validate_rule(
    store: SalesStore, kind: str, params: dict[str, Any], allowed: tuple[str, ...] | None
) -> dict[str, Any]:
    """`params` checked and normalised for a rule of `kind` owned by a user kept to `allowed`.

    Raises
    ------
    AlertRuleError
        If the kind is unknown, a parameter is missing or bad, or a branch or
        line is not one the owner may see.
    """
    if kind not in KINDS:
        raise AlertRuleError(f"unknown alert type {kind!r}: expected one of {', '.join(KINDS)}")
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    missing = [name for name in KINDS[kind].required if name not in clean]
    if missing:
        raise AlertRuleError(f"a {kind} rule needs {', '.join(missing)}")
    if "branch" in clean and not _visible(store, str(clean["branch"]), allowed):
        raise AlertRuleError(f"branch {clean['branch']!r} is not one the owner may see")
    if "line" in clean:
        lines = store.distinct_values("product_line", Scope(allowed_branches=allowed))
        if clean["line"] not in lines:
            raise AlertRuleError(f"product line {clean['line']!r} is not one the owner may see")
    if "below" in clean:
        clean["below"] = _share(clean["below"], "below")
    if "by" in clean:
        try:
            clean["by"] = time.fromisoformat(str(clean["by"])).strftime("%H:%M")
        except ValueError:
            raise AlertRuleError("by must be a time of day, such as 14:00") from None
    for name in ("days", "weeks"):
        if name in clean:
            if not str(clean[name]).isdigit() or not 1 <= int(clean[name]) <= 366:
                raise AlertRuleError(f"{name} must be a whole number from 1 to 366")
            clean[name] = int(clean[name])
    if "baseline" in clean and clean["baseline"] not in BASELINES:
        raise AlertRuleError(
            f"unknown baseline {clean['baseline']!r}: expected one of {', '.join(BASELINES)}"
        )
    return clean


def check_rule(
    store: SalesStore,
    kind: str,
    params: dict[str, Any],
    now: datetime,
    allowed: tuple[str, ...] | None,
) -> Check:
    """Check one rule at `now` (aware, in the business time zone) for its owner."""
    return KINDS[kind].check(store, params, now, allowed)
