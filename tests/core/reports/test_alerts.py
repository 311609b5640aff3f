"""Alert rules: each fires once per breach, again only after clearing, across restarts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.reports import alerts, manage
from core.reports.book import ReportBook
from core.reports.service import ReportService
from core.store import Scope, Window
from core.stores.embedded import EmbeddedStore
from core.users import UserFile
from tests.core.reports.conftest import Inbox, report_settings

NAIROBI = ZoneInfo("Africa/Nairobi")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NAIROBI)


class Clock:
    """A clock the test moves; the service reads it for every check."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_stale_feed_fires_once_per_breach_and_again_after_clearing(
    store_dir: Path, store: EmbeddedStore, tmp_path: Path, smtp: tuple[int, Inbox]
) -> None:
    port, inbox = smtp
    settings = report_settings(store_dir, tmp_path, f"smtp://127.0.0.1:{port}")
    admin = UserFile(settings.auth_file).get("admin")
    assert admin is not None
    rule = manage.add_alert(
        settings,
        store,
        admin,
        "admin",
        "ops@example.co.ke",
        "stale-feed",
        {"branch": "Mombasa", "by": "14:00"},
    )
    # The sample's last day is 31 October: on 1 November nothing is recorded.
    day = date(2026, 11, 1)
    clock = Clock(at(day, 13, 59))
    service = ReportService(settings, store, clock=clock)
    assert service.check_alert(rule).status == "ok"  # not due before 14:00
    clock.now = at(day, 14, 0)
    assert service.check_alerts()[0][1].status == "sent"
    (message,) = inbox.wait(1)
    assert message["Subject"] == "Alert: No sales recorded today for Mombasa by 14:00"
    assert message["To"] == "ops@example.co.ke"
    clock.now = at(day, 14, 15)
    assert service.check_alerts()[0][1].detail == "already sent"
    # A restart keeps the state: no second mail for the same breach.
    clock.now = at(day, 16, 0)
    restarted = ReportService(settings, store, clock=clock)
    restarted.check_alerts()
    stored = ReportBook(settings.data_dir).alert(rule.id)
    assert stored is not None and stored.state == "breach" and stored.notified
    # The next morning it clears (not due yet); at 14:00 the new day's breach is sent.
    clock.now = at(day + timedelta(days=1), 9, 0)
    restarted.check_alerts()
    assert ReportBook(settings.data_dir).alert(rule.id).state == "ok"  # type: ignore[union-attr]
    clock.now = at(day + timedelta(days=1), 14, 30)
    restarted.check_alerts()
    assert len(inbox.wait(2)) == 2
    clock.now = at(day + timedelta(days=1), 15, 0)
    restarted.check_alerts()
    assert len(inbox.messages) == 2
    sends = ReportBook(settings.data_dir).deliveries(status="sent")
    assert [(d.kind, d.ref) for d in sends] == [("alert", rule.id)] * 2


def test_stale_feed_is_ok_once_the_branch_records_sales(store: EmbeddedStore) -> None:
    last = store.date_range(Scope(branches=("Mombasa",)))
    assert last is not None
    check = alerts.stale_feed(store, {"branch": "Mombasa", "by": "00:00"}, at(last.end, 23), None)
    assert check.state == "ok" and "lines recorded today for Mombasa" in check.detail


def test_gross_margin_of_a_line_over_seven_days(store: EmbeddedStore) -> None:
    now = at(date(2026, 11, 1), 8)
    window = Window(date(2026, 10, 25), date(2026, 10, 31))
    sums = store.aggregate(
        Scope(product_lines=("Dairy",)), window, measures=("net_sales", "gross_profit")
    )
    margin = sums["gross_profit"][0] / sums["net_sales"][0]
    above = alerts.gross_margin(store, {"line": "Dairy", "below": margin - 0.001}, now, None)
    below = alerts.gross_margin(store, {"line": "Dairy", "below": margin + 0.001}, now, None)
    assert above.state == "ok" and below.state == "breach"
    assert f"{margin:.1%} over 7 days (2026-10-25 to 2026-10-31)" in below.detail


def test_net_sales_against_the_same_weekday_of_the_four_weeks_before(
    store: EmbeddedStore,
) -> None:
    now = at(date(2026, 11, 1), 8)  # yesterday: Saturday 31 October
    scope = Scope(branches=("Kisumu",))
    by_day = {
        d: store.aggregate(scope, Window(d, d), measures=("net_sales",))["net_sales"][0]
        for d in (date(2026, 10, 31) - timedelta(weeks=n) for n in range(5))
    }
    average = sum(v for d, v in by_day.items() if d != date(2026, 10, 31)) / 4
    ratio = by_day[date(2026, 10, 31)] / average
    assert alerts.weekday_average(store, scope, date(2026, 10, 31), {}) == pytest.approx(average)
    rule = {"branch": "Kisumu", "below": min(1.0, ratio + 0.01)}
    assert alerts.net_sales(store, rule, now, None).state == "breach"
    assert alerts.net_sales(store, {**rule, "below": ratio - 0.01}, now, None).state == "ok"


def test_a_rule_is_read_with_the_owner_restriction(store: EmbeddedStore) -> None:
    now = at(date(2026, 11, 1), 15)
    check = alerts.stale_feed(store, {"branch": "Kisumu", "by": "14:00"}, now, ("Mombasa",))
    assert check.state == "error" and "not among the owner's branches" in check.detail
    with pytest.raises(alerts.AlertRuleError, match="not one the owner may see"):
        alerts.validate_rule(store, "stale-feed", {"branch": "Kisumu", "by": "14:00"}, ("Mombasa",))


@pytest.mark.parametrize(
    ("kind", "params", "reason"),
    [
        ("nonsense", {}, "unknown alert type"),
        ("stale-feed", {"branch": "Mombasa"}, "needs by"),
        ("stale-feed", {"branch": "Mombasa", "by": "2pm"}, "time of day"),
        ("gross-margin", {"line": "Dairy", "below": "20"}, "at most 1"),
        ("gross-margin", {"line": "Diary", "below": "0.2"}, "product line 'Diary'"),
        ("net-sales", {"below": "0.7", "baseline": "forecast"}, "unknown baseline"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(
    store: EmbeddedStore, kind: str, params: dict[str, str], reason: str
) -> None:
    with pytest.raises(alerts.AlertRuleError, match=reason):
        alerts.validate_rule(store, kind, params, None)
